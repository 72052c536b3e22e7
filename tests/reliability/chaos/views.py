"""Test-only endpoints of the chaos settings: a status change made by the web process,
optionally SIGKILLing that process right after COMMIT, before the event is published."""

from __future__ import annotations

import os
import signal

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt

from core.errors import Conflict
from subscriptions.models import CancellationSource, Subscription
from subscriptions.services import subscription_cancel
from tests.factories import actor_for


def ping(request: HttpRequest) -> JsonResponse:
    connection.ensure_connection()
    return JsonResponse({"pid": os.getpid()})


@csrf_exempt
def cancel(request: HttpRequest, pk: int) -> JsonResponse:
    subscription = get_object_or_404(Subscription, pk=pk)
    try:
        with transaction.atomic():
            if request.GET.get("kill_after_commit") == "1":
                # Registered before the service's own hook, so it runs first: the change
                # and its event are committed, the publish never happens.
                transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
            cancelled = subscription_cancel(
                subscription=subscription,
                actor=actor_for(CancellationSource.SELLER),
                reason="chaos",
            )
    except Conflict as exc:
        return JsonResponse({"id": pk, "error": exc.code}, status=409)
    return JsonResponse({"id": pk, "status": cancelled.status, "pid": os.getpid()})
