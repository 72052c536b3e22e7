from __future__ import annotations

from django.db import models


class OutboxEmail(models.Model):
    """An email captured by the development backend, listed at /dev/outbox/ (DEBUG only)."""

    to = models.JSONField(default=list)
    from_email = models.CharField(max_length=254)
    subject = models.CharField(max_length=998)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"
