from __future__ import annotations

from celery import shared_task

from accounts.models import Creator
from dashboard.subscriber.services import sign_in_link_send


@shared_task(queue="email", ignore_result=True, expires=600)
def send_sign_in_link(creator_id: int, email: str) -> None:
    # A task for every request, known email or not: the page answers in the same time
    # either way, so response timing does not tell whether an email is a subscriber.
    creator = Creator.objects.filter(pk=creator_id).first()
    if creator is None:
        return
    sign_in_link_send(creator=creator, email=email)
