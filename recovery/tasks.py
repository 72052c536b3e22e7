"""Celery tasks: thin adapters that take ids and call a service."""

from __future__ import annotations

import logging
from smtplib import SMTPException
from typing import Any

from anymail.exceptions import AnymailAPIError
from celery import shared_task

from recovery import email, notices

logger = logging.getLogger(__name__)

# Emails to the ESP: retried on its transient failures, acknowledged once sent.
EMAIL_TASK: dict[str, Any] = {
    "queue": "email",
    "acks_late": True,
    "autoretry_for": (SMTPException, AnymailAPIError, ConnectionError, TimeoutError),
    "max_retries": 5,
    "retry_backoff": 5,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "ignore_result": True,
}


@shared_task(**EMAIL_TASK)
def payment_emails_send(link_ids: list[int]) -> int:
    return email.payment_emails_send(link_ids=link_ids)


def payment_emails_dispatch(link_ids: list[int]) -> None:
    """Queue the emails (after commit). A broker outage is logged, not raised: the
    `payment_email_sweep` job sends whatever is still waiting."""
    try:
        payment_emails_send.apply_async(args=(link_ids,), queue="email", retry=False)
    except Exception:
        logger.warning("payment emails not queued now; the sweep job will send them")


@shared_task(**EMAIL_TASK)
def notice_emails_send(event_id: int, kinds: list[str]) -> int:
    return notices.notice_emails_send(event_id=event_id, kinds=kinds)
