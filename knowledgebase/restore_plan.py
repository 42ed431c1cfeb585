"""What "restore this version" makes of an FAQ entry, before anything is written.

A restore takes an old revision's wording back, but by default nothing else: the entry keeps
its publish state, its tags, and the translations the old version did not have (restoring
the English wording of last week must not delete the Japanese translation added since, nor
unpublish the entry). Staff may choose otherwise, language by language.
"""
from dataclasses import dataclass
from typing import Any

Snapshot = dict[str, Any]  # ``knowledgebase.services.faq_snapshot``'s shape


@dataclass(frozen=True)
class RestoreChoice:
    """``languages``: the version's languages to take back (None: all of them); ``remove_others``:
    also delete the translations the version does not have; ``status``/``tags``: take the
    version's publish state / tags too."""

    languages: frozenset[str] | None = None
    remove_others: bool = False
    status: bool = False
    tags: bool = False


KEEP_THE_REST = RestoreChoice()  # the version's wording in its languages; everything else as it is


def restore_plan(current: Snapshot, version: Snapshot, choice: RestoreChoice) -> Snapshot:
    """The entry's snapshot after restoring ``version`` over ``current`` as ``choice`` says."""
    now: dict[str, Any] = dict(current.get("translations") or {})
    old: dict[str, Any] = dict(version.get("translations") or {})
    restored = {language: old[language] for language in old if choice.languages is None or language in choice.languages}
    kept = {language: t for language, t in now.items() if language not in restored}
    if choice.remove_others:
        kept = {language: t for language, t in kept.items() if language in old}
    translations = {**kept, **restored}
    if not translations:  # every entry keeps at least one translation
        translations = now
    status = version.get("status") if choice.status and version.get("status") in ("draft", "published") else None
    return {
        "key": current.get("key"),
        "status": status or current.get("status"),
        "tags": list(version.get("tags") or []) if choice.tags else list(current.get("tags") or []),
        "translations": dict(sorted(translations.items())),
    }


def restore_options(current: Snapshot, version: Snapshot) -> dict[str, Any]:
    """What a restore could change, for the confirmation screen: the version's languages whose
    wording differs from now, the current languages the version lacks, and whether the
    status and tags differ."""
    now: dict[str, Any] = current.get("translations") or {}
    old: dict[str, Any] = version.get("translations") or {}
    return {
        "differing": [language for language in old if old[language] != now.get(language)],
        "others": [language for language in now if language not in old],
        "status_differs": version.get("status") in ("draft", "published") and version.get("status") != current.get("status"),
        "tags_differ": sorted(version.get("tags") or []) != sorted(current.get("tags") or []),
    }
