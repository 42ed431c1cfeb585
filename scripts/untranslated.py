"""List the messages each translation catalogue still lacks: empty or fuzzy msgstr.

After merging branches that add user-facing strings, refresh the catalogues and check them:

    .venv/bin/python manage.py makemessages -l ja -l ko -l zh_Hans -l zh_Hant \\
        --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=docs
    .venv/bin/python scripts/untranslated.py            # every language under locale/
    .venv/bin/python scripts/untranslated.py ja ko      # only these
    .venv/bin/python scripts/untranslated.py --locale-dir path/to/locale

Prints, per language, the count and each msgid (with its first source reference) that has an
empty msgstr, a fuzzy flag (makemessages guessed it from a similar string: it needs a person),
or an empty plural form. Exits 1 when anything is missing, 0 when every catalogue is complete.
Obsolete entries (``#~``, strings no longer in the code) are ignored. Needs no Django.
"""

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    reference: str = ""

    @property
    def missing(self) -> bool:
        return "fuzzy" in self.flags or not self.msgstrs or any(not text for text in self.msgstrs)


def _unquote(line: str) -> str:
    return str(ast.literal_eval(line))


def parse_po(text: str) -> list[Entry]:
    """The catalogue's live entries (header and obsolete ``#~`` entries left out), in file order."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None  # which string a continuation line extends

    def finish() -> None:
        nonlocal entry, target
        if entry.msgid:  # msgid "" is the header
            entries.append(entry)
        entry, target = Entry(), None

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            if entry.msgid or entry.msgstrs:
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#:"):
            if entry.msgid or entry.msgstrs:
                finish()
            entry.reference = entry.reference or line[2:].split()[0]
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            entry.msgid_plural, target = _unquote(line[13:]), ("msgid_plural", 0)
        elif line.startswith("msgid "):
            if entry.msgstrs:
                finish()
            entry.msgid, target = _unquote(line[6:]), ("msgid", 0)
        elif line.startswith("msgstr["):
            number, value = line[7:].split("]", 1)
            entry.msgstrs.append(_unquote(value.strip()))
            target = ("msgstr", int(number))
        elif line.startswith("msgstr "):
            entry.msgstrs.append(_unquote(line[7:]))
            target = ("msgstr", 0)
        elif line.startswith('"') and target is not None:
            name, position = target
            if name == "msgstr":
                entry.msgstrs[position] += _unquote(line)
            else:
                setattr(entry, name, getattr(entry, name) + _unquote(line))
    finish()
    return entries


def untranslated(po_file: Path) -> list[Entry]:
    return [entry for entry in parse_po(po_file.read_text(encoding="utf-8")) if entry.missing]


def catalogues(locale_dir: Path, languages: list[str]) -> dict[str, Path]:
    found = {path.parents[1].name: path for path in sorted(locale_dir.glob("*/LC_MESSAGES/django.po"))}
    return {name: path for name, path in found.items() if not languages or name in languages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("languages", nargs="*", help="locale directory names (ja, ko, zh_Hans, zh_Hant); all when none")
    parser.add_argument("--locale-dir", type=Path, default=DEFAULT_LOCALE_DIR)
    args = parser.parse_args(argv)
    found = catalogues(args.locale_dir, args.languages)
    if not found:
        print(f"no catalogue found under {args.locale_dir}", file=sys.stderr)
        return 1
    missing_any = False
    for language, path in found.items():
        missing = untranslated(path)
        total = len(parse_po(path.read_text(encoding="utf-8")))
        print(f"{language}: {len(missing)} of {total} messages untranslated or fuzzy")
        for entry in missing:
            state = "fuzzy" if "fuzzy" in entry.flags else "empty"
            print(f"  [{state}] {entry.msgid!r}  ({entry.reference})")
        missing_any = missing_any or bool(missing)
    return 1 if missing_any else 0


if __name__ == "__main__":
    sys.exit(main())
