"""Keep the secrets of emailed links out of every log.

A link's path is its secret: `/reactivate/<token>/`, `/s/<slug>/sign-in/<token>/`, the
invitation and password-reset link `/password-reset/<uidb64>/<token>/`, and any route
added later with such a parameter. Whoever reads a log line holding one could decide
for the subscriber, sign in as them, or finish an owner's invitation.

One list, one filter:

- `secret_routes()` is derived from the URL resolver: every route with a parameter named
  in `SECRET_PARAMETERS`. A new route with a `<token>` is masked without touching this
  file (tests/reliability/test_l2_link_prefetch.py crawls every one of them).
- `mask_secrets(text)` replaces those parameters with `[token]` / `[uidb64]` wherever the
  path appears in a line (request line, "Not Found: …", "Forbidden (CSRF …): …").
- `MaskSecretsFilter` is attached to every logger that prints request paths and to the
  handlers of settings.LOGGING; gunicorn's access and error logs
  (config/gunicorn_logging.py) and Celery's handlers (config/celery.py) use it too.
"""

from __future__ import annotations

import functools
import logging
import logging.config
import re
from dataclasses import dataclass
from typing import Any

# URL parameters that are secrets of a link.
SECRET_PARAMETERS = frozenset({"token", "uidb64"})
# Loggers that print request paths; a filter on a logger does not apply to its children.
REQUEST_PATH_LOGGERS = (
    "django.request",
    "django.server",
    "django.security",
    "django.security.csrf",
    "django.security.DisallowedHost",
    "django.template",  # at DEBUG it prints template contexts, which hold the request
    "gunicorn.access",
    "gunicorn.error",
    "celery",
    "celery.app.trace",
    "celery.worker",
)
# A path segment as it appears in a log line: stops at a slash, space, quote or query.
_SEGMENT = r"""[^/\s"'?#&]+"""
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?:[^()\\]|\\.|\([^()]*\))*\)")


@dataclass(frozen=True)
class SecretRoute:
    name: str
    route: str  # as in the URLconf, e.g. "password-reset/<uidb64>/<token>/"
    regex: re.Pattern[str]


def _as_log_regex(pattern: str) -> re.Pattern[str]:
    """The route's regex made to find the path inside a log line: unanchored, every
    parameter one segment, the trailing slash optional (a tampered link may lack it)."""
    body = pattern.replace("^", "").replace(r"\Z", "").replace("$", "")
    body = _GROUP.sub(lambda m: f"(?P<{m.group('name')}>{_SEGMENT})", body)
    body = body.rstrip("/")
    return re.compile("/" + body + "/?")


def _walk(patterns: list[Any], prefix: str, route_prefix: str) -> list[SecretRoute]:
    from django.urls import URLPattern, URLResolver

    found = []
    for entry in patterns:
        regex = prefix + entry.pattern.regex.pattern.lstrip("^").replace(r"\Z", "")
        route = route_prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _walk(entry.url_patterns, regex, route)
        elif isinstance(entry, URLPattern) and SECRET_PARAMETERS & set(
            entry.pattern.regex.groupindex
        ):
            found.append(SecretRoute(entry.name or route, route, _as_log_regex(regex)))
    return found


@functools.cache
def secret_routes() -> tuple[SecretRoute, ...]:
    """Every route whose URL carries a secret, from the live URL resolver."""
    from django.urls import get_resolver

    return tuple(_walk(get_resolver().url_patterns, "", ""))


def _routes_or_none() -> tuple[SecretRoute, ...] | None:
    try:
        return secret_routes()
    except Exception:  # Django not set up yet (gunicorn's master before loading the app)
        return None


def mask_secrets(text: str) -> str:
    """`text` with the secret parameters of every secret-bearing path masked."""
    if "/" not in text:
        return text
    routes = _routes_or_none()
    if routes is None:
        return text

    def mask(match: re.Match[str]) -> str:
        found, start = [], match.start()
        for name, value in match.groupdict().items():
            if value is not None and name in SECRET_PARAMETERS:
                found.append((match.start(name) - start, match.end(name) - start, name))
        masked = match.group(0)
        for begin, end, name in sorted(found, reverse=True):
            masked = masked[:begin] + f"[{name}]" + masked[end:]
        return masked

    for route in routes:
        text = route.regex.sub(mask, text)
    return text


class MaskSecretsFilter(logging.Filter):
    """Masks link secrets in a record's message (formatted with its arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix; leave the record
            return True
        masked = mask_secrets(message)
        if masked != message:
            record.msg = masked
            record.args = ()
        # A traceback may quote the request (an exception's message, a template context).
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        return True


MASK_FILTER = MaskSecretsFilter()


def install_on_loggers() -> None:
    """Attach the filter to every logger that prints request paths (idempotent)."""
    for name in REQUEST_PATH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskSecretsFilter) for f in logger.filters):
            logger.addFilter(MASK_FILTER)


def configure(config: dict[str, Any]) -> None:
    """settings.LOGGING_CONFIG: Django's dictConfig, then the filter on every logger
    that prints request paths and on the root logger's handlers."""
    logging.config.dictConfig(config)
    install_on_loggers()
    install_on_handlers(logging.getLogger())


def install_on_handlers(logger: logging.Logger) -> None:
    """Attach the filter to every handler of `logger` (idempotent): a handler-level
    filter also catches records propagated from child loggers."""
    for handler in logger.handlers:
        if not any(isinstance(f, MaskSecretsFilter) for f in handler.filters):
            handler.addFilter(MASK_FILTER)
