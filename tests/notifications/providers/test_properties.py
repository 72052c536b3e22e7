"""The consent contract (notifications/providers/base.py), proved per provider against
its spec-built fake (tests/notifications/providers/fakes): what a creator's subscribers
would see at the provider after our actions. Every provider in `FAKES` runs every test
that applies to it (the tag tests skip nothing: they are generated only for providers
with contact tags)."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.models import Integration
from notifications.providers import Contact, ProviderError, provider_class, provider_for
from notifications.providers.base import EmailMarketingProvider
from tests.notifications.providers.fakes import FAKES, FakeProvider
from tests.notifications.providers.fakes.base import (
    PENDING,
    SUBSCRIBED,
    TRANSACTIONAL,
    UNSUBSCRIBED,
)

pytestmark = pytest.mark.django_db

# What a provider does not have, with the reason (docs/notifications.md); the tests skip
# only these steps for it.
NOT_APPLICABLE = {
    ("kit", "remove_from_list"): "Kit's API cannot take anyone out of a form or sequence",
    ("rdstation", "remove_from_list"): "an RD Station conversion cannot be undone",
    ("rdstation", "account_lists"): "RD's lists are a fixed catalogue of conversion events",
    ("rdstation", "tag_listing"): "RD Station has no call that lists an account's tags",
    ("rdstation", "api_key"): "OAuth: its refused and renewed tokens are in test_rdstation.py",
}


def can(provider: str, what: str) -> bool:
    return (provider, what) not in NOT_APPLICABLE


def _having(what: str) -> list[str]:
    return sorted(p for p in FAKES if can(p, what))


ALL = pytest.mark.parametrize("spec_fake", sorted(FAKES), indirect=True)
WITH_TAGS = pytest.mark.parametrize(
    "spec_fake", sorted(p for p in FAKES if provider_class(p).supports_tags), indirect=True
)
ANA = Contact(email="ana@example.com", first_name="Ana", last_name="Souza", locale="pt-BR")
NAMELESS = Contact(email="ana@example.com")
STRANGER = Contact(email="stranger@example.com", first_name="Nobody", last_name="Known")


def adapter(fake: FakeProvider, status: str = "") -> EmailMarketingProvider:
    integration: Integration = fake.integration  # type: ignore[attr-defined]
    if status:
        integration.new_contact_status = status
    return provider_for(integration)


def tag_list(provider: EmailMarketingProvider, list_id: str) -> str | None:
    """Where the tag actions take a list (Mailchimp audiences), the list."""
    return list_id if provider.tags_need_list else None


def run_every_action(
    provider: EmailMarketingProvider, contact: Contact, list_id: str, tag: str = "vip"
) -> None:
    provider.add_to_list(contact, list_id)
    if provider.supports_tags:
        provider.add_tag(contact, tag, tag_list(provider, list_id))
        provider.remove_tag(contact, tag, tag_list(provider, list_id))
    if can(provider.name, "remove_from_list"):
        provider.remove_from_list(contact, list_id)
    provider.add_to_list(contact, list_id)


@ALL
def test_remove_actions_never_create_a_contact(spec_fake: FakeProvider) -> None:
    provider = adapter(spec_fake)
    customers = spec_fake.seed_list("Customers")
    other = spec_fake.seed_list("Newsletter")
    spec_fake.seed_contact("ana@example.com", lists={customers: SUBSCRIBED})
    if provider.supports_tags:
        spec_fake.seed_tags(["vip"], list_id=customers)

    if can(provider.name, "remove_from_list"):
        provider.remove_from_list(STRANGER, customers)
        provider.remove_from_list(ANA, other)  # known, but not on that list
    if provider.supports_tags:
        provider.remove_tag(STRANGER, "vip", tag_list(provider, customers))
        provider.remove_tag(ANA, "never-created", tag_list(provider, customers))

    assert spec_fake.contact(STRANGER.email) is None
    assert [c.email for c in spec_fake.contacts()] == ["ana@example.com"]
    ana = spec_fake.contact(ANA.email)
    assert ana is not None and ana.lists == {customers: SUBSCRIBED} and ana.tags == set()


@ALL
@pytest.mark.parametrize("chosen", [SUBSCRIBED, PENDING, TRANSACTIONAL])
def test_no_action_resubscribes_an_unsubscribed_contact(
    spec_fake: FakeProvider, chosen: str
) -> None:
    provider = adapter(spec_fake, chosen)
    customers = spec_fake.seed_list("Customers")
    spec_fake.seed_contact("ana@example.com", lists={customers: UNSUBSCRIBED})

    run_every_action(provider, ANA, customers)

    ana = spec_fake.contact(ANA.email)
    assert ana is not None
    assert ana.lists == {customers: UNSUBSCRIBED}


@ALL
def test_add_to_list_gives_a_new_contact_the_integrations_status(
    spec_fake: FakeProvider,
) -> None:
    customers = spec_fake.seed_list("Customers")
    offered = provider_class(spec_fake.provider).contact_statuses
    for n, status in enumerate(offered):
        contact = Contact(email=f"new{n}@example.com")
        adapter(spec_fake, status).add_to_list(contact, customers)
        new = spec_fake.contact(contact.email)
        assert new is not None and new.lists == {customers: status}


@WITH_TAGS
def test_tag_actions_change_no_list_status(spec_fake: FakeProvider) -> None:
    provider = adapter(spec_fake, SUBSCRIBED)
    customers = spec_fake.seed_list("Customers")
    newsletter = spec_fake.seed_list("Newsletter")
    spec_fake.seed_contact(
        "ana@example.com", lists={customers: SUBSCRIBED, newsletter: UNSUBSCRIBED}
    )
    before = spec_fake.contact(ANA.email)
    assert before is not None

    provider.add_tag(ANA, "vip", tag_list(provider, customers))
    provider.remove_tag(ANA, "vip", tag_list(provider, customers))
    provider.add_tag(ANA, "churned", tag_list(provider, newsletter))
    after = spec_fake.contact(ANA.email)
    assert after is not None and after.lists == before.lists
    assert after.tags == {"churned"}

    # A stranger is tagged without being subscribed to anything, whatever the
    # integration's status for new contacts.
    provider.add_tag(STRANGER, "vip", tag_list(provider, customers))
    stranger = spec_fake.contact(STRANGER.email)
    assert stranger is not None and stranger.tags == {"vip"}
    assert not {SUBSCRIBED, PENDING} & set(stranger.lists.values())


@ALL
def test_names_absent_here_are_absent_in_the_request(spec_fake: FakeProvider) -> None:
    provider = adapter(spec_fake)
    customers = spec_fake.seed_list("Customers")
    spec_fake.seed_contact(
        "ana@example.com", first_name="Ana", last_name="Souza", lists={customers: SUBSCRIBED}
    )

    run_every_action(provider, NAMELESS, customers)
    keys = spec_fake.keys_sent()
    assert spec_fake.first_name_key not in keys and spec_fake.last_name_key not in keys
    ana = spec_fake.contact(ANA.email)
    assert ana is not None and (ana.first_name, ana.last_name) == ("Ana", "Souza")

    # A one-word name is a first name: no empty last name is sent.
    one_word = Contact.from_name(email="bia@example.com", name="  Bia ")
    provider.add_to_list(one_word, customers)
    assert spec_fake.last_name_key not in spec_fake.keys_sent()
    bia = spec_fake.contact("bia@example.com")
    assert bia is not None and (bia.first_name, bia.last_name) == ("Bia", None)


@WITH_TAGS
def test_a_contact_first_tagged_then_added_to_a_list_gets_the_chosen_status(
    spec_fake: FakeProvider,
) -> None:
    customers = spec_fake.seed_list("Customers")
    for n, status in enumerate(provider_class(spec_fake.provider).contact_statuses):
        provider = adapter(spec_fake, status)
        contact = Contact(email=f"tagged{n}@example.com")
        provider.add_tag(contact, "vip", tag_list(provider, customers))
        provider.add_to_list(contact, customers)
        seen = spec_fake.contact(contact.email)
        assert seen is not None and seen.lists == {customers: status} and seen.tags == {"vip"}


@WITH_TAGS
@pytest.mark.parametrize("how_many", [45, 245])
def test_tags_containing_the_name_still_resolve_it_exactly(
    spec_fake: FakeProvider, how_many: int
) -> None:
    provider = adapter(spec_fake)
    customers = spec_fake.seed_list("Customers")
    lookalikes = [f"vip-{n:03d}" if n % 2 else f"VIP club {n:03d}" for n in range(how_many)]
    spec_fake.seed_tags([*lookalikes, "vip"], list_id=customers)  # the exact one comes last
    spec_fake.seed_contact("ana@example.com", lists={customers: SUBSCRIBED})

    listing = can(spec_fake.provider, "tag_listing")
    listed = {t.name for t in provider.tags(tag_list(provider, customers))}
    assert listed == ({*lookalikes, "vip"} if listing else set())

    provider.add_tag(ANA, "vip", tag_list(provider, customers))
    ana = spec_fake.contact(ANA.email)
    assert ana is not None and ana.tags == {"vip"}
    assert {t.name for t in provider.tags(tag_list(provider, customers))} == listed  # none new

    provider.remove_tag(ANA, "vip", tag_list(provider, customers))
    ana = spec_fake.contact(ANA.email)
    assert ana is not None and ana.tags == set()


@WITH_TAGS
def test_a_new_tag_is_created_on_first_use(spec_fake: FakeProvider) -> None:
    provider = adapter(spec_fake)
    assert provider.creates_tags
    customers = spec_fake.seed_list("Customers")
    spec_fake.seed_contact("ana@example.com", lists={customers: SUBSCRIBED})
    provider.add_tag(ANA, "first-purchase", tag_list(provider, customers))
    ana = spec_fake.contact(ANA.email)
    assert ana is not None and ana.tags == {"first-purchase"}
    if can(spec_fake.provider, "tag_listing"):
        assert "first-purchase" in {t.name for t in provider.tags(tag_list(provider, customers))}


@pytest.mark.parametrize("spec_fake", _having("account_lists"), indirect=True)
def test_lists_page_to_the_end(spec_fake: FakeProvider) -> None:
    names = [f"List {n:03d}" for n in range(120)]
    for name in names:
        spec_fake.seed_list(name)
    assert [x.name for x in adapter(spec_fake).lists()] == names


@ALL
def test_a_429_is_transient_and_keeps_the_providers_wait(spec_fake: FakeProvider) -> None:
    provider = adapter(spec_fake)
    customers = spec_fake.seed_list("Customers")
    reply = spec_fake.rate_limited()
    spec_fake.fail_next(reply)
    with pytest.raises(ProviderError) as info:
        provider.add_to_list(ANA, customers)
    error = info.value
    assert (error.permanent, error.auth, error.status) == (False, False, 429)
    wait = reply.headers.get("Retry-After") or reply.headers.get("x-sib-ratelimit-reset")
    assert error.retry_after == (float(wait) if wait else None)
    assert spec_fake.contact(ANA.email) is None


@pytest.mark.parametrize("spec_fake", _having("api_key"), indirect=True)
def test_refused_credentials_say_so(spec_fake: FakeProvider) -> None:
    integration: Integration = spec_fake.integration  # type: ignore[attr-defined]
    integration.credentials = {**spec_fake.credentials(), "api_key": "wrong-key-us21"}
    with pytest.raises(ProviderError) as info:
        provider_for(integration).validate()
    assert info.value.auth and "refused the credentials" in info.value.message


# --- calls per action ------------------------------------------------------------------

# (action, situation) → provider calls. "new": the provider does not know the contact;
# "existing": it does, already on the list / carrying the tag; "stranger": a removal for
# someone the provider does not know; "cached": the same integration acted for this
# contact and tag moments ago (ids in the shared cache). The figures of the table in
# docs/notifications.md.
CALLS: dict[str, dict[tuple[str, str], int]] = {
    "mailchimp": {
        ("add_to_list", "new"): 1,
        ("add_to_list", "existing"): 1,
        ("remove_from_list", "existing"): 2,
        ("remove_from_list", "stranger"): 1,
        ("add_tag", "new"): 2,
        ("add_tag", "existing"): 1,
        ("add_tag", "cached"): 1,
        ("remove_tag", "existing"): 1,
        ("remove_tag", "stranger"): 1,
    },
    "activecampaign": {
        ("add_to_list", "new"): 3,
        ("add_to_list", "existing"): 2,
        ("add_to_list", "cached"): 1,
        ("remove_from_list", "existing"): 3,
        ("remove_from_list", "stranger"): 1,
        ("add_tag", "new"): 3,
        ("add_tag", "existing"): 3,
        ("add_tag", "cached"): 1,
        ("remove_tag", "existing"): 4,
        ("remove_tag", "cached"): 2,
        ("remove_tag", "stranger"): 1,
    },
    "brevo": {
        ("add_to_list", "new"): 1,
        ("add_to_list", "existing"): 1,
        ("remove_from_list", "existing"): 1,
        ("remove_from_list", "stranger"): 1,
    },
    "mailerlite": {
        ("add_to_list", "new"): 2,
        ("add_to_list", "existing"): 2,
        ("add_to_list", "cached"): 1,
        ("remove_from_list", "existing"): 2,
        ("remove_from_list", "stranger"): 1,
    },
    "kit": {
        ("add_to_list", "new"): 3,
        ("add_to_list", "existing"): 2,
        ("add_tag", "new"): 4,
        ("add_tag", "existing"): 2,
        ("add_tag", "cached"): 1,
        ("remove_tag", "existing"): 2,
        ("remove_tag", "cached"): 1,
        ("remove_tag", "stranger"): 2,
    },
    "rdstation": {
        ("add_to_list", "new"): 2,
        ("add_to_list", "existing"): 2,
        ("add_tag", "new"): 2,
        ("add_tag", "existing"): 2,
        ("add_tag", "cached"): 2,
        ("remove_tag", "existing"): 2,
        ("remove_tag", "stranger"): 1,
    },
}


def _count(fake: FakeProvider, action: Any) -> int:
    before = len(fake.calls)
    action()
    return len(fake.calls) - before


@ALL
def test_calls_per_action(spec_fake: FakeProvider) -> None:
    customers = spec_fake.seed_list("Customers")
    tags = provider_class(spec_fake.provider).supports_tags
    if tags:
        spec_fake.seed_tags(["vip"], list_id=customers)
    seen: dict[tuple[str, str], int] = {}
    expected = CALLS[spec_fake.provider]

    def measure(action: str, situation: str, email: str, *, fresh: bool = True) -> None:
        # A fresh adapter on a fresh integration id has no cached ids.
        provider = adapter(spec_fake)
        if fresh:
            provider.ids.prefix = f"{provider.ids.prefix}:{action}:{situation}:{email}"
        contact = Contact(email=email)
        target = tag_list(provider, customers)
        calls = {
            "add_to_list": lambda: provider.add_to_list(contact, customers),
            "remove_from_list": lambda: provider.remove_from_list(contact, customers),
            "add_tag": lambda: provider.add_tag(contact, "vip", target),
            "remove_tag": lambda: provider.remove_tag(contact, "vip", target),
        }
        seen[(action, situation)] = _count(spec_fake, calls[action])

    def existing(email: str) -> str:
        spec_fake.seed_contact(email, lists={customers: SUBSCRIBED}, tags={"vip"} if tags else None)
        return email

    measure("add_to_list", "new", "n1@example.com")
    measure("add_to_list", "existing", existing("e1@example.com"))
    if can(spec_fake.provider, "remove_from_list"):
        measure("remove_from_list", "existing", existing("e2@example.com"))
        measure("remove_from_list", "stranger", "s1@example.com")
    if tags:
        measure("add_tag", "new", "n2@example.com")
        measure("add_tag", "existing", existing("e3@example.com"))
        measure("remove_tag", "existing", existing("e4@example.com"))
        measure("remove_tag", "stranger", "s2@example.com")
    # The same contact and tag again on one integration: the cached ids are used.
    cached = existing("c1@example.com")
    if ("add_to_list", "cached") in expected:
        measure("add_to_list", "warm", cached, fresh=False)
        measure("add_to_list", "cached", cached, fresh=False)
    if tags:
        measure("add_tag", "warm", cached, fresh=False)
        measure("add_tag", "cached", cached, fresh=False)
        if ("remove_tag", "cached") in expected:
            measure("remove_tag", "cached", cached, fresh=False)
    measured = {k: v for k, v in seen.items() if k[1] != "warm"}
    print(f"\n{spec_fake.provider} calls per action: {measured}")
    assert measured == expected
    # No call met a fake's internal error (a request it could not understand).
    assert not [c for c in spec_fake.calls if c.status >= 500]
