"""The audit log: who changed what, when, from where, and the content before and after.

The model was part of ``adminconsole`` until it moved here; its table keeps its old name.
"""
from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One write made through the console, the REST API or a service that knows its actor.

    ``before``/``after`` are JSON snapshots of the target (null on creation/deletion). The
    target is recorded by type, id and a readable label so the entry outlives the object.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    actor_name = models.CharField(max_length=150, blank=True)  # kept when the user is deleted
    action = models.CharField(max_length=64, db_index=True)  # e.g. "faq.update", "kiosk.pairing_code"
    target_type = models.CharField(max_length=64, db_index=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "adminconsole_auditentry"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.target_type}:{self.target_id}"
