"""Settings of the benchmark's web server: the product's settings plus one bare view
(bench/urls.py) used as B3's baseline. Never used by the product."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The load test measures the pages, not the per-key API rate limit: a limit reached
# mid-run answers 429 in microseconds and would flatter the API list's percentiles.
API_RATE_LIMIT_PER_MINUTE = 10**7
