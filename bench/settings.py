"""Settings of the benchmark's web server: the product's settings plus one bare view
(bench/urls.py) used as B3's baseline. Never used by the product."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
