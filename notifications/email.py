"""Transactional email: every message has a text and an HTML part, rendered in the
recipient's language, and goes out through Django's email API (anymail in production).

Templates live in `templates/email/<name>.subject.txt`, `<name>.txt` and `<name>.html`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import translation

LANGUAGE_BY_LOCALE = {"pt-BR": "pt-br", "pt-br": "pt-br", "en": "en"}


def language_for(locale: str) -> str:
    return LANGUAGE_BY_LOCALE.get(locale, "en")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def email_render(*, template: str, context: dict[str, Any], locale: str) -> RenderedEmail:
    with translation.override(language_for(locale)):
        subject = render_to_string(f"email/{template}.subject.txt", context).strip()
        text = render_to_string(f"email/{template}.txt", context)
        html = render_to_string(f"email/{template}.html", context)
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)


def email_message(
    *, to: str, rendered: RenderedEmail, headers: dict[str, str] | None = None
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers or {},
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def email_send(*, to: str, template: str, context: dict[str, Any], locale: str) -> None:
    email_message(
        to=to, rendered=email_render(template=template, context=context, locale=locale)
    ).send()


def email_send_many(messages: Iterable[EmailMultiAlternatives], *, batch_size: int = 500) -> int:
    """Send many messages over one connection per batch (the ESP's batch API via anymail)."""
    sent = 0
    batch: list[EmailMultiAlternatives] = []
    connection = get_connection()
    for message in messages:
        batch.append(message)
        if len(batch) >= batch_size:
            sent += connection.send_messages(batch) or 0
            batch = []
    if batch:
        sent += connection.send_messages(batch) or 0
    return sent
