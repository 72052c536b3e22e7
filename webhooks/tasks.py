"""Celery tasks of outbound webhooks: thin adapters over the services."""

from __future__ import annotations

from celery import current_app, shared_task

from webhooks import services as webhooks

# Short retries (the 5 s step) may ride a Celery countdown; anything longer is data.
MAX_COUNTDOWN = 60


@shared_task(queue="webhooks", acks_late=True, ignore_result=True)
def webhook_delivery_send(delivery_id: int, expected_attempts: int) -> None:
    outcome = webhooks.webhook_delivery_attempt(
        delivery_id=delivery_id, expected_attempts=expected_attempts
    )
    _retry_soon(delivery_id, outcome)


@shared_task(queue="webhooks", acks_late=True, ignore_result=True)
def webhook_deliveries_send(items: list[list[int]]) -> None:
    """Several [delivery id, attempts made] in one message (an event's endpoints)."""
    outcomes = webhooks.webhook_deliveries_attempt(
        items=[(int(delivery_id), int(attempts)) for delivery_id, attempts in items]
    )
    for delivery_id, outcome in outcomes.items():
        _retry_soon(delivery_id, outcome)


def _retry_soon(delivery_id: int, outcome: webhooks.AttemptOutcome) -> None:
    # In eager mode a countdown would run at once, early; the periodic job (which also
    # sees every due row) takes the retry instead.
    if (
        outcome.retry_in is not None
        and outcome.retry_in <= MAX_COUNTDOWN
        and not current_app.conf.task_always_eager
    ):
        try:
            webhook_delivery_send.apply_async(
                args=(delivery_id, outcome.attempts), countdown=outcome.retry_in, retry=False
            )
        except Exception:  # broker down: the job sends it when due
            return
