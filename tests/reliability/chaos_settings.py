"""Settings of the child processes in fault-injection tests: the real settings plus a
test-only app (kill switches and a probe consumer). Never used outside tests."""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.reliability.chaos"]
ROOT_URLCONF = "tests.reliability.chaos.urls"
