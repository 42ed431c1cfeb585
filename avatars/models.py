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


class AnswerAudio(models.Model):
    """One sentence of a knowledge-base answer, spoken ahead of time by one voice (``avatars.answer_audio``).

    ``key`` is the content address (``avatar_runtime.tts.answer_cache.speech_key``: backend, voice,
    rate, pitch, language, exact text); the file is FLAC at the pipeline's rate in media storage.
    """

    key = models.CharField(max_length=64, unique=True)
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, db_index=True)
    backend = models.CharField(max_length=32)
    voice_name = models.CharField(max_length=100)
    text = models.TextField()
    file = models.FileField(upload_to="answer-audio/", max_length=200)
    size = models.PositiveIntegerField(default=0, help_text="Bytes of the audio file.")
    seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)
    # Least recently used entries go first when the cache outgrows ANSWER_AUDIO_CACHE_MAX_BYTES.
    last_used_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.language} {self.backend}:{self.voice_name} {self.key[:12]}"


class AnswerAudioState(models.Model):
    """The answer audio cache job's last outcome for one language (the console's voice page shows it)."""

    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, unique=True)
    last_built_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.language}: {self.last_error or 'ok'}"
