from __future__ import annotations

from django_filters import rest_framework as filters

from subscriptions.models import CancellationSource, Status, Subscription


class SubscriptionFilter(filters.FilterSet):
    """Filters of `GET /subscriptions` (SPEC §10). A bad value (unknown status, malformed
    uuid) is a 400 naming the parameter; a product or plan of another creator simply
    matches nothing, since the queryset is already scoped to the caller."""

    status = filters.ChoiceFilter(choices=Status.choices)
    product = filters.UUIDFilter(field_name="plan__product__uuid")
    plan = filters.UUIDFilter(field_name="plan__uuid")
    email = filters.CharFilter(field_name="subscriber__email", lookup_expr="iexact", max_length=254)
    cancellation_source = filters.ChoiceFilter(choices=CancellationSource.choices)

    class Meta:
        model = Subscription
        fields = ["status", "product", "plan", "email", "cancellation_source"]
