"""A local HTTP server on 127.0.0.1 that answers as Stripe's API reference documents.

It records every request (method, path, headers, form-encoded parameters) and answers
from a queue of scripted responses, so a test can assert exactly what our gateway sent
and how it read Stripe's answer. Shapes follow https://docs.stripe.com/api (PaymentIntent
object, Refund object, Balance object, error object).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Responder = Callable[["Recorded"], tuple[int, dict[str, Any]]]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: str
    form: list[tuple[str, str]]

    @property
    def params(self) -> dict[str, str]:
        return dict(self.form)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Scripted:
    responder: Responder
    delay: float = 0.0


@dataclass
class FakeStripe:
    base_url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    script: list[Scripted] = field(default_factory=list)
    # Answers requests once the script is empty (e.g. a stateful `StripeLedger`).
    default: Responder | None = None
    # `GET /v1/payment_methods/{id}` (the gateway reads the saved method before each
    # charge) is answered from here, outside the script: a card by default, or the
    # (status, body) set for that id. These reads are recorded in `method_reads`, not in
    # `requests`, which holds everything else in order.
    payment_methods: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    method_reads: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def then(self, responder: Responder, *, delay: float = 0.0) -> FakeStripe:
        """Answer the next request with `responder` (after `delay` seconds)."""
        self.script.append(Scripted(responder, delay))
        return self

    def _next(self, recorded: Recorded) -> tuple[Scripted, int, dict[str, Any]]:
        with self._lock:
            if recorded.method == "GET" and recorded.path.startswith("/v1/payment_methods/"):
                self.method_reads.append(recorded)
                method_id = recorded.path.rsplit("/", 1)[1]
                answer = self.payment_methods.get(method_id) or (200, card_method(method_id))
                return Scripted(lambda _recorded: answer), *answer
            self.requests.append(recorded)
            fallback = self.default or _default_answer
            scripted = self.script.pop(0) if self.script else Scripted(fallback)
        status, body = scripted.responder(recorded)
        return scripted, status, body


# --- Stripe's documented objects -------------------------------------------------------


def card_method(
    method_id: str, *, exp_month: int = 12, exp_year: int = 2030, last4: str = "4242"
) -> dict[str, Any]:
    """A PaymentMethod object of type `card` (docs.stripe.com/api/payment_methods/object)."""
    return {
        "id": method_id,
        "object": "payment_method",
        "type": "card",
        "customer": "cus_test",
        "card": {
            "brand": "visa",
            "exp_month": exp_month,
            "exp_year": exp_year,
            "last4": last4,
            "funding": "credit",
            "country": "US",
        },
        "livemode": False,
        "metadata": {},
    }


def _metadata(recorded: Recorded) -> dict[str, str]:
    return {k[len("metadata[") : -1]: v for k, v in recorded.form if k.startswith("metadata[")}


def payment_intent(recorded: Recorded, *, status: str = "succeeded", **extra: Any) -> dict:
    p = recorded.params
    key = recorded.header("Idempotency-Key").encode()
    pi_id = "pi_3Mtw" + hashlib.sha256(key).hexdigest()[:16]
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": int(p.get("amount", "0")),
        "amount_capturable": 0,
        "amount_received": int(p.get("amount", "0")) if status == "succeeded" else 0,
        "automatic_payment_methods": {"allow_redirects": "never", "enabled": True},
        "capture_method": "automatic",
        "client_secret": pi_id + "_secret_abc",
        "confirmation_method": "automatic",
        "created": 1680800504,
        "currency": p.get("currency", "usd"),
        "customer": p.get("customer"),
        "description": None,
        "last_payment_error": None,
        "latest_charge": "ch_3Mtw" + pi_id[7:] if status == "succeeded" else None,
        "livemode": False,
        "metadata": _metadata(recorded),
        "next_action": None,
        "payment_method": p.get("payment_method"),
        "payment_method_types": ["card"],
        "status": status,
        **extra,
    }


def succeeded(recorded: Recorded) -> tuple[int, dict]:
    return 200, payment_intent(recorded)


def requires_action(recorded: Recorded) -> tuple[int, dict]:
    return 200, payment_intent(
        recorded,
        status="requires_action",
        next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}},
    )


def card_error(code: str, decline_code: str | None, message: str) -> Responder:
    """402 with the error object; the failed PaymentIntent rides along (as Stripe does)."""

    def answer(recorded: Recorded) -> tuple[int, dict]:
        error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
            "charge": "ch_3Mtw_declined",
        }
        error["payment_intent"] = payment_intent(
            recorded, status="requires_payment_method", last_payment_error=dict(error)
        )
        return 402, {"error": error}

    return answer


def authentication_required(recorded: Recorded) -> tuple[int, dict]:
    return card_error(
        "authentication_required",
        "authentication_required",
        "Your card was declined. This transaction requires authentication.",
    )(recorded)


def rate_limited(recorded: Recorded) -> tuple[int, dict]:
    return 429, {
        "error": {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": "Too many requests hit the API too quickly.",
        }
    }


def api_error(recorded: Recorded) -> tuple[int, dict]:
    return 500, {
        "error": {"type": "api_error", "message": "Sorry, something went wrong on Stripe's end."}
    }


def invalid_api_key(recorded: Recorded) -> tuple[int, dict]:
    return 401, {
        "error": {
            "type": "invalid_request_error",
            "message": "Invalid API Key provided: sk_test_****dead",
        }
    }


def permission_denied(recorded: Recorded) -> tuple[int, dict]:
    return 403, {
        "error": {
            "type": "invalid_request_error",
            "code": "secret_key_required",
            "message": "The provided key 'rk_test_****dead' does not have the required "
            "permissions for this endpoint.",
        }
    }


def refund_succeeded(recorded: Recorded) -> tuple[int, dict]:
    return 200, {
        "id": "re_3MtwRefund01",
        "object": "refund",
        "amount": 4990,
        "charge": "ch_3Mtw",
        "currency": "brl",
        "metadata": _metadata(recorded),
        "payment_intent": recorded.params.get("payment_intent"),
        "reason": None,
        "status": "succeeded",
    }


def balance(recorded: Recorded) -> tuple[int, dict]:
    return 200, {
        "object": "balance",
        "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
        "livemode": False,
        "pending": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
    }


def no_payment_intents(recorded: Recorded) -> tuple[int, dict]:
    """`GET /v1/payment_intents`: an empty list object."""
    return 200, {"object": "list", "url": "/v1/payment_intents", "has_more": False, "data": []}


def _default_answer(recorded: Recorded) -> tuple[int, dict]:
    if recorded.path == "/v1/balance":
        return balance(recorded)
    if recorded.path == "/v1/refunds":
        return refund_succeeded(recorded)
    return succeeded(recorded)


class StripeLedger:
    """Stateful PaymentIntents that replay as https://docs.stripe.com/idempotency says.

    The first answer to an `Idempotency-Key` is saved and replayed to every later request
    with that key — a 500 included. During an outage (`outage_until`, a wall-clock
    timestamp) every PaymentIntent request answers 500; with `charges_during_outage` the
    PaymentIntent is made and succeeds anyway (Stripe did the work, the answer was
    lost). `GET
    /v1/payment_intents?customer=` lists the customer's PaymentIntents, newest first.
    """

    def __init__(self) -> None:
        self.intents: list[dict[str, Any]] = []
        self.saved: dict[str, tuple[int, dict[str, Any]]] = {}
        self.outage_until = 0.0
        self.charges_during_outage = False
        # Bank debits: a new PaymentIntent answers `processing` until `settle` (as Stripe
        # does for SEPA or ACH; the idempotent replay keeps answering `processing`).
        self.processing = False
        self._lock = threading.Lock()

    def settle(self, intent_id: str, status: str, **extra: Any) -> dict[str, Any]:
        """Finish a processing PaymentIntent; returns it as a webhook would carry it."""
        with self._lock:
            intent = next(pi for pi in self.intents if pi["id"] == intent_id)
            intent.update(status=status, **extra)
            return dict(intent)

    def __call__(self, recorded: Recorded) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if recorded.method == "GET" and recorded.path == "/v1/payment_intents":
                if time.time() < self.outage_until:
                    return api_error(recorded)
                customer = recorded.params.get("customer")
                data = [pi for pi in reversed(self.intents) if pi["customer"] == customer]
                return 200, {
                    "object": "list",
                    "url": "/v1/payment_intents",
                    "has_more": False,
                    "data": data,
                }
            if recorded.method == "GET" and recorded.path.startswith("/v1/payment_intents/"):
                wanted = recorded.path.rsplit("/", 1)[1]
                found = [pi for pi in self.intents if pi["id"] == wanted]
                if not found:
                    return 404, {
                        "error": {
                            "code": "resource_missing",
                            "message": f"No such payment_intent: '{wanted}'",
                            "type": "invalid_request_error",
                        }
                    }
                return 200, found[0]
            if recorded.method == "POST" and recorded.path == "/v1/payment_intents":
                key = recorded.header("Idempotency-Key")
                if key in self.saved:
                    return self.saved[key]
                answer: tuple[int, dict[str, Any]]
                if time.time() < self.outage_until:
                    if self.charges_during_outage:
                        self.intents.append(payment_intent(recorded))
                    answer = api_error(recorded)
                else:
                    intent = payment_intent(
                        recorded, status="processing" if self.processing else "succeeded"
                    )
                    self.intents.append(intent)
                    answer = (200, dict(intent))
                self.saved[key] = answer
                return answer
            return _default_answer(recorded)


# --- the server --------------------------------------------------------------------------


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            url = urlsplit(self.path)
            form = parse_qsl(body or url.query, keep_blank_values=True)
            recorded = Recorded(
                method=self.command,
                path=url.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                form=form,
            )
            scripted, status, answer = fake._next(recorded)
            if scripted.delay:
                time.sleep(scripted.delay)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{len(fake.requests)}")
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        do_GET = _handle
        do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running(settings: Any) -> Iterator[FakeStripe]:
    """Serve a FakeStripe on 127.0.0.1 and point STRIPE_API_BASE at it."""
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STRIPE_API_BASE = fake.base_url
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
