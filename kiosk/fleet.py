"""Kiosks as the console manages them: settings, pairing codes, device tokens, status, deletion
(and deleting an avatar, which must not vanish from under a kiosk).

Writes are audited. A pairing code is shown once and never stored or logged in clear (the
audit entry says that a code was issued, not which).
"""
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from audit.log import audit_record
from avatars.models import Avatar
from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES
from conversations.models import Conversation
from kiosk.models import Kiosk, Venue
from kiosk.pairing import PAIRING_TTL, kiosk_pairing_code_create, kiosk_token_revoke

Actor = AbstractBaseUser | AnonymousUser | None
MAX_GREETING = 300


@dataclass(frozen=True)
class KioskData:
    name: str
    venue_name: str
    location: str = ""
    languages: list[str] = field(default_factory=lambda: list(KIOSK_LANGUAGES))
    default_language: str = "en"
    greetings: dict[str, str] = field(default_factory=dict)
    avatar_id: int | None = None
    enabled: bool = True


def kiosk_snapshot(kiosk: Kiosk) -> dict[str, object]:
    return {"name": kiosk.name, "venue": kiosk.venue.name, "location": kiosk.location, "languages": list(kiosk.languages),
            "default_language": kiosk.default_language, "greetings": dict(kiosk.greetings), "avatar": kiosk.avatar_id,
            "enabled": kiosk.enabled, "paired": bool(kiosk.token_hash)}


def _clean(data: KioskData) -> KioskData:
    errors: dict[str, str] = {}
    name, venue_name = data.name.strip(), data.venue_name.strip()
    if not name or len(name) > 100:
        errors["name"] = "A name of at most 100 characters is required."
    if not venue_name or len(venue_name) > 200:
        errors["venue_name"] = "A venue of at most 200 characters is required."
    languages: list[str] = [code for code in KIOSK_LANGUAGES if code in data.languages]
    if not languages or len(languages) != len(set(data.languages)):
        errors["languages"] = f"Choose one or more of {', '.join(KIOSK_LANGUAGES)}."
    if data.default_language not in languages:
        errors["default_language"] = "The default language must be one of the kiosk's languages."
    greetings = {code: text.strip() for code, text in data.greetings.items() if text.strip()}
    if set(greetings) - set(KIOSK_LANGUAGES):
        errors["greetings"] = "Greetings are per kiosk language."
    elif any(len(text) > MAX_GREETING for text in greetings.values()):
        errors["greetings"] = f"Greetings are limited to {MAX_GREETING} characters."
    if data.avatar_id is not None and not Avatar.objects.filter(pk=data.avatar_id, status=Avatar.Status.READY).exists():
        errors["avatar"] = "Choose a prepared (ready) avatar."
    if errors:
        raise ApplicationError("kiosk_invalid", " ".join(errors.values()), extra={"errors": errors})
    return KioskData(name, venue_name, data.location.strip()[:200], languages, data.default_language, greetings,
                     data.avatar_id, data.enabled)


def _apply(kiosk: Kiosk, data: KioskData) -> None:
    kiosk.venue, _created = Venue.objects.get_or_create(name=data.venue_name)
    kiosk.name, kiosk.location, kiosk.languages = data.name, data.location, data.languages
    kiosk.default_language, kiosk.greetings, kiosk.avatar_id = data.default_language, data.greetings, data.avatar_id
    kiosk.enabled = data.enabled


@transaction.atomic
def kiosk_create(*, data: KioskData, user: Actor = None) -> Kiosk:
    cleaned = _clean(data)
    kiosk = Kiosk()
    _apply(kiosk, cleaned)
    kiosk.save()
    audit_record(actor=user, action="kiosk.create", target=kiosk, after=kiosk_snapshot(kiosk))
    return kiosk


@transaction.atomic
def kiosk_update(*, kiosk: Kiosk, data: KioskData, user: Actor = None) -> Kiosk:
    cleaned = _clean(data)
    before = kiosk_snapshot(kiosk)
    _apply(kiosk, cleaned)
    if not kiosk.enabled:
        kiosk_token_revoke(kiosk=kiosk)  # a disabled kiosk is unpaired: its screen is disconnected at once
    kiosk.save()
    audit_record(actor=user, action="kiosk.update", target=kiosk, before=before, after=kiosk_snapshot(kiosk))
    return kiosk


@transaction.atomic
def kiosk_pairing_issue(*, kiosk: Kiosk, user: Actor = None, ttl: timedelta = PAIRING_TTL) -> str:
    """A fresh one-time pairing code (the caller shows it once); the previous code stops working."""
    if not kiosk.enabled:
        raise ApplicationError("kiosk_disabled", "Enable the kiosk before pairing it.")
    code = kiosk_pairing_code_create(kiosk=kiosk, ttl=ttl)
    audit_record(actor=user, action="kiosk.pairing_code", target=kiosk, after={"expires_at": kiosk.pairing_expires_at})
    return code


@transaction.atomic
def kiosk_unpair(*, kiosk: Kiosk, user: Actor = None) -> None:
    """Revoke the device token and any pending code: the screen holding it is disconnected."""
    before = {"paired": bool(kiosk.token_hash), "code_pending": bool(kiosk.pairing_code_hash)}
    kiosk_token_revoke(kiosk=kiosk)
    Kiosk.objects.filter(pk=kiosk.pk).update(pairing_code_hash="", pairing_expires_at=None)
    audit_record(actor=user, action="kiosk.unpair", target=kiosk, before=before, after={"paired": False, "code_pending": False})


