"""The registry of dashboard route cases for the tenant-isolation matrix (T1).

Every route of the site (found by walking the URL resolver), except the API (its own
matrix: tests/api/test_tenant_isolation.py), the support admin and the routes listed in
`NOT_TENANT_ROUTES` (pages that serve no signed-in member), must have a case keyed by its
full name ("dashboard:subscriptions"); a new page without one fails
`test_every_dashboard_route_has_a_case`.

Other apps extend the registry without touching this file: add
`tests/<app>/dashboard_cases.py` defining `CASES: dict[str, DashboardCase]`; it is
imported automatically.

A case's `build(creator, marker)` makes the objects the route needs, all owned by
`creator`, putting `marker` into every name and email it shows (the matrix builds the
same objects in a second creator with another marker and checks that one never shows up
in the first creator's pages), and returns a `Built` with the URL kwargs (empty for list
pages) and references for form bodies and checks.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import Creator, Membership, Role
from dashboard.bulk import BulkSelection
from subscriptions.models import Status, Subscription, SubscriptionEvent
from tests.api_helpers import member_key
from tests.factories import (
    ChargeFactory,
    MembershipFactory,
    PlanFactory,
    ProductFactory,
    SubscriberFactory,
    SubscriptionFactory,
    UserFactory,
)


@dataclass(frozen=True)
class Built:
    kwargs: dict[str, str] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    # The owner's expected status.
    ok: int = 200
    # The form body (POST), built from the case's references.
    data: Callable[[Built], dict[str, Any]] | None = None
    # False for a POST that changes nothing of the creator's (e.g. the creator switcher):
    # viewers get `ok` instead of 403.
    write: bool = True
    # Page lists the creator's rows: the owner must see their own marker (which proves
    # the "no foreign marker" check can fail).
    shows_own_rows: bool = False
    # For POSTs on pages without an object in the URL: what an outsider (a member of
    # another creator) gets when sending the same body, which names the creator's objects.
    outsider: int = 404
    # Extra checks after the call: check(role, response, built).
    check: Callable[[str, HttpResponse, Built], None] | None = None


@dataclass(frozen=True)
class DashboardCase:
    build: Callable[[Creator, str], Built]
    calls: dict[str, Call]


# Routes that serve no signed-in member's tenant (each with the reason); anything else
# outside /api/ and /admin/ is a tenant page and needs a case.
NOT_TENANT_ROUTES: dict[str, str] = {
    "favicon": "a redirect to the static icon",
    "login": "sign-in form, before any tenant",
    "logout": "ends the session, reads nothing",
    "password_reset": "by email, before any tenant",
    "password_reset_done": "static page",
    "password_reset_confirm": "token page, before any tenant",
    "password_reset_complete": "static page",
    "set_language": "stores the language in the session",
    "stripe-webhook": "Stripe's signed callbacks, verified per creator",
    "dev-outbox": "development outbox (DEBUG only), no tenant data of members",
    "dev-outbox-email": "development outbox (DEBUG only), no tenant data of members",
    "reactivation_page": "subscriber-facing link, authorised by its token",
    "payment_page": "subscriber-facing link, authorised by its token",
    "subscriber:sign_in_request": "subscriber-facing, authorised by email sign-in",
    "subscriber:sign_in": "subscriber-facing, authorised by its token",
    "subscriber:manage": "subscriber-facing, authorised by the subscriber's session",
    "subscriber:cancel": "subscriber-facing, authorised by the subscriber's session",
    "subscriber:restart": "subscriber-facing, authorised by the subscriber's session",
    "subscriber:pause": "subscriber-facing, authorised by the subscriber's session",
    "subscriber:resume": "subscriber-facing, authorised by the subscriber's session",
    "subscriber:retain": "subscriber-facing, authorised by the subscriber's session",
    "subscriber:billing_day": "subscriber-facing, authorised by the subscriber's session",
    "subscriber:change_plan": "subscriber-facing, authorised by the subscriber's session",
    "subscriber:sign_out": "subscriber-facing",
}
SKIPPED_PREFIXES = ("api/", "admin/")


@dataclass(frozen=True)
class DashboardRoute:
    name: str
    pattern: str


def dashboard_routes() -> dict[str, DashboardRoute]:
    """Every named route outside the API and the admin, from the live URL resolver."""
    found: dict[str, DashboardRoute] = {}

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for entry in patterns:
            here = prefix + str(entry.pattern).lstrip("^")
            if here.startswith(SKIPPED_PREFIXES):
                continue
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}{entry.namespace}:"
                walk(entry.url_patterns, here, inner)
            elif isinstance(entry, URLPattern):
                if not entry.name:
                    raise AssertionError(f"Route {here!r} has no name; name it.")
                name = namespace + entry.name
                if name not in NOT_TENANT_ROUTES:
                    found[name] = DashboardRoute(name, here)

    walk(get_resolver().url_patterns, "", "")
    return found


def all_cases() -> dict[str, DashboardCase]:
    merged = dict(CASES)
    import tests

    for module in pkgutil.iter_modules(tests.__path__):
        if not module.ispkg or module.name == "reliability":  # this file is the base
            continue
        try:
            extra = importlib.import_module(f"tests.{module.name}.dashboard_cases")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.{module.name}.dashboard_cases":
                raise
            continue
        for name, case in extra.CASES.items():
            if name in merged:
                raise AssertionError(f"Dashboard case {name!r} is registered twice.")
            merged[name] = case
    return merged


# --- builders -----------------------------------------------------------------------


def _another_day(subscription: Subscription) -> int:
    """A billing day the subscription does not renew on yet."""
    return 2 if subscription.next_charge_date.day == 1 else 1


def _subscription(creator: Creator, marker: str) -> Subscription:
    product = ProductFactory(creator=creator, name=f"Course {marker}")
    plan = PlanFactory(product=product, name=f"Plan {marker}")
    subscriber = SubscriberFactory(
        creator=creator, email=f"{marker}@example.com", name=f"Subscriber {marker}"
    )
    subscription = SubscriptionFactory(plan=plan, subscriber=subscriber)
    SubscriptionEvent.objects.create(
        creator=creator,
        subscription=subscription,
        type="subscription.created",
        data={"status": "ACTIVE", "note": marker},
        occurred_at=timezone.now(),
    )
    ChargeFactory(subscription=subscription)
    return subscription


def subscriptions_page(creator: Creator, marker: str) -> Built:
    subscription = _subscription(creator, marker)
    return Built(refs={"subscription": subscription})


def late_page(creator: Creator, marker: str) -> Built:
    """A subscription with a payment late, so the Recovery page lists it."""
    subscription = _subscription(creator, marker)
    subscription.status = Status.DELAYED
    subscription.save(update_fields=["status"])
    return Built(refs={"subscription": subscription})


def subscription_object(creator: Creator, marker: str) -> Built:
    subscription = _subscription(creator, marker)
    return Built(kwargs={"uuid": str(subscription.uuid)}, refs={"subscription": subscription})


def subscription_with_cheaper_plan(creator: Creator, marker: str) -> Built:
    built = subscription_object(creator, marker)
    plan = built.refs["subscription"].plan
    cheaper = PlanFactory(
        product=plan.product,
        name=f"Lite {marker}",
        price=plan.price / 2,
        currency=plan.currency,
        period=plan.period,
    )
    return Built(kwargs=built.kwargs, refs={**built.refs, "cheaper": cheaper})


def paused_subscription(creator: Creator, marker: str) -> Built:
    built = subscription_object(creator, marker)
    Subscription.objects.filter(pk=built.refs["subscription"].pk).update(
        status=Status.PAUSED, next_charge_date=None, paid_through=timezone.localdate()
    )
    return built


def team_page(creator: Creator, marker: str) -> Built:
    _subscription(creator, marker)
    member = MembershipFactory(
        creator=creator, role=Role.VIEWER, user=UserFactory(email=f"team-{marker}@example.com")
    )
    return Built(refs={"member": member})


def team_member_object(creator: Creator, marker: str) -> Built:
    built = team_page(creator, marker)
    return Built(kwargs={"user_uuid": str(built.refs["member"].user.uuid)}, refs=built.refs)


def api_keys_page(creator: Creator, marker: str) -> Built:
    issued = member_key(creator, Role.VIEWER, name=f"Key {marker}")
    return Built(refs={"key": issued.api_key})


def api_key_object(creator: Creator, marker: str) -> Built:
    built = api_keys_page(creator, marker)
    return Built(kwargs={"uuid": str(built.refs["key"].uuid)}, refs=built.refs)


def coupons_page(creator: Creator, marker: str) -> Built:
    """A coupon valid for one plan whose name carries the marker (codes are capitals)."""
    from decimal import Decimal

    from subscriptions.coupons import coupon_create

    plan = PlanFactory(product=ProductFactory(creator=creator), name=f"Plan {marker}")
    coupon = coupon_create(
        creator=creator,
        code=marker.replace("-", ""),
        kind="percent",
        value=Decimal(10),
        duration="once",
        plans=[plan],
    )
    return Built(refs={"coupon": coupon, "plan": plan})


def coupon_object(creator: Creator, marker: str) -> Built:
    built = coupons_page(creator, marker)
    return Built(kwargs={"uuid": str(built.refs["coupon"].uuid)}, refs=built.refs)


def _coupon_off_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    coupon = built.refs["coupon"]
    coupon.refresh_from_db()
    assert coupon.is_active == (role != "owner"), (role, coupon.is_active)


def creator_page(creator: Creator, marker: str) -> Built:
    _subscription(creator, marker)
    return Built(refs={"creator": creator})


# --- checks -------------------------------------------------------------------------


def _cancelled_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    built.refs["subscription"].refresh_from_db()
    expected = Status.CANCELLED_BY_SELLER if role == "owner" else Status.ACTIVE
    assert built.refs["subscription"].status == expected, (role, built.refs["subscription"])


def _switch_scheduled_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    subscription = built.refs["subscription"]
    subscription.refresh_from_db()
    expected = built.refs["cheaper"].pk if role == "owner" else None
    assert subscription.scheduled_plan_id == expected, (role, subscription.scheduled_plan_id)


def _status_changed_only_by_owner(before: str, after: str) -> Any:
    def check(role: str, response: HttpResponse, built: Built) -> None:
        subscription = built.refs["subscription"]
        subscription.refresh_from_db()
        expected = after if role == "owner" else before
        assert subscription.status == expected, (role, subscription.status)

    return check


def _billing_day_changed_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    subscription = built.refs["subscription"]
    subscription.refresh_from_db()
    changed = subscription.billing_day_changed_on is not None
    assert changed == (role == "owner"), (role, changed)


def _member_kept_unless_owner(role: str, response: HttpResponse, built: Built) -> None:
    member = built.refs["member"]
    kept = Membership.objects.filter(pk=member.pk).exists()
    assert kept == (role != "owner"), (role, kept)


def _role_changed_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    member = built.refs["member"]
    member.refresh_from_db()
    assert member.role == (Role.MANAGER if role == "owner" else Role.VIEWER), (role, member.role)


def _key_revoked_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    key = built.refs["key"]
    key.refresh_from_db()
    assert (key.revoked_at is not None) == (role == "owner"), (role, key.revoked_at)


def _settings_saved_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    creator = built.refs["creator"]
    creator.refresh_from_db()
    assert (creator.time_zone == "Asia/Tokyo") == (role == "owner"), (role, creator.time_zone)


def _import_body(built: Built) -> dict[str, Any]:
    plan = built.refs["subscription"].plan
    return {
        "confirmed": "1",
        "content": "email,plan,started_at,payment_method\n"
        f"imported-{plan.uuid}@example.com,{plan.name},2025-03-10,pm_sandbox_ok\n",
    }


def _imported_only_by_owner(role: str, response: HttpResponse, built: Built) -> None:
    plan = built.refs["subscription"].plan
    imported = Subscription.objects.filter(
        plan=plan, subscriber__email=f"imported-{plan.uuid}@example.com"
    ).exists()
    assert imported == (role == "owner"), (role, imported)


def _count_is_own_rows(role: str, response: HttpResponse, built: Built) -> None:
    # Each creator has one subscription: counting across tenants would say 2.
    assert 'data-count="1"' in response.content.decode(), (role, response.content)


# The bulk action the matrix registers while it runs: records what a selection reached.
BULK_RECORD: list[list[str]] = []
BULK_ACTION = "t1_record"


def bulk_record_handler(request: HttpRequest, selection: BulkSelection) -> HttpResponse:
    BULK_RECORD.append(sorted(str(s.uuid) for s in selection.subscriptions()))
    return HttpResponse("recorded")


def _bulk_reached_own_rows_only(role: str, response: HttpResponse, built: Built) -> None:
    mine = str(built.refs["subscription"].uuid)
    if role == "owner":
        assert [[mine]] == BULK_RECORD, BULK_RECORD
    elif role == "outsider":
        # The outsider's selection lives in their own creator: the named row is not found.
        assert BULK_RECORD == [[]], BULK_RECORD
    else:
        assert BULK_RECORD == [], BULK_RECORD


CASES: dict[str, DashboardCase] = {
    "dashboard:overview": DashboardCase(build=creator_page, calls={"get": Call()}),
    "dashboard:creator_switch": DashboardCase(
        build=creator_page,
        calls={
            "post": Call(
                ok=302,
                write=False,
                data=lambda b: {"creator": str(b.refs["creator"].uuid)},
            )
        },
    ),
    "dashboard:subscriptions": DashboardCase(
        build=subscriptions_page, calls={"get": Call(shows_own_rows=True)}
    ),
    "dashboard:recovery": DashboardCase(build=late_page, calls={"get": Call(shows_own_rows=True)}),
    "dashboard:subscriptions_count": DashboardCase(
        build=subscriptions_page, calls={"get": Call(check=_count_is_own_rows)}
    ),
    "dashboard:subscriptions_export": DashboardCase(
        build=subscriptions_page, calls={"get": Call(shows_own_rows=True)}
    ),
    "dashboard:subscriptions_import": DashboardCase(
        build=subscriptions_page,
        calls={
            # Viewers read the instructions; the POST names the creator's plan, which an
            # outsider's import does not find in their own creator.
            "get": Call(),
            "post": Call(data=_import_body, outsider=200, check=_imported_only_by_owner),
        },
    ),
    "dashboard:subscriptions_bulk": DashboardCase(
        build=subscriptions_page,
        calls={
            "post": Call(
                data=lambda b: {
                    "action": BULK_ACTION,
                    "subscription": [str(b.refs["subscription"].uuid)],
                },
                outsider=200,
                check=_bulk_reached_own_rows_only,
            )
        },
    ),
    "dashboard:subscription_detail": DashboardCase(
        build=subscription_object, calls={"get": Call(shows_own_rows=True)}
    ),
    "dashboard:subscription_cancel": DashboardCase(
        build=subscription_object,
        calls={
            "post": Call(ok=302, data=lambda b: {"reason": "other"}, check=_cancelled_only_by_owner)
        },
    ),
    "dashboard:subscription_plan_change": DashboardCase(
        build=subscription_with_cheaper_plan,
        calls={
            "post": Call(
                ok=302,
                data=lambda b: {"plan": str(b.refs["cheaper"].uuid)},
                check=_switch_scheduled_only_by_owner,
            )
        },
    ),
    "dashboard:subscription_pause": DashboardCase(
        build=subscription_object,
        calls={
            "post": Call(
                ok=302,
                data=lambda b: {"when": "now", "length": "open"},
                check=_status_changed_only_by_owner("ACTIVE", "PAUSED"),
            )
        },
    ),
    "dashboard:subscription_billing_day": DashboardCase(
        build=subscription_object,
        calls={
            "post": Call(
                ok=302,
                data=lambda b: {"day": _another_day(b.refs["subscription"])},
                check=_billing_day_changed_only_by_owner,
            )
        },
    ),
    "dashboard:subscription_resume": DashboardCase(
        build=paused_subscription,
        calls={
            "post": Call(
                ok=302,
                data=lambda b: {"how": "continue"},
                check=_status_changed_only_by_owner("PAUSED", "ACTIVE"),
            )
        },
    ),
    "dashboard:team": DashboardCase(
        build=team_page,
        calls={
            "get": Call(shows_own_rows=True),
            # Inviting names no object of the creator: an outsider invites to their own team.
            "post": Call(
                ok=302,
                data=lambda b: {"email": "invitee@example.com", "role": Role.VIEWER},
                outsider=302,
            ),
        },
    ),
    "dashboard:team_role": DashboardCase(
        build=team_member_object,
        calls={
            "post": Call(
                ok=302, data=lambda b: {"role": Role.MANAGER}, check=_role_changed_only_by_owner
            )
        },
    ),
    "dashboard:team_remove": DashboardCase(
        build=team_member_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_member_kept_unless_owner)},
    ),
    "dashboard:api_keys": DashboardCase(
        build=api_keys_page,
        calls={
            "get": Call(shows_own_rows=True),
            "post": Call(ok=201, data=lambda b: {"name": "CI", "role": Role.VIEWER}, outsider=201),
        },
    ),
    "dashboard:api_key_revoke": DashboardCase(
        build=api_key_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_key_revoked_only_by_owner)},
    ),
    "dashboard:coupons": DashboardCase(
        build=coupons_page,
        calls={
            "get": Call(shows_own_rows=True),
            # A coupon for every plan names nothing of the creator: an outsider creates one.
            "post": Call(
                ok=302,
                data=lambda b: {
                    "code": "NEW10",
                    "kind": "percent",
                    "value": "10",
                    "duration": "once",
                },
                outsider=302,
            ),
        },
    ),
    "dashboard:coupon_deactivate": DashboardCase(
        build=coupon_object,
        calls={"post": Call(ok=302, data=lambda b: {}, check=_coupon_off_only_by_owner)},
    ),
    "dashboard:settings": DashboardCase(
        build=creator_page,
        calls={
            "get": Call(),
            "post": Call(
                ok=302,
                data=lambda b: {
                    "time_zone": "Asia/Tokyo",
                    "locale": "en",
                    "currency": "BRL",
                    "retry_schedule": "1, 3, 5",
                    "gateway": b.refs["creator"].gateway,
                },
                outsider=302,
                check=_settings_saved_only_by_owner,
            ),
        },
    ),
}
