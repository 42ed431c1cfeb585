"""Alerts for a customer's call for staff beyond the console: e-mail and a signed webhook per venue.

The webhook is a JSON POST signed with the venue's secret: ``X-Kiosk-Timestamp`` (Unix seconds) and
``X-Kiosk-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``, so a receiver can check
both where it came from and that it is fresh. A failed attempt (a network error or a non-2xx
answer) is retried after each of ``HANDOFF_WEBHOOK_RETRY_DELAYS``. Runs as a background job.
"""
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from conversations.models import HandoffRequest
from kiosk.models import Venue

log = logging.getLogger(__name__)
USER_AGENT = "kiosk-avatar-handoff/1"


def venue_alerts_configured(venue: Venue) -> bool:
    return bool(venue.handoff_emails.strip() or venue.handoff_webhook_url)


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_post(*, url: str, secret: str, payload: dict[str, Any]) -> bool:
    """POST ``payload``, retrying on failure; True once the receiver answered 2xx."""
    if not url.startswith(("https://", "http://")):
        log.warning("hand-off webhook: only http(s) URLs are called")
        return False
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    delays = [0.0, *settings.HANDOFF_WEBHOOK_RETRY_DELAYS]
    for attempt, delay in enumerate(delays, start=1):
        time.sleep(delay)
        timestamp = str(int(time.time()))
        request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310 - http(s) only
            "Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Kiosk-Timestamp": timestamp,
            "X-Kiosk-Signature": webhook_signature(secret=secret, timestamp=timestamp, body=body)})
        try:
            with urllib.request.urlopen(request, timeout=settings.HANDOFF_WEBHOOK_TIMEOUT) as response:  # noqa: S310 - http(s) only
                if 200 <= response.status < 300:
                    return True
                problem = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            problem = type(exc).__name__
        log.warning("hand-off webhook attempt %d/%d failed: %s", attempt, len(delays), problem)
    return False


def _payload(handoff: HandoffRequest) -> dict[str, Any]:
    kiosk = handoff.kiosk
    return {"event": "handoff.requested", "id": handoff.pk, "created_at": handoff.created_at.isoformat(),
            "kiosk": kiosk.name if kiosk else "", "location": kiosk.location if kiosk else "",
            "venue": kiosk.venue.name if kiosk else "", "languages": list(handoff.conversation.languages)}


def handoff_alert_send(*, handoff_id: int) -> dict[str, bool]:
    """Send the venue's alerts for one request; what was sent (a request staff already answered is not)."""
    handoff = HandoffRequest.objects.select_related("kiosk__venue", "conversation").filter(pk=handoff_id).first()
    if handoff is None or handoff.kiosk is None or handoff.status != HandoffRequest.Status.OPEN:
        return {}
    venue, payload = handoff.kiosk.venue, _payload(handoff)
    sent: dict[str, bool] = {}
    addresses = [a.strip() for a in venue.handoff_emails.split(",") if a.strip()]
    if addresses:
        place = " · ".join(part for part in (payload["kiosk"], payload["location"], payload["venue"]) if part)
        sent["email"] = bool(send_mail(
            f"A customer is asking for staff: {place}",
            f"A customer at {place} pressed \"Talk to staff\". Accept it on the console's hand-off desk, "
            f"or mark that nobody is available, so the kiosk can tell them.", None, addresses))
    if venue.handoff_webhook_url:
        sent["webhook"] = webhook_post(url=venue.handoff_webhook_url, secret=venue.handoff_webhook_secret,
                                       payload=payload)
    return sent
