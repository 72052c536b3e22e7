"""Conformance with the providers' official SDKs: each operation is done once with the
SDK (`mailchimp-marketing`, `brevo-python`) and once with our adapter, each against a
fresh copy of the same spec-built fake, and the two request sequences must agree in
method, path, query (names and values) and JSON body keys (at every depth).

The SDKs encode the providers' published API definitions (paths, methods, parameter
names); the fakes refuse body keys that the SDK models do not have. ActiveCampaign has
no official Python SDK: its fake cites its API reference instead.

A change to an adapter's path, method or body key fails here (see the report in
docs/notifications.md, "Conformance").
"""

from __future__ import annotations

import contextlib
from typing import Any

import mailchimp_marketing
import pytest
from brevo import Brevo
from brevo.contacts import RemoveContactFromListRequestBodyEmails
from brevo.errors import BadRequestError
from mailchimp_marketing.api_client import ApiClientError

from notifications.providers import Contact
from tests.notifications.providers.conformance import Operation, conforms, key_paths, shape
from tests.notifications.providers.fakes import FakeProvider
from tests.notifications.providers.fakes.base import SUBSCRIBED, TRANSACTIONAL, UNSUBSCRIBED, Call
from tests.notifications.providers.fakes.brevo import BrevoFake
from tests.notifications.providers.fakes.mailchimp import MailchimpFake, member_hash

pytestmark = pytest.mark.django_db

ANA = Contact(email="Ana@Example.com", first_name="Ana", last_name="Souza", locale="pt-BR")
HASH = member_hash(ANA.email)


# --- Mailchimp (mailchimp-marketing) ---------------------------------------------------


def mailchimp_sdk(fake: FakeProvider) -> Any:
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": fake.api_key, "server": "us21"})
    client.api_client.host = f"{fake.url}/3.0"
    return client


def mc_world(fake: FakeProvider) -> dict[str, str]:
    audience = fake.seed_list("Customers")
    fake.seed_tags(["vip", "vip-club"], list_id=audience)
    fake.seed_contact("member@example.com", first_name="Bia", lists={audience: SUBSCRIBED})
    fake.seed_contact("gone@example.com", lists={audience: UNSUBSCRIBED})
    fake.seed_contact("tagged@example.com", lists={audience: TRANSACTIONAL}, tags={"vip"})
    return {"list": audience}


MEMBER_BODY = {
    "email_address": ANA.email,
    "merge_fields": {"FNAME": "Ana", "LNAME": "Souza"},
    "language": "pt",
}
FIELDS_LISTS = ["lists.id", "lists.name", "total_items"]
FIELDS_SEGMENTS = ["segments.id", "segments.name", "total_items"]


def mc_tag_stranger(sdk: Any, ctx: dict[str, str]) -> None:
    try:
        sdk.lists.update_list_member_tags(
            ctx["list"], HASH, {"tags": [{"name": "vip", "status": "active"}]}
        )
    except ApiClientError as exc:
        assert exc.status_code == 404
        sdk.lists.add_list_member(
            ctx["list"], {**MEMBER_BODY, "status": "transactional", "tags": ["vip"]}
        )


def mc_remove(sdk: Any, ctx: dict[str, str], email: str) -> None:
    digest = member_hash(email)
    member = sdk.lists.get_list_member(ctx["list"], digest, fields=["status"])
    if member["status"] == "subscribed":
        sdk.lists.delete_list_member(ctx["list"], digest)


MAILCHIMP = [
    Operation(
        "validate",
        mc_world,
        lambda sdk, ctx: sdk.ping.get(),
        lambda ours, ctx: ours.validate(),
    ),
    Operation(
        "lists",
        mc_world,
        lambda sdk, ctx: sdk.lists.get_all_lists(count=1000, offset=0, fields=FIELDS_LISTS),
        lambda ours, ctx: ours.lists(),
    ),
    Operation(
        "tags",
        mc_world,
        lambda sdk, ctx: sdk.lists.list_segments(
            ctx["list"], type="static", count=1000, offset=0, fields=FIELDS_SEGMENTS
        ),
        lambda ours, ctx: ours.tags(ctx["list"]),
    ),
    Operation(
        "add_to_list",
        mc_world,
        lambda sdk, ctx: sdk.lists.set_list_member(
            ctx["list"], HASH, {**MEMBER_BODY, "status_if_new": "subscribed"}
        ),
        lambda ours, ctx: ours.add_to_list(ANA, ctx["list"]),
    ),
    Operation(
        "add_to_list (transactional member)",
        mc_world,
        lambda sdk, ctx: [
            sdk.lists.set_list_member(
                ctx["list"],
                member_hash("tagged@example.com"),
                {"email_address": "tagged@example.com", "status_if_new": "subscribed"},
            ),
            sdk.lists.update_list_member(
                ctx["list"], member_hash("tagged@example.com"), {"status": "subscribed"}
            ),
        ],
        lambda ours, ctx: ours.add_to_list(Contact("tagged@example.com"), ctx["list"]),
    ),
    Operation(
        "remove_from_list (member)",
        mc_world,
        lambda sdk, ctx: mc_remove(sdk, ctx, "member@example.com"),
        lambda ours, ctx: ours.remove_from_list(Contact("member@example.com"), ctx["list"]),
    ),
    Operation(
        "remove_from_list (unsubscribed)",
        mc_world,
        lambda sdk, ctx: mc_remove(sdk, ctx, "gone@example.com"),
        lambda ours, ctx: ours.remove_from_list(Contact("gone@example.com"), ctx["list"]),
    ),
    Operation(
        "add_tag (member)",
        mc_world,
        lambda sdk, ctx: sdk.lists.update_list_member_tags(
            ctx["list"],
            member_hash("member@example.com"),
            {"tags": [{"name": "vip", "status": "active"}]},
        ),
        lambda ours, ctx: ours.add_tag(Contact("member@example.com"), "vip", ctx["list"]),
    ),
    Operation(
        "add_tag (stranger)",
        mc_world,
        mc_tag_stranger,
        lambda ours, ctx: ours.add_tag(ANA, "vip", ctx["list"]),
    ),
    Operation(
        "remove_tag",
        mc_world,
        lambda sdk, ctx: sdk.lists.update_list_member_tags(
            ctx["list"],
            member_hash("member@example.com"),
            {"tags": [{"name": "vip", "status": "inactive"}]},
        ),
        lambda ours, ctx: ours.remove_tag(Contact("member@example.com"), "vip", ctx["list"]),
    ),
    Operation(
        "action_applied",
        mc_world,
        lambda sdk, ctx: sdk.lists.get_list_member(
            ctx["list"], member_hash("member@example.com"), fields=["status", "tags"]
        ),
        lambda ours, ctx: ours.action_applied(
            "add_tag", Contact("member@example.com"), list_id=ctx["list"], tag="vip"
        ),
    ),
]


