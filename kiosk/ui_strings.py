"""The kiosk's on-screen strings in every kiosk language (Django i18n catalogues).

The page switches language without reloading, so it receives all of them at once.
"""
from django.utils import translation
from django.utils.translation import gettext as _

from common.languages import ui_locale


def _strings() -> dict[str, str]:
    return {
        "idle": _("Hello! Just start speaking."),
        "listening": _("Listening…"),
        "thinking": _("Thinking…"),
        "speaking": _("Speaking"),
        "type_here": _("Or type your question here"),
        "send": _("Send"),
        "talk_to_staff": _("Talk to staff"),
        "staff_requested": _("A staff member has been called and will be with you shortly."),
        "staff_coming": _("A staff member is on the way. Please wait here."),
        "staff_unavailable": _("Sorry, nobody from our staff can come right now. Please ask at the service desk."),
        "no_microphone": _("The microphone is not available. Please type your question below, or press Talk to staff."),
        "idle_typing": _("Hello! Please type your question below."),
        "reconnecting": _("One moment please, reconnecting…"),
        "reconnected": _("Thank you for waiting. We are connected again, please go on."),
        "unavailable": _("The assistant is not available right now. Please ask at the service desk."),
        "busy": _("All our assistants are busy right now. Please wait a moment, or type your question and "
                  "we will answer it here."),
        "busy_question_kept": _("Thank you. Your question will be answered as soon as an assistant is free."),
        "in_use_elsewhere": _("This kiosk is now open on another screen. Tap here to use it on this one."),
    }


def kiosk_ui_strings(languages: list[str]) -> dict[str, dict[str, str]]:
    table = {}
    for language in languages:
        with translation.override(ui_locale(language)):
            table[language] = _strings()
    return table
