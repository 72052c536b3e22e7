"""The product's URLs plus B3's baseline: a bare view running one indexed query for the
same 50 rows the dashboard list shows (no auth, no template, no middleware work of its
own), so the list's cost can be read as a multiple of the query it cannot avoid."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as product_urlpatterns


def bare_list(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT uuid, status, created_at, next_charge_date FROM subscriptions_subscription "
            "WHERE creator_id = %s AND status = %s ORDER BY created_at DESC, id DESC LIMIT 50",
            [int(request.GET["creator"]), request.GET.get("status", "ACTIVE")],
        )
        rows = cursor.fetchall()
    body = "\n".join(f"{u}\t{s}\t{c:%Y-%m-%d}\t{n or ''}" for u, s, c, n in rows)
    return HttpResponse(body, content_type="text/plain")


urlpatterns = [path("__bench/list/", bare_list), *product_urlpatterns]
