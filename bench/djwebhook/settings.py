"""The product's settings plus `django_webhook`, on a database and a Celery queue of its
own (B6's baseline). `SubscriptionEvent` rows are the watched model, so each event
created fans out to every webhook the way django-webhook does it (post_save signal →
one `fire_webhook` task per webhook)."""

import os

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "django_webhook"]  # noqa: F405
DATABASES["default"]["NAME"] = os.environ["DJWEBHOOK_DATABASE_NAME"]  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = "djwebhook"
DJANGO_WEBHOOK = {
    "MODELS": ["subscriptions.SubscriptionEvent"],
    "STORE_EVENTS": True,
    "USE_CACHE": True,
}
