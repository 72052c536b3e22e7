"""Writes of segmentation: rules, deliveries and their outcomes (SPEC §8)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Creator, User
from core.claims import claim_rows
from notifications.email import email_send
from notifications.models import Integration
from notifications.providers import Contact, ProviderError, provider_for
from segmentation.models import SegmentationDelivery, SegmentationRule
from segmentation.placeholders import render
from segmentation.validation import CleanRule, rule_clean

logger = logging.getLogger(__name__)

Delivery = SegmentationDelivery
RETRY_BASE_SECONDS = 10
RETRY_CAP_SECONDS = 3600
GIVE_UP_AFTER = timedelta(hours=24)
# Longer than any provider call may take (timeout 10 s): a row still `sending` after this
# belongs to a worker that died, and the recovery job sends it again.
SENDING_STALE_AFTER = timedelta(minutes=5)


# --- rules ---------------------------------------------------------------------------------


def _trigger_keys(triggers: list[str]) -> str:
    return "|" + "|".join(triggers) + "|"


def _integration_health(clean: CleanRule) -> tuple[str, str, Integration | None]:
    for integration in clean.integrations:
        if integration.status == Integration.Status.ERROR:
            return (
                SegmentationRule.Health.ERROR,
                _integration_alert(integration, integration.last_error),
                integration,
            )
    return SegmentationRule.Health.OK, "", None


def _integration_alert(integration: Integration, detail: str) -> str:
    return (
        f"Integration '{integration.name}' ({integration.provider}) refused our credentials"
        f"{': ' + detail if detail else ''}. Reconnect it to resume this rule."
    )


def _rule_apply(rule: SegmentationRule, clean: CleanRule) -> None:
    rule.name = clean.name
    rule.product = clean.product
    rule.triggers = clean.triggers
    rule.trigger_keys = _trigger_keys(clean.triggers)
    rule.match = clean.match
    rule.conditions = clean.conditions
    rule.actions = clean.actions
    rule.is_active = clean.is_active
    # Saving a rule clears an action's error (the creator fixed it); an integration that
    # is still in error keeps the alert until it validates again.
    rule.status, rule.last_error, rule.error_integration = _integration_health(clean)


@transaction.atomic
def rule_create(
    *, creator: Creator, data: dict[str, Any], created_by: User | None = None
) -> SegmentationRule:
    """Create a rule after checking every row (`segmentation.validation.rule_clean`)."""
    clean = rule_clean(creator=creator, data=data)
    rule = SegmentationRule(creator=creator, created_by=created_by)
    _rule_apply(rule, clean)
    rule.save()
    rule.integrations.set(clean.integrations)
    return rule


@transaction.atomic
def rule_update(*, rule: SegmentationRule, data: dict[str, Any]) -> SegmentationRule:
    """Change a rule; `data` may be partial (PATCH): missing keys keep their value.
    Deliveries already created keep the action they were created with."""
    current = {
        "name": rule.name,
        "product": str(rule.product.uuid) if rule.product else None,
        "triggers": rule.triggers,
        "match": rule.match,
        "conditions": rule.conditions,
        "actions": rule.actions,
        "is_active": rule.is_active,
    }
    clean = rule_clean(creator=rule.creator, data={**current, **data})
    _rule_apply(rule, clean)
    rule.save()
    rule.integrations.set(clean.integrations)
    return rule


@transaction.atomic
def rule_delete(*, rule: SegmentationRule) -> None:
    """Delete a rule and its delivery log; queued deliveries find their row gone and stop."""
    rule.delete()


def integration_used_by_rules(integration: Integration) -> str | None:
    """In-use check for deleting an integration: names the rules whose actions use it."""
    names = list(
        SegmentationRule.objects.filter(
            creator_id=integration.creator_id, integrations=integration
        ).values_list("name", flat=True)
    )
    if not names:
        return None
    return "used by segmentation rule(s) " + ", ".join(f"'{n}'" for n in sorted(names))


@transaction.atomic
def rules_clear_integration_error(*, integration: Integration) -> int:
    """Call when an integration validates again (status `connected`): rules flagged
    because of its credentials go back to `ok`. Returns how many rules changed."""
    return SegmentationRule.objects.filter(
        error_integration=integration, status=SegmentationRule.Health.ERROR
    ).update(
        status=SegmentationRule.Health.OK,
        last_error="",
        error_integration=None,
        updated_at=timezone.now(),
    )


# --- running an action -----------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""
    provider_status: int | None = None
    permanent: bool = False
    auth: bool = False
    retry_after: float | None = None


def _placeholder_values(delivery: SegmentationDelivery) -> dict[str, str]:
    values = {
        "subscriber.name": delivery.contact_name or delivery.contact_email,
        "subscriber.email": delivery.contact_email,
        "creator.name": delivery.creator.name,
        "product.name": "",
        "plan.name": "",
        "subscription.status": "",
    }
    event = delivery.event
    if event is not None:
        subscription = event.subscription
        values["product.name"] = subscription.plan.product.name
        values["plan.name"] = subscription.plan.name
        values["subscription.status"] = subscription.get_status_display()
    elif delivery.rule.product is not None:
        values["product.name"] = delivery.rule.product.name
    return values


def action_perform(
    delivery: SegmentationDelivery, *, providers: dict[int, Any] | None = None
) -> Outcome:
    """Run one delivery's action once (no retry here). Never raises for provider errors.
    `providers` caches adapters by integration id across a batch (credentials are
    decrypted once).

    The action is the adapter's alone (see notifications.providers.base): `add_to_list`
    adds, `add_tag` tags, `remove_*` only remove. A provider error reaches the delivery
    log and the rule's alert with the provider's field-level details.
    """
    action = delivery.action
    if action["type"] == "send_email":
        values = _placeholder_values(delivery)
        try:
            email_send(
                to=delivery.contact_email,
                template="segmentation_email",
                context={
                    "subject": render(action["subject"], values),
                    "body": render(action["body"], values),
                    "creator_name": delivery.creator.name,
                },
                locale=delivery.contact_locale or delivery.creator.locale,
            )
        except Exception as exc:  # the ESP's failure is transient as far as we can tell
            return Outcome(ok=False, error=f"email not sent: {exc}"[:2000])
        return Outcome(ok=True)
    integration = delivery.integration
    if integration is None:
        return Outcome(ok=False, permanent=True, error="the integration was deleted")
    contact = Contact.from_name(
        email=delivery.contact_email, name=delivery.contact_name, locale=delivery.contact_locale
    )
    list_id = action.get("list")
    try:
        provider = (providers or {}).get(integration.pk) or provider_for(integration)
        if providers is not None:
            providers[integration.pk] = provider
        # An earlier attempt may have reached the provider without us learning it (its
        # worker died mid-call, or the answer timed out): ask before acting again.
        if delivery.attempts > 1 and provider.action_applied(
            action["type"], contact, list_id=list_id, tag=action.get("tag", "")
        ):
            logger.info(
                "segmentation delivery %s: already applied at the provider, not sent again",
                delivery.pk,
            )
            return Outcome(ok=True)
        # Each action is self-contained (creating the contact only where it must, with the
        # integration's status for new contacts): nothing is upserted first, so a removal
        # never creates anyone and a tag never subscribes anyone.
        if action["type"] == "add_to_list":
            provider.add_to_list(contact, list_id)
        elif action["type"] == "remove_from_list":
            provider.remove_from_list(contact, list_id)
        elif action["type"] == "add_tag":
            provider.add_tag(contact, action["tag"], list_id)
        else:
            provider.remove_tag(contact, action["tag"], list_id)
    except ProviderError as exc:
        return Outcome(
            ok=False,
            error=exc.message[:2000],
            provider_status=exc.status,
            permanent=exc.permanent or exc.auth,
            auth=exc.auth,
            retry_after=exc.retry_after,
        )
    except LookupError as exc:
        return Outcome(ok=False, permanent=True, error=str(exc))
    except Exception as exc:  # a bug or network failure the adapter did not wrap: retry
        logger.exception("segmentation delivery %s: unexpected error", delivery.pk)
        return Outcome(ok=False, error=f"unexpected error: {exc!r}"[:2000])
    return Outcome(ok=True)


def retry_delay(*, attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter (random in [0, base·2^(n-1)], capped at an
    hour), never sooner than the provider's `Retry-After`, at least one second."""
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    delay = random.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return max(delay, 1.0)


