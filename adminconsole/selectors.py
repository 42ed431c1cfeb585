"""Reads behind the console screens."""
from dataclasses import dataclass

from avatars.models import Avatar
from kiosk.models import Kiosk
from knowledgebase.models import FaqEntry, FaqTranslation


@dataclass(frozen=True)
class ConsoleOverview:
    faq_entries: int
    faq_published: int
    translations_by_language: dict[str, int]
    kiosks: int
    avatars_ready: int


def console_overview() -> ConsoleOverview:
    by_language: dict[str, int] = {}
    for language in FaqTranslation.objects.values_list("language", flat=True):
        by_language[language] = by_language.get(language, 0) + 1
    return ConsoleOverview(
        faq_entries=FaqEntry.objects.count(),
        faq_published=FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED).count(),
        translations_by_language=by_language,
        kiosks=Kiosk.objects.count(),
        avatars_ready=Avatar.objects.filter(status=Avatar.Status.READY).count(),
    )
