"""The console's navigation: one list of items, each shown to the roles that may open it.

To add a screen, append a ``NavItem`` here (the order is the order on screen).
"""
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from common.roles import Role


@dataclass(frozen=True)
class NavItem:
    url_name: str  # a URL name in the "console" namespace, taking no arguments
    label: str | Promise
    role: Role
    section: str = ""  # the first path segment under /console/ that marks the item current
    live_count: bool = False  # shows the number of open hand-off requests, kept current over a WebSocket


NAV_ITEMS: list[NavItem] = [
    NavItem("console:home", _("Overview"), Role.STAFF, ""),
    NavItem("console:handoff_desk", _("Hand-off desk"), Role.STAFF, "handoffs", live_count=True),
    NavItem("console:faq_list", _("FAQs"), Role.STAFF, "faqs"),
    NavItem("console:document_list", _("Documents"), Role.STAFF, "documents"),
    NavItem("console:voice_list", _("Voices"), Role.STAFF, "voices"),
    NavItem("console:transcript_list", _("Transcripts"), Role.SUPERVISOR, "transcripts"),
    NavItem("console:dashboard", _("Dashboard"), Role.SUPERVISOR, "dashboard"),
    NavItem("console:qa_overview", _("Lip-sync QA"), Role.SUPERVISOR, "qa"),
    NavItem("console:health", _("Backend health"), Role.STAFF, "health"),
    NavItem("console:avatar_list", _("Avatars"), Role.ADMIN, "avatars"),
    NavItem("console:kiosk_list", _("Kiosks"), Role.ADMIN, "kiosks"),
    NavItem("console:venue_list", _("Venues"), Role.ADMIN, "venues"),
    NavItem("console:user_list", _("Users"), Role.ADMIN, "users"),
    NavItem("console:audit_list", _("Audit log"), Role.ADMIN, "audit"),
    NavItem("console:transcript_access_log", _("Transcript access log"), Role.ADMIN, "transcripts/access-log"),
]


def nav_items_for(role: Role | None) -> list[NavItem]:
    if role is None:
        return []
    return [item for item in NAV_ITEMS if role >= item.role]
