"""Conversation records: conversations, their turns (with clips and timings), hand-off
requests, and the log of supervisors' access to them.

These models were part of ``kiosk`` until they moved here; their tables keep their old names
(``db_table``), so the move copied no rows.
"""
from django.conf import settings
from django.db import models


class Conversation(models.Model):
    """One customer's visit to a kiosk, from the first word to inactivity or hand-off."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"
        ABORTED = "aborted", "Aborted"  # the worker died or the kiosk went away mid-conversation

    public_id = models.UUIDField(unique=True)
    kiosk = models.ForeignKey("kiosk.Kiosk", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    languages = models.JSONField(default=list, blank=True)
    handoff_requested = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        db_table = "kiosk_conversation"
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
    # The language's voice as the answer began ("backend:name"): the configured one, unless this host cannot use it.
    voice = models.CharField(max_length=100, blank=True)
    # The voice that actually spoke the answer: the fallback's when the configured one failed
    # (the one that spoke most of it when the fallback took over part-way); lip-sync QA uses it.
    spoken_voice = models.CharField(max_length=100, blank=True)
    complete = models.BooleanField(default=False)  # false while the avatar is still speaking it
    interrupted = models.BooleanField(default=False)
    heard_text = models.TextField(blank=True)  # what the customer actually heard before a barge-in
    timings = models.JSONField(default=dict, blank=True)  # stage -> milliseconds
    audio_clip = models.FileField(upload_to="clips/customer/%Y/%m/%d/", blank=True)
    answer_clip = models.FileField(upload_to="clips/answer/%Y/%m/%d/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "kiosk_turn"
        ordering = ["conversation", "index"]
        constraints = [models.UniqueConstraint(fields=["conversation", "index"], name="turn_unique_index")]

    def __str__(self) -> str:
        return f"{self.role} turn {self.index}"


class HandoffRequest(models.Model):
    """The customer pressed "talk to staff" (or the avatar offered it), and what staff did about it.

    Open until staff accept it, close it (resolved, or nobody available), or nobody accepted it
    within ``HANDOFF_ACCEPT_MINUTES`` (missed). ``resolved_at``/``resolved_by`` record whichever
    closed it.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for staff"
        ACCEPTED = "accepted", "Staff on the way"
        RESOLVED = "resolved", "Resolved"
        UNAVAILABLE = "unavailable", "Nobody available"
        MISSED = "missed", "Not answered in time"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handoffs")
    kiosk = models.ForeignKey("kiosk.Kiosk", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        db_table = "kiosk_handoffrequest"

    def __str__(self) -> str:
        return f"hand-off {self.pk}"


# Requests staff still have to act on: the desk lists them; the badge counts the open ones.
HANDOFF_PENDING = (HandoffRequest.Status.OPEN, HandoffRequest.Status.ACCEPTED)


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
        db_table = "kiosk_transcriptaccess"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} {self.action} {self.created_at:%Y-%m-%d %H:%M}"
