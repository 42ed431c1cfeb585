"""Avatars (the faces a kiosk shows, prepared for the renderers) and the voice per language.

These models were part of ``kiosk`` until they moved here; their tables keep their old names
(``db_table``), so the move copied no rows.
"""
from django.db import models

from common.languages import LANGUAGE_CHOICES


class Avatar(models.Model):
    """A face the kiosk shows: a portrait photo (or short clip) prepared for the renderers."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        PREPARING = "preparing", "Preparing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=100)
    # The still the renderer animates: the uploaded photo, or the frame preparation chose from ``video``.
    source = models.FileField(upload_to="avatars/", blank=True)
    video = models.FileField(upload_to="avatars/video/", blank=True)
    license_note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    # Pixel boxes [x1, y1, x2, y2] in the source image, found at preparation; staff may adjust.
    face_box = models.JSONField(null=True, blank=True)
    mouth_box = models.JSONField(null=True, blank=True)
    mouth_confidence = models.FloatField(null=True, blank=True)  # 1.0 once staff set the mouth box
    preview_clip = models.FileField(upload_to="avatars/preview/", blank=True)
    preparation_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "kiosk_avatar"

    def __str__(self) -> str:
        return self.name


class VoiceSetting(models.Model):
    """The voice the avatar speaks a language with, and the offline voice it falls back to."""

    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, unique=True)
    backend = models.CharField(max_length=32, default="offline")
    voice_name = models.CharField(max_length=100)
    rate = models.FloatField(default=1.0)
    pitch = models.FloatField(default=0.0)
    fallback_backend = models.CharField(max_length=32, default="offline")
    fallback_voice_name = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "kiosk_voicesetting"
        ordering = ["language"]

    def __str__(self) -> str:
        return f"{self.language}: {self.backend}/{self.voice_name}"
