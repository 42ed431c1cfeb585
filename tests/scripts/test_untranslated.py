"""scripts/untranslated.py, and the catalogues it checks: every message translated, none fuzzy."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "untranslated.py"
CATALOGUES = ("ja", "ko", "zh_Hans", "zh_Hant")

CATALOGUE = r'''# header comments
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=1; plural=0;\n"

#: templates/console/home.html:3
msgid "Overview"
msgstr "概要"

#: templates/console/base.html:9
msgid ""
"A long message "
"on two lines"
msgstr ""
"長いメッセージ"
"（2 行）"

#: adminconsole/nav.py:24
#, fuzzy
#| msgid "Hand-offs"
msgid "Hand-off desk"
msgstr "スタッフ呼び出し数"

#: adminconsole/faq_views.py:10
msgid "Saved."
msgstr ""

#: templates/console/faqs/list.html:6
#, python-format
msgid "%(counter)s entry"
msgid_plural "%(counter)s entries"
msgstr[0] ""

#: templates/console/documents/list.html:6
#, python-format
msgid "%(counter)s document"
msgid_plural "%(counter)s documents"
msgstr[0] "%(counter)s 件"

#~ msgid "Gone from the code"
#~ msgstr ""
'''


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False)


def test_every_catalogue_in_the_repo_is_complete() -> None:
    result = run()
    assert result.returncode == 0, result.stdout
    for language in CATALOGUES:
        assert f"{language}: 0 of " in result.stdout


def test_empty_fuzzy_and_plural_gaps_are_listed(tmp_path: Path) -> None:
    po = tmp_path / "ja" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(CATALOGUE, encoding="utf-8")
    complete = tmp_path / "ko" / "LC_MESSAGES" / "django.po"
    complete.parent.mkdir(parents=True)
    complete.write_text(CATALOGUE.split("#: adminconsole/nav.py")[0], encoding="utf-8")

    result = run("--locale-dir", str(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "ja: 3 of 6 messages untranslated or fuzzy" in lines
    assert "  [fuzzy] 'Hand-off desk'  (adminconsole/nav.py:24)" in lines
    assert "  [empty] 'Saved.'  (adminconsole/faq_views.py:10)" in lines
    assert "  [empty] '%(counter)s entry'  (templates/console/faqs/list.html:6)" in lines
    assert "ko: 0 of 2 messages untranslated or fuzzy" in lines
    assert "Overview" not in result.stdout and "Gone from the code" not in result.stdout

    only_korean = run("--locale-dir", str(tmp_path), "ko")
    assert only_korean.returncode == 0 and "ja:" not in only_korean.stdout
