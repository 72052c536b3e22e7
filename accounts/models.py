from __future__ import annotations

import uuid
import zoneinfo

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.crypto import EncryptedJSONField
from core.tenancy import TenantManager


class EmailUserManager(UserManager["User"]):
    def _create_user_object(self, username, email, password, **extra_fields):  # type: ignore[no-untyped-def, override]
        email = self.normalize_email(email or username)
        user = self.model(email=email, **extra_fields)
        user.password = ""
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        return user

    def create_user(self, email=None, password=None, **extra_fields):  # type: ignore[no-untyped-def, override]
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        user = self._create_user_object(None, email, password, **extra_fields)
        user.save(using=self._db)
        return user

    def create_superuser(self, email=None, password=None, **extra_fields):  # type: ignore[no-untyped-def, override]
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in: a creator's team member, or support staff (is_staff)."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []  # type: ignore[misc]

    objects = EmailUserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


def default_retry_schedule() -> list[int]:
    return [1, 3, 5]


def validate_retry_schedule(value: object) -> None:
    if (
        not isinstance(value, list)
        or not value
        or len(value) > 10
        or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 60 for d in value)
        or sorted(set(value)) != value
    ):
        raise ValidationError(
            _("Retry schedule must be increasing whole days after the due date, e.g. [1, 3, 5].")
        )


class Creator(models.Model):
    """A tenant: one creator's workspace. Every tenant-owned row points here."""

    class Locale(models.TextChoices):
        PT_BR = "pt-BR", "Português (Brasil)"
        EN = "en", "English"

    class Gateway(models.TextChoices):
        SANDBOX = "sandbox", _("Sandbox")
        STRIPE = "stripe", _("Stripe")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="America/Sao_Paulo", validators=[validate_time_zone]
    )
    locale = models.CharField(
        _("locale"), max_length=5, choices=Locale.choices, default=Locale.PT_BR
    )
    currency = models.CharField(_("currency"), max_length=3, default="BRL")
    retry_schedule = models.JSONField(
        _("retry schedule (days after due date)"),
        default=default_retry_schedule,
        validators=[validate_retry_schedule],
    )
    gateway = models.CharField(
        _("payment gateway"), max_length=20, choices=Gateway.choices, default=Gateway.SANDBOX
    )
    gateway_credentials = EncryptedJSONField(default=dict, blank=True)
    # Set when the gateway refused the creator's own credentials (e.g. a revoked Stripe key):
    # shown to the creator, cleared when the gateway is configured again or a charge succeeds.
    gateway_error = models.CharField(_("payment gateway error"), max_length=500, blank=True)
    gateway_error_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("gateway error at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("creator")
        verbose_name_plural = _("creators")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    VIEWER = "viewer", _("Viewer")


WRITE_ROLES = frozenset({Role.OWNER, Role.MANAGER})
ROLE_RANK = {Role.VIEWER: 0, Role.MANAGER: 1, Role.OWNER: 2}


def weaker_role(first: str, second: str) -> Role:
    """The lesser of two roles: what a key may do when its holder's role has changed."""
    return min(Role(first), Role(second), key=ROLE_RANK.__getitem__)


class Membership(models.Model):
    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("creator")
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    role = models.CharField(
        max_length=10, choices=Role.choices, default=Role.VIEWER, verbose_name=_("role")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["creator", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.creator} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES


class ApiKey(models.Model):
    """A team member's API key for one creator. Only its SHA-256 is stored; the key is
    shown once.

    The key belongs to the member who created it (`created_by`): it works only while that
    person is a member of the creator, and never grants more than the member's current
    role (a manager demoted to viewer holds a read-only key). Removing the member revokes
    their keys (see docs/reliability.md, "API keys").
    """

    creator = models.ForeignKey(
        Creator, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("creator")
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("uuid"))
    name = models.CharField(max_length=100, default="API key", verbose_name=_("name"))
    role = models.CharField(
        max_length=10, choices=Role.choices, default=Role.MANAGER, verbose_name=_("role")
    )
    prefix = models.CharField(max_length=24, db_index=True, verbose_name=_("prefix"))
    key_hash = models.CharField(max_length=64, unique=True, verbose_name=_("key hash"))
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.creator})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    def effective_role(self, holder_role: str | None) -> Role | None:
        """What the key may do given its holder's current role (None: not a member)."""
        if holder_role is None:
            return None
        return weaker_role(self.role, holder_role)


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, kept for 24 hours so a
    retried request is answered again instead of charging twice.

    `status_code` is null while the first request is still running (a concurrent
    duplicate then gets 409). Keys are per creator: two creators may use the same key.
    """

    creator = models.ForeignKey(
        Creator,
        on_delete=models.CASCADE,
        related_name="idempotency_records",
        verbose_name=_("creator"),
    )
    key = models.CharField(max_length=255, verbose_name=_("key"))
    # SHA-256 of method, path and the canonical JSON body: same key + other body → 422.
    request_fingerprint = models.CharField(max_length=64, verbose_name=_("request fingerprint"))
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("status code")
    )
    response_body = models.JSONField(null=True, blank=True, verbose_name=_("response body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("expires at"))

    objects = TenantManager()

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["creator", "key"], name="idempotency_key_per_creator")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.creator_id})"
