"""Lip-sync QA: the score of each rendered answer, and the flags rolling summaries raise.

These models were part of ``kiosk`` until they moved here; their tables keep their old names
(``db_table``), so the move copied no rows.
"""
from django.conf import settings
from django.db import models

from avatars.models import Avatar
from conversations.models import Turn


class TurnQaScore(models.Model):
    """A lip-sync score of one avatar answer's rendered clip (or why it could not be scored).

    ``offset_frames > 0``: the audio is later than the lips (``avatar_runtime.qa.base``). The avatar,
    voice and language are copied from the turn at scoring time, so summaries stay right after
    a kiosk switches avatars. The voice is the one that spoke (``Turn.spoken_voice``), not the one
    configured, which a fallback may have stood in for; turns saved before voices were recorded
    give their configured voice.
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
        db_table = "kiosk_turnqascore"
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
        db_table = "kiosk_qaflag"
        ordering = ["-raised_at", "-id"]
        constraints = [
            # one open flag per problem: further bad scores update it instead of piling up
            models.UniqueConstraint(fields=["subject", "subject_key", "scorer", "reason"],
                                    condition=models.Q(acknowledged_at__isnull=True), name="qaflag_one_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} for {self.subject} {self.subject_label}"
