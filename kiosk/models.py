"""Venues, avatars, voices and kiosk devices.

Conversation records (conversations, turns, clips, timings, QA scores) are added with the
runtime that writes them.
"""
from django.db import models

from common.languages import KIOSK_LANGUAGES, LANGUAGE_CHOICES


def _all_languages() -> list[str]:
    return list(KIOSK_LANGUAGES)


class Venue(models.Model):
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Avatar(models.Model):
    """A face the kiosk shows: a portrait photo (or short clip) prepared for the renderers."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        PREPARING = "preparing", "Preparing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=100)
    source = models.FileField(upload_to="avatars/")
    license_note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    # Pixel boxes [x1, y1, x2, y2] in the source image, found at preparation; staff may adjust.
    face_box = models.JSONField(null=True, blank=True)
    mouth_box = models.JSONField(null=True, blank=True)
    preparation_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
        ordering = ["language"]

    def __str__(self) -> str:
        return f"{self.language}: {self.backend}/{self.voice_name}"


class Kiosk(models.Model):
    """A paired screen at a venue: which avatar it shows and which languages it offers."""

    name = models.CharField(max_length=100)
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="kiosks")
    location = models.CharField(max_length=200, blank=True)
    avatar = models.ForeignKey(Avatar, null=True, blank=True, on_delete=models.SET_NULL, related_name="kiosks")
    languages = models.JSONField(default=_all_languages)
    default_language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, default="en")
    greetings = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
