"""Waiting for a condition in the page without eval().

Playwright's ``wait_for_function`` evaluates its predicate with ``eval()`` inside the page, which the
site's Content-Security-Policy blocks (no 'unsafe-eval'), so every browser test polls with
``page.evaluate`` instead: the DevTools protocol evaluates outside the page's policy.
"""
import time
from typing import Any

from playwright.sync_api import Page

POLL_MS = 50


def wait_until(page: Page, expression: str, arg: Any = None, timeout: float = 30_000) -> Any:
    """Poll ``expression`` (an expression, or a function of ``arg``) until it is truthy; return its value.

    ``timeout`` is in milliseconds, as in Playwright's own waits."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout / 1000:.0f} s waiting for {expression}"
        page.wait_for_timeout(POLL_MS)