def _rule_flag(rule_id: int, message: str) -> None:
    SegmentationRule.objects.filter(pk=rule_id).update(
        status=SegmentationRule.Health.ERROR, last_error=message[:2000], updated_at=timezone.now()
    )


def _integration_flag(integration: Integration, outcome: Outcome) -> None:
    detail = f"HTTP {outcome.provider_status}: {outcome.error}" if outcome.provider_status else ""
    now = timezone.now()
    Integration.objects.filter(pk=integration.pk).update(
        status=Integration.Status.ERROR, last_error=outcome.error[:2000], last_checked_at=now
    )
    SegmentationRule.objects.filter(integrations=integration).update(
        status=SegmentationRule.Health.ERROR,
        last_error=_integration_alert(integration, detail)[:2000],
        error_integration=integration,
        updated_at=now,
    )


@transaction.atomic
def delivery_record_outcome(
    *, delivery: SegmentationDelivery, outcome: Outcome, now: datetime | None = None
) -> str:
    """Write an attempt's outcome on the row that this attempt claimed (status `sending`,
    same attempt number: a stale attempt recovered by the job cannot overwrite a newer one).

    success → succeeded; auth (401/403) → failed, the integration and every rule using it
    `error`; other permanent (400/404/422) → failed and the rule flagged; transient →
    retrying at now + `retry_delay`, or gave_up once that passes 24 h after creation.
    Test sends are never retried: a transient error is their final `failed`.
    """
    now = now or timezone.now()
    S = SegmentationDelivery.Status
    fields: dict[str, Any] = {"provider_status": outcome.provider_status, "error": outcome.error}
    if outcome.ok:
        fields.update(status=S.SUCCEEDED, finished_at=now, next_attempt_at=None, error="")
    elif outcome.permanent or delivery.is_test:
        fields.update(status=S.FAILED, finished_at=now, next_attempt_at=None)
    else:
        due = now + timedelta(
            seconds=retry_delay(attempts=delivery.attempts, retry_after=outcome.retry_after)
        )
        if due > delivery.created_at + GIVE_UP_AFTER:
            fields.update(status=S.GAVE_UP, finished_at=now, next_attempt_at=None)
            fields["error"] = f"gave up after {delivery.attempts} attempts: {outcome.error}"
        else:
            fields.update(status=S.RETRYING, next_attempt_at=due)
    written = SegmentationDelivery.objects.filter(
        pk=delivery.pk, creator_id=delivery.creator_id, status=S.SENDING, attempts=delivery.attempts
    ).update(**fields)
    if not written:
        return "superseded"
    if outcome.auth and delivery.integration is not None:
        _integration_flag(delivery.integration, outcome)
    elif outcome.permanent and not delivery.is_test:
        status = f" (HTTP {outcome.provider_status})" if outcome.provider_status else ""
        _rule_flag(
            delivery.rule_id,
            f"actions[{delivery.action_index}] ({delivery.action_type}) failed for "
            f"{delivery.contact_email}{status}: {outcome.error}",
        )
    return str(fields["status"])


