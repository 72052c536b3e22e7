from __future__ import annotations

from django.db import models

from accounts.tenancy import TenantManager


class SubscriberSignInToken(models.Model):
    """A one-hour link that signs a subscriber in to the manage page (SPEC §7.2).

    Only the SHA-256 of the token is stored; the token itself is in the email alone.
    Single purpose (this table is used for nothing else) and single use (`used_at`).
    """

    creator = models.ForeignKey(
        "accounts.Creator", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.CASCADE, related_name="sign_in_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        indexes = [models.Index(fields=["creator", "expires_at"], name="signin_creator_expires")]

    def __str__(self) -> str:
        return f"sign-in for subscriber {self.subscriber_id} until {self.expires_at:%Y-%m-%d %H:%M}"
