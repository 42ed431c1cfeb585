"""Venues and kiosk devices: where a screen stands, the avatar it shows, its languages, its pairing."""
from django.db import models

from avatars.models import Avatar
from common.languages import KIOSK_LANGUAGES, LANGUAGE_CHOICES
from common.timezones import default_time_zone, validate_time_zone

MICROPHONE_PROBLEMS = ("denied", "missing", "failed")


def _all_languages() -> list[str]:
    return list(KIOSK_LANGUAGES)


class Venue(models.Model):
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The console shows this venue's times (its conversations, hand-offs, kiosks) in its local time.
    time_zone = models.CharField(max_length=64, default=default_time_zone, validators=[validate_time_zone],
                                 help_text="An IANA time zone name, such as Asia/Hong_Kong.")
    # Alerts for a customer's call for staff besides the console's desk (kiosk/handoff_alerts.py).
    handoff_emails = models.CharField(max_length=500, blank=True, help_text="Comma-separated addresses.")
    handoff_webhook_url = models.URLField(blank=True)
    handoff_webhook_secret = models.CharField(max_length=200, blank=True,
                                              help_text="Signs each webhook body (HMAC-SHA256).")

    def __str__(self) -> str:
        return self.name


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
    # What the page last said of its microphone: "" (working, or not reported yet) or a problem
    # (MICROPHONE_PROBLEMS); with one, customers can only type, and the console says so.
    microphone = models.CharField(max_length=16, blank=True)
    page_closed_at = models.DateTimeField(null=True, blank=True)  # its page's connection ended (not replaced)
    # How its session is served: "" (in full), "busy" (no worker had room: waiting for one),
    # "reduced_video" or "voice_only" (degraded under load, see avatar_runtime/capacity/degrade.py).
    service = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Pairing: a one-time code (shown in the console) is exchanged once for a device token; only
    # hashes are stored. Rotating or revoking the token unpairs the screen.
    pairing_code_hash = models.CharField(max_length=64, blank=True)
    pairing_expires_at = models.DateTimeField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    paired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
