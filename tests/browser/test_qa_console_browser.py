"""Lip-sync QA end to end in a real browser: a kiosk conversation, its answer recorded by the
embedded worker and scored by the (inline) job, then the supervisor's QA screen in Chromium."""
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.conftest import ARTIFACTS, CHROMIUM, LiveServer, chromium_args
from tests.browser.test_kiosk_browser import converse

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_kiosk_answer_appears_on_the_supervisors_qa_screen(kiosk_server: LiveServer, question_wav: Path) -> None:
    converse(kiosk_server, question_wav, "ws")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(None))
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(f"{kiosk_server.url}/console/login/")
        page.fill("input[name=username]", "supervisor")
        page.fill("input[name=password]", kiosk_server.passwords["supervisor"])
        page.click("button[type=submit]")
        page.click("text=Lip-sync QA")
        deadline = time.monotonic() + 120  # the answer is encoded and scored after the conversation
        while page.locator("svg.qa-chart g.series").count() == 0 and time.monotonic() < deadline:
            page.wait_for_timeout(2000)
            page.reload()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-qa.png"), full_page=True)
        labels = page.locator("svg.qa-chart g.series").evaluate_all("gs => gs.map(g => g.dataset.label)")
        circles = page.locator("svg.qa-chart circle").count()
        summary = page.locator("table.qa-table tbody tr").first.inner_text()
        page.click("text=open flag")  # "0 open flags" or more: the flags screen opens either way
        flags_heading = page.locator("h1").inner_text()
        browser.close()
    assert labels == ["Astronaut (demo)"] and circles >= 1
    assert summary.startswith("avatar: Astronaut (demo)")
    assert flags_heading == "Lip-sync flags"
