"""Keep the tokens of emailed links out of the logs.

Django logs the path of every 4xx/5xx answer (`django.request`, `django.server`,
`django.security.*`); a link's token in such a line would let anyone with log access
decide or pay for the subscriber or sign in as them. The filter masks `/reactivate/<token>/`,
the payment link `/pay/<token>/`
and the subscriber sign-in link `/s/<slug>/sign-in/<token>/` in the message (gunicorn's
logs use the same mask, see config/gunicorn_logging.py).
"""

from __future__ import annotations

import logging
import re

TOKEN_IN_PATH = re.compile(r"(/reactivate/|/sign-in/|/pay/)[^/\s\"'?]+")
MASK = r"\1[token]"
LOGGERS = ("django.request", "django.server", "django.security.csrf", "django.security")


def mask_tokens(text: str) -> str:
    return TOKEN_IN_PATH.sub(MASK, text)


class MaskReactivationTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix; leave the record
            return True
        masked = mask_tokens(message)
        if masked != message:
            record.msg = masked
            record.args = ()
        return True


_FILTER = MaskReactivationTokens()


def install_token_filter() -> None:
    """Attach the filter to Django's loggers that print request paths (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
