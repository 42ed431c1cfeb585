"""Template helpers of the console: the role-filtered navigation (with the open hand-off count), the language switch."""
from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.translation import get_language

from adminconsole.nav import nav_items_for
from common.languages import LANGUAGE_LABELS, UI_LANGUAGE_NATIVE_NAMES
from common.roles import request_role
from conversations.selectors import handoff_open_count

register = template.Library()


@register.inclusion_tag("console/_nav.html", takes_context=True)
def console_nav(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"items": [], "role": None}
    role = request_role(request)
    path = request.path
    items = []
    for item in nav_items_for(role):
        url = reverse(item.url_name)
        current = (url == path) if not item.section else path.startswith(url)
        items.append({"url": url, "label": item.label, "current": current,
                      "live_count": handoff_open_count() if item.live_count else None})
    return {"items": items, "role": role}


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``{{ dict|get_item:key }}``: a dictionary lookup by a variable key."""
    try:
        return mapping.get(key) if hasattr(mapping, "get") else mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.filter
def language_label(code: str) -> str:
    """``{{ "yue"|language_label }}``: a kiosk language's name in the reader's language (the code if unknown)."""
    return str(LANGUAGE_LABELS.get(code, code))


@register.simple_tag(takes_context=True)
def console_role(context: dict[str, Any]) -> Any:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return None
    return request_role(request)


@register.inclusion_tag("console/_language.html", takes_context=True)
def console_language_switch(context: dict[str, Any]) -> dict[str, Any]:
    """The header's language menu: Django's set_language view, posted with this page as ``next``."""
    request = context.get("request")
    codes = [code for code, _name in settings.LANGUAGES]
    return {
        "languages": [(code, UI_LANGUAGE_NATIVE_NAMES.get(code, code)) for code in codes],
        "current": get_language(),
        "next": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }
