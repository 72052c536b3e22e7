"""`python -m bench.djwebhook.produce COUNT SECONDS URL1 URL2`: create two
django-webhook endpoints and COUNT subscription events (for at most SECONDS), one
transaction each (as the product's producer does); prints the start time as JSON."""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.djwebhook.settings"
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone
    from django_webhook.models import Webhook, WebhookTopic

    from bench.data import subscriptions_generate, tenant_create

    # Importing the Celery app binds django-webhook's tasks to the product's broker.
    from config.celery import app  # noqa: F401
    from subscriptions.models import Subscription, SubscriptionEvent

    count, limit, urls = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    topic, _ = WebhookTopic.objects.get_or_create(name="subscriptions.SubscriptionEvent/create")
    for url in urls:
        webhook = Webhook.objects.create(url=url, active=True)
        webhook.topics.add(topic)
    tenant = tenant_create(0, prefix="djwebhook")
    subscriptions_generate(tenant, 1, status="ACTIVE")
    subscription = Subscription.objects.get(creator=tenant.creator)
    started = time.time()
    for n in range(count):
        if time.time() - started > limit:
            break
        with transaction.atomic():
            SubscriptionEvent.objects.create(
                creator_id=subscription.creator_id,
                subscription=subscription,
                type="subscription.status_changed",
                data={"from": "ACTIVE", "to": "DELAYED", "n": n},
                occurred_at=timezone.now(),
            )
    print(json.dumps({"started": started, "produced_seconds": time.time() - started}))


if __name__ == "__main__":
    main()
