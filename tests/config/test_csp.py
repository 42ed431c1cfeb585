"""Every response carries the Content-Security-Policy; the pages have nothing inline that it would block,
and the API docs come from this site. (tests/browser/test_csp_browser.py checks the pages in Chromium.)"""
import re
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    return {name: value for name, _, value in (part.strip().partition(" ") for part in header.split(";"))}


def test_a_page_carries_the_policy_and_its_inline_script_the_nonce(client: Client) -> None:
    policy = _policy(client.get("/"))
    assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'"
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert "ws://testserver" in policy["connect-src"] and "wss://testserver" in policy["connect-src"]
    assert "blob:" in policy["img-src"] and "blob:" in policy["media-src"]
    first, second = _policy(client.get("/")), _policy(client.get("/"))
    assert first["script-src"] != second["script-src"]  # a fresh nonce per response


def test_the_kiosk_pages_inline_script_has_the_responses_nonce(client: Client, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from io import StringIO

    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo", stdout=StringIO())
    code = StringIO()
    call_command("kiosk_pairing_code", "Lobby kiosk", stdout=code)
    client.post("/pair/", {"code": code.getvalue().strip()})
    page = client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", _policy(page)["script-src"])
    assert nonce and f'<script nonce="{nonce.group(1)}">window.KIOSK' in page.content.decode()


def test_no_template_has_inline_code_the_policy_would_block() -> None:
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)(?![^>]*\bnonce=)[^>]*>")
    handler = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
    found = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        for pattern in (inline_script, handler, re.compile(r"<style\b(?![^>]*\bnonce=)"), re.compile(r"javascript:")):
            found += [f"{template.relative_to(ROOT)}: {match.group(0)}" for match in pattern.finditer(text)]
    assert not found, found


def test_the_api_docs_are_served_from_this_site(client: Client) -> None:
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and not [asset for asset in assets if "//" in asset]  # nothing from another host
    assert "<script>" not in page and "<style>" not in page
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
