"""Development email backend: every message is stored so a person can read it and click
its links at /dev/outbox/. Never used when an ESP is configured."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from notifications.models import OutboxEmail

        rows: list[OutboxEmail] = []
        for message in email_messages:
            html = ""
            if isinstance(message, EmailMultiAlternatives):
                for content, mimetype in message.alternatives:
                    if mimetype == "text/html":
                        html = str(content)
            headers: dict[str, Any] = dict(message.extra_headers or {})
            rows.append(
                OutboxEmail(
                    to=list(message.to),
                    from_email=message.from_email or "",
                    subject=str(message.subject),
                    body_text=str(message.body),
                    body_html=html,
                    headers=headers,
                )
            )
        OutboxEmail.objects.bulk_create(rows, batch_size=1000)
        return len(rows)
