"""Venues, avatars, voices and kiosk devices.

Conversation records (conversations, turns, clips, timings, QA scores) are added with the
runtime that writes them.
"""
from django.conf import settings
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
    state = models.CharField(max_length=16, blank=True)  # the avatar's last reported state (idle, speaking ...)
    created_at = models.DateTimeField(auto_now_add=True)
    # Pairing: a one-time code (shown in the console) is exchanged once for a device token; only
    # hashes are stored. Rotating or revoking the token unpairs the screen.
    pairing_code_hash = models.CharField(max_length=64, blank=True)
    pairing_expires_at = models.DateTimeField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    paired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    """One customer's visit to a kiosk, from the first word to inactivity or hand-off."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"
        ABORTED = "aborted", "Aborted"  # the worker died or the kiosk went away mid-conversation

    public_id = models.UUIDField(unique=True)
    kiosk = models.ForeignKey(Kiosk, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    languages = models.JSONField(default=list, blank=True)
    handoff_requested = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"conversation {self.public_id}"


class Turn(models.Model):
    """What the customer said, or what the avatar answered, with everything needed to review it."""

    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AVATAR = "avatar", "Avatar"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    public_id = models.UUIDField(unique=True)
    index = models.PositiveIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    asr_confidence = models.FloatField(null=True, blank=True)
    retrieved = models.JSONField(default=list, blank=True)  # [{"key": ..., "score": ...}]
    answerable = models.BooleanField(null=True, blank=True)
    answer_backend = models.CharField(max_length=32, blank=True)
    voice = models.CharField(max_length=100, blank=True)
    complete = models.BooleanField(default=False)  # false while the avatar is still speaking it
    interrupted = models.BooleanField(default=False)
    heard_text = models.TextField(blank=True)  # what the customer actually heard before a barge-in
    timings = models.JSONField(default=dict, blank=True)  # stage -> milliseconds
    audio_clip = models.FileField(upload_to="clips/customer/%Y/%m/%d/", blank=True)
    answer_clip = models.FileField(upload_to="clips/answer/%Y/%m/%d/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["conversation", "index"]
        constraints = [models.UniqueConstraint(fields=["conversation", "index"], name="turn_unique_index")]

    def __str__(self) -> str:
        return f"{self.role} turn {self.index}"


class HandoffRequest(models.Model):
    """The customer pressed "talk to staff" (or the avatar offered it)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handoffs")
    kiosk = models.ForeignKey(Kiosk, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"hand-off {self.pk}"


class TurnQaScore(models.Model):
    """A lip-sync score of one avatar answer's rendered clip (or why it could not be scored).

    ``offset_frames > 0``: the audio is later than the lips (``avatar_runtime.qa.base``). The avatar,
    voice and language are copied from the turn at scoring time, so summaries stay right after
    a kiosk switches avatars.
    """

    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="qa_scores")
    scorer = models.CharField(max_length=16)
    offset_frames = models.IntegerField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    min_dist = models.FloatField(null=True, blank=True)
    avatar = models.ForeignKey(Avatar, null=True, blank=True, on_delete=models.SET_NULL, related_name="qa_scores")
    voice = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=8, blank=True)
    error_code = models.CharField(max_length=32, blank=True)  # empty when scored
    error = models.CharField(max_length=300, blank=True)
    scored_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-scored_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["turn", "scorer"], name="turnqascore_unique_turn_scorer")]
        indexes = [
            models.Index(fields=["avatar", "scorer", "scored_at"], name="turnqascore_avatar_idx"),
            models.Index(fields=["voice", "scorer", "scored_at"], name="turnqascore_voice_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.scorer} score of turn {self.turn_id}"


class QaFlag(models.Model):
    """Lip sync went bad for an avatar or a voice: raised by the rolling summary, acknowledged by a supervisor."""

    class Subject(models.TextChoices):
        AVATAR = "avatar", "Avatar"
        VOICE = "voice", "Voice"

    class Reason(models.TextChoices):
        LOW_CONFIDENCE = "low_confidence", "Low sync confidence"
        OFFSET = "offset", "Audio/lip offset"

    subject = models.CharField(max_length=8, choices=Subject.choices)
    subject_key = models.CharField(max_length=100)  # the avatar's id or the voice ("backend:name")
    subject_label = models.CharField(max_length=200)
    scorer = models.CharField(max_length=16)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    mean_confidence = models.FloatField()
    mean_abs_offset = models.FloatField()
    threshold = models.FloatField()  # the confidence threshold, or the offset limit, that was crossed
    window = models.PositiveIntegerField()  # scores in the rolling summary
    turn = models.ForeignKey(Turn, null=True, blank=True, on_delete=models.SET_NULL, related_name="qa_flags")
    raised_at = models.DateTimeField(db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            # one open flag per problem: further bad scores update it instead of piling up
            models.UniqueConstraint(fields=["subject", "subject_key", "scorer", "reason"],
                                    condition=models.Q(acknowledged_at__isnull=True), name="qaflag_one_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} for {self.subject} {self.subject_label}"
class TranscriptAccess(models.Model):
    """A supervisor read a conversation, listened to a clip or exported transcripts.

    Ids are copied rather than linked, so the record of who read what outlives the conversation
    when retention purges it.
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed a conversation"
        CLIP = "clip", "Played a clip"
        EXPORT = "export", "Exported transcripts"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150)  # kept when the user is deleted
    action = models.CharField(max_length=16, choices=Action.choices)
    conversation_public_id = models.UUIDField(null=True, blank=True, db_index=True)
    turn_public_id = models.UUIDField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # the clip kind, an export's filters and row count, the channel
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} {self.action} {self.created_at:%Y-%m-%d %H:%M}"
