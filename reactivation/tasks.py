"""Celery tasks: thin adapters that take ids, reload, and call a service."""

from __future__ import annotations

import logging
from smtplib import SMTPException

from anymail.exceptions import AnymailAPIError
from celery import shared_task

from core.enqueue import enqueue_chunks
from reactivation import email

logger = logging.getLogger(__name__)

# Requests per email task: one SMTP/ESP connection per batch.
EMAIL_BATCH = 500


@shared_task(
    queue="email",
    acks_late=True,
    autoretry_for=(SMTPException, AnymailAPIError, ConnectionError, TimeoutError),
    max_retries=5,
    retry_backoff=5,
    retry_backoff_max=60,
    retry_jitter=True,
    ignore_result=True,
)
def reactivation_emails_send(request_ids: list[int]) -> int:
    return email.reactivation_emails_send(request_ids=request_ids)


def emails_dispatch(request_ids: list[int]) -> None:
    """Hand the requests to the email queue in batches (called after commit).

    A broker outage is logged, not raised: the `reactivation_email_sweep` job sends
    whatever is still waiting for its email.
    """
    enqueue_chunks(
        request_ids,
        size=EMAIL_BATCH,
        many=reactivation_emails_send,
        queue="email",
        what="reactivation emails",
    )