ATTEMPT_RELATED = ("rule__product", "creator", "integration", "event__subscription__plan__product")


def deliveries_claim(*, delivery_ids: list[int]) -> list[SegmentationDelivery]:
    """Claim pending deliveries for one attempt each (pending → sending, attempts + 1),
    skipping rows another worker holds; returns the claimed rows, loaded with what an
    attempt needs, in id order. Rows done, gone or claimed elsewhere are left out.

    One claim (core.claims): a transaction with a locking SELECT and an UPDATE took
    four round trips."""
    S = SegmentationDelivery.Status
    ids = [
        row[0]
        for row in claim_rows(
            SegmentationDelivery,
            ids=delivery_ids,
            where={"status": S.PENDING},
            set={"status": S.SENDING, "started_at": timezone.now()},
            increment=("attempts",),
            skip_locked=True,
        )
    ]
    if not ids:
        return []
    return list(
        SegmentationDelivery.objects.select_related(*ATTEMPT_RELATED)
        .filter(pk__in=ids)
        .order_by("pk")
    )


def delivery_claim(*, delivery_id: int) -> SegmentationDelivery | None:
    """Claim one pending delivery (see `deliveries_claim`); None if it is not claimable."""
    claimed = deliveries_claim(delivery_ids=[delivery_id])
    return claimed[0] if claimed else None


