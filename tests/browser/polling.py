"""Waiting for a condition in the page without eval().

Playwright's ``wait_for_function`` evaluates its predicate with ``eval()`` inside the page, which the
site's Content-Security-Policy blocks (no 'unsafe-eval'), so every browser test polls with
``page.evaluate`` instead: the DevTools protocol evaluates outside the page's policy.
"""
import time
from typing import Any

from playwright.sync_api import Error, Page

POLL_MS = 50


def wait_until(page: Page, expression: str, arg: Any = None, timeout: float = 30_000) -> Any:
    """Poll ``expression`` (an expression, or a function of ``arg``) until it is truthy; return its value.

    ``timeout`` is in milliseconds, as in Playwright's own waits. An expression that throws counts
    as not yet true: right after a navigation the page's own scripts may not have run (on a busy
    machine ``window.kioskMetrics`` was still undefined when the kiosk page's DOM was ready), or the
    page may be replacing its document; the last error is reported if the time runs out."""
    deadline = time.monotonic() + timeout / 1000
    error: Error | None = None
    while True:
        try:
            value = page.evaluate(expression, arg)
        except Error as exc:
            value, error = None, exc
        if value:
            return value
        assert time.monotonic() < deadline, (
            f"timed out after {timeout / 1000:.0f} s waiting for {expression}" + (f" (last error: {error})" if error else ""))
        page.wait_for_timeout(POLL_MS)