@pytest.mark.parametrize("operation", MAILCHIMP, ids=[o.name for o in MAILCHIMP])
def test_mailchimp_matches_its_sdk(operation: Operation) -> None:
    conforms(MailchimpFake, operation, mailchimp_sdk)


# --- Brevo (brevo-python) --------------------------------------------------------------


def brevo_sdk(fake: FakeProvider) -> Any:
    return Brevo(api_key=fake.api_key, base_url=f"{fake.url}/v3", max_retries=0, timeout=5)


def brevo_world(fake: FakeProvider) -> dict[str, str]:
    customers = fake.seed_list("Customers")
    fake.seed_contact("member@example.com", first_name="Bia", lists={customers: SUBSCRIBED})
    return {"list": customers}


def brevo_remove(sdk: Any, ctx: dict[str, str], email: str) -> None:
    # Brevo answers 400 "Contact already removed from list and/or does not exist".
    with contextlib.suppress(BadRequestError):
        sdk.contacts.remove_contact_from_list(
            int(ctx["list"]), request=RemoveContactFromListRequestBodyEmails(emails=[email])
        )


BREVO = [
    Operation(
        "validate",
        brevo_world,
        lambda sdk, ctx: sdk.account.get_account(),
        lambda ours, ctx: ours.validate(),
    ),
    Operation(
        "lists",
        brevo_world,
        lambda sdk, ctx: sdk.contacts.get_lists(limit=50, offset=0),
        lambda ours, ctx: ours.lists(),
    ),
    Operation(
        "add_to_list",
        brevo_world,
        lambda sdk, ctx: sdk.contacts.create_contact(
            email=ANA.email,
            attributes={"FIRSTNAME": "Ana", "LASTNAME": "Souza"},
            list_ids=[int(ctx["list"])],
            update_enabled=True,
        ),
        lambda ours, ctx: ours.add_to_list(ANA, ctx["list"]),
    ),
    Operation(
        "add_to_list (no names)",
        brevo_world,
        lambda sdk, ctx: sdk.contacts.create_contact(
            email="member@example.com", list_ids=[int(ctx["list"])], update_enabled=True
        ),
        lambda ours, ctx: ours.add_to_list(Contact("member@example.com"), ctx["list"]),
    ),
    Operation(
        "remove_from_list (member)",
        brevo_world,
        lambda sdk, ctx: brevo_remove(sdk, ctx, "member@example.com"),
        lambda ours, ctx: ours.remove_from_list(Contact("member@example.com"), ctx["list"]),
    ),
    Operation(
        "remove_from_list (stranger)",
        brevo_world,
        lambda sdk, ctx: brevo_remove(sdk, ctx, "stranger@example.com"),
        lambda ours, ctx: ours.remove_from_list(Contact("stranger@example.com"), ctx["list"]),
    ),
    Operation(
        "action_applied",
        brevo_world,
        lambda sdk, ctx: sdk.contacts.get_contact_info("member@example.com"),
        lambda ours, ctx: ours.action_applied(
            "add_to_list", Contact("member@example.com"), list_id=ctx["list"]
        ),
    ),
]


@pytest.mark.parametrize("operation", BREVO, ids=[o.name for o in BREVO])
def test_brevo_matches_its_sdk(operation: Operation) -> None:
    conforms(BrevoFake, operation, brevo_sdk)


def test_the_comparison_sees_a_changed_body_key() -> None:
    """The check itself can fail: a body key of another name is a different shape."""
    call = Call("PUT", "/3.0/lists/a/members/h", {}, {"status_if_new": "subscribed"}, 0.0)
    renamed = Call("PUT", "/3.0/lists/a/members/h", {}, {"status": "subscribed"}, 0.0)
    nested = Call("POST", "/t", {}, {"tags": [{"name": "vip", "status": "active"}]}, 0.0)
    assert shape(call) != shape(renamed)
    assert key_paths(nested.body) == {"tags", "tags[].name", "tags[].status"}