@transaction.atomic
def avatar_assign(*, avatar: Avatar, kiosk_ids: list[int], user: Actor = None) -> list[str]:
    """Show ``avatar`` on these kiosks (only a ready avatar); returns the kiosks' names."""
    if avatar.status != Avatar.Status.READY:
        raise ApplicationError("avatar_not_ready", "Only a prepared (ready) avatar can be shown on kiosks.")
    kiosks = list(Kiosk.objects.select_for_update().filter(pk__in=kiosk_ids))
    for kiosk in kiosks:
        if kiosk.avatar_id != avatar.pk:
            audit_record(actor=user, action="kiosk.avatar", target=kiosk, before={"avatar": kiosk.avatar_id},
                         after={"avatar": avatar.pk})
    Kiosk.objects.filter(pk__in=[k.pk for k in kiosks]).update(avatar=avatar)
    return [k.name for k in kiosks]


@transaction.atomic
def kiosk_delete(*, kiosk: Kiosk, user: Actor = None) -> None:
    """Delete a kiosk: its device token is revoked first, so its screen is disconnected as by
    unpairing; its conversations keep their transcripts, no longer linked to it."""
    kiosk = Kiosk.objects.select_for_update().select_related("venue").get(pk=kiosk.pk)
    before = kiosk_snapshot(kiosk)
    kiosk_token_revoke(kiosk=kiosk)
    audit_record(actor=user, action="kiosk.delete", target=kiosk, before=before)
    kiosk.delete()


def avatar_kiosk_names(avatar: Avatar) -> list[str]:
    """The kiosks showing ``avatar`` (it cannot be deleted while there are any)."""
    return list(Kiosk.objects.filter(avatar=avatar).order_by("name").values_list("name", flat=True))


@transaction.atomic
def avatar_delete(*, avatar: Avatar, user: Actor = None) -> None:
    """Delete an avatar and, once that is committed, its files (photo, video, preview clip).

    Refused (``avatar_in_use``, naming the kiosks) while a kiosk shows it, so no kiosk loses its
    face, and (``avatar_busy``) while it is being prepared.
    """
    avatar = Avatar.objects.select_for_update().get(pk=avatar.pk)
    kiosks = list(Kiosk.objects.select_for_update().filter(avatar=avatar).order_by("name").values_list("name", flat=True))
    if kiosks:
        raise ApplicationError("avatar_in_use", f"Shown on {', '.join(kiosks)}: choose another avatar for "
                               f"{'it' if len(kiosks) == 1 else 'them'} first.", extra={"kiosks": kiosks}, status=409)
    if avatar.status == Avatar.Status.PREPARING:
        raise ApplicationError("avatar_busy", "The avatar is being prepared; delete it once that has finished.",
                               status=409)
    files = [(field.storage, field.name) for field in (avatar.source, avatar.video, avatar.preview_clip) if field]
    audit_record(actor=user, action="avatar.delete", target=avatar,
                 before={"name": avatar.name, "status": avatar.status, "files": [name for _storage, name in files]})
    avatar.delete()
    transaction.on_commit(lambda: [storage.delete(name) for storage, name in files])


def kiosk_status_list() -> QuerySet[Kiosk]:
    """Kiosks with their venue, avatar and whether a conversation is going on (one query)."""
    active = Conversation.objects.filter(kiosk=OuterRef("pk"), status=Conversation.Status.ACTIVE)
    return Kiosk.objects.select_related("venue", "avatar").annotate(in_conversation=Exists(active)).order_by("name")


def kiosk_online(kiosk: Kiosk) -> bool:
    """Its page was heard from (heartbeat or state change) within ``KIOSK_ONLINE_SECONDS``, and its
    connection has not closed since."""
    window = timedelta(seconds=settings.KIOSK_ONLINE_SECONDS)
    if kiosk.last_seen_at is None or timezone.now() - kiosk.last_seen_at >= window:
        return False
    return kiosk.page_closed_at is None or kiosk.page_closed_at < kiosk.last_seen_at


def kiosk_state(kiosk: Kiosk) -> str:
    """"in_conversation", "online", "offline", "unpaired" or "disabled" (kiosks from ``kiosk_status_list``)."""
    if not kiosk.enabled:
        return "disabled"
    if not kiosk.token_hash:
        return "unpaired"
    if not kiosk_online(kiosk):
        return "offline"
    return "in_conversation" if getattr(kiosk, "in_conversation", False) else "online"


def kiosk_activity(kiosk: Kiosk) -> str:
    """What the avatar of an online kiosk is doing (idle, listening, thinking, speaking), or
    "no_microphone" when its page has none it may use (customers can only type); "" when offline."""
    if not (kiosk.enabled and kiosk.token_hash and kiosk_online(kiosk)):
        return ""
    return "no_microphone" if kiosk.microphone else kiosk.state


def kiosk_service(kiosk: Kiosk) -> str:
    """How an online kiosk is served ("busy", "reduced_video", "voice_only"; "" in full or offline)."""
    return kiosk.service if kiosk.enabled and kiosk.token_hash and kiosk_online(kiosk) else ""