def _deliveries_record_success(deliveries: list[SegmentationDelivery]) -> None:
    """Record the successes of one batch in one UPDATE; each row only if it is still the
    attempt this batch claimed (same status and claim time)."""
    S = SegmentationDelivery.Status
    by_claim: dict[datetime | None, list[int]] = {}
    for delivery in deliveries:
        by_claim.setdefault(delivery.started_at, []).append(delivery.pk)
    now = timezone.now()
    for started_at, ids in by_claim.items():
        SegmentationDelivery.objects.filter(
            pk__in=ids, status=S.SENDING, started_at=started_at
        ).update(
            status=S.SUCCEEDED,
            finished_at=now,
            next_attempt_at=None,
            error="",
            provider_status=None,
        )


def deliveries_attempt(*, delivery_ids: list[int]) -> dict[int, str]:
    """One attempt of each queued delivery: claim them together, call the provider for
    each, record the outcomes (successes in one write). Returns {id: outcome} for the
    deliveries this call claimed.

    An attempt whose worker died after the provider received the call but before the
    outcome was written is recovered after 5 minutes; the next attempt (like every retry)
    first asks the provider whether the action already took effect
    (`EmailMarketingProvider.action_applied`), so the contact is not acted on twice."""
    claimed = deliveries_claim(delivery_ids=delivery_ids)
    providers: dict[int, Any] = {}
    results: dict[int, str] = {}
    succeeded: list[SegmentationDelivery] = []
    for delivery in claimed:
        outcome = action_perform(delivery, providers=providers)
        if outcome.ok:
            succeeded.append(delivery)
            results[delivery.pk] = SegmentationDelivery.Status.SUCCEEDED
        else:
            results[delivery.pk] = delivery_record_outcome(delivery=delivery, outcome=outcome)
    _deliveries_record_success(succeeded)
    return results


def delivery_attempt(*, delivery_id: int) -> str | None:
    """One attempt of one queued delivery (see `deliveries_attempt`); None if it was not
    claimable (done, gone, or another worker has it)."""
    return deliveries_attempt(delivery_ids=[delivery_id]).get(delivery_id)


# --- send test -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestOutcome:
    action_index: int
    type: str
    ok: bool
    error: str
    provider_status: int | None
    delivery: SegmentationDelivery


def rule_send_test(*, rule: SegmentationRule, email: str, name: str = "") -> list[TestOutcome]:
    """Run every action of the rule now, for a test contact, and report each outcome.

    Synchronous by design (the creator is waiting for the answer); each action is logged
    as an `is_test` delivery. Failures are not retried; an auth failure still marks the
    integration (and its rules) `error`, but a rejected test contact does not flag the rule.
    """
    integrations = {str(i.uuid): i for i in rule.integrations.all()}
    results: list[TestOutcome] = []
    for index, action in enumerate(rule.actions):
        delivery = SegmentationDelivery.objects.create(
            creator=rule.creator,
            rule=rule,
            integration=integrations.get(action.get("integration", "")),
            action_index=index,
            action_type=action["type"],
            action=action,
            contact_email=email,
            contact_name=name,
            contact_locale=rule.creator.locale,
            status=SegmentationDelivery.Status.SENDING,
            attempts=1,
            started_at=timezone.now(),
            is_test=True,
        )
        outcome = action_perform(delivery)
        delivery_record_outcome(delivery=delivery, outcome=outcome)
        delivery.refresh_from_db()
        results.append(
            TestOutcome(
                action_index=index,
                type=action["type"],
                ok=outcome.ok,
                error=outcome.error,
                provider_status=outcome.provider_status,
                delivery=delivery,
            )
        )
    return results
