"""The README's screenshots: the console in use at 1280x800, and the kiosk page, as optimised PNGs.

    .venv/bin/python scripts/console_screenshots.py [--out docs/screenshots]

It starts everything it needs and leaves nothing behind: a demo site in a temporary folder
(``migrate`` and ``load_demo``: a few minutes on a busy machine), daphne with the embedded avatar
worker on a free port, and headless Chromium (``/usr/bin/chromium``, driven by Playwright as the
browser tests are; ``scripts/test.sh`` installs both). Then the site is used as a venue uses it: a
customer types questions on the kiosk in four languages (one the knowledge base cannot answer) and
calls for staff while the hand-off desk is open; staff upload two documents; the screens are saved
as they are at that moment. Needs the offline models in ``MODELS_DIR`` (``scripts/setup.sh``).
"""
import argparse
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, FilePayload, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CONSOLE = {"width": 1280, "height": 800}
KIOSK = {"width": 1080, "height": 1920}
KIOSK_SAVED_WIDTH = 720  # the portrait kiosk screen, scaled down for the README
PASSWORDS = {"staff": "screenshots-staff-1", "supervisor": "screenshots-super-1", "admin": "screenshots-admin-1"}
# (language button, typed question): what customers ask before one of them calls for staff.
QUESTIONS = [("zh", "洗手间在哪里？"), ("ja", "ATMはどこにありますか？"), ("en", "Do you sell tickets for tonight's concert?"),
             ("en", "Where can I find a toilet?")]
DOCUMENTS = {
    "visitor-guide.md": ("Visitor guide", "# Harbour Point Mall visitor guide\n\n## Opening hours\n\nShops open "
                         "10:00 to 22:00 every day; restaurants on Level 7 stay open until 23:30.\n\n## Lost property\n\n"
                         "Ask at the customer service desk on the ground floor, beside the main entrance.\n"),
    "transport.txt": ("Getting here", "Harbour Point Mall is two minutes from Harbour station, exit B.\n\n"
                      "Buses 5, 11 and 38 stop on Harbour Road. Taxis wait at the North entrance.\n"),
}
expect.set_options(timeout=180_000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def silent_wav(path: Path) -> Path:
    """A quiet microphone for the kiosk page (without a file, Chromium's fake microphone beeps)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(b"\0\0" * 48000 * 5)
    return path


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


@contextmanager
def demo_site(var: Path) -> Iterator[tuple[str, str]]:
    """The demo venue served by daphne from ``var``: yields its URL and a pairing code."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"KIOSK_VAR_DIR": str(var), "MODELS_DIR": os.environ.get("MODELS_DIR", str(ROOT / "var" / "models")),
                "DJANGO_SETTINGS_MODULE": "config.settings", "AVATAR_RTC_LOOPBACK": "1", "ANSWER_AUDIO_CACHE": "off",
                "KIOSK_STAFF_PASSWORD": PASSWORDS["staff"], "KIOSK_SUPERVISOR_PASSWORD": PASSWORDS["supervisor"],
                "KIOSK_ADMIN_PASSWORD": PASSWORDS["admin"]})
    print("==> demo site in", var, flush=True)
    manage(env, "migrate", "-v0")
    code = re.search(r"code=(\d+)", manage(env, "load_demo"))
    assert code, "load_demo printed no pairing code"
    port = free_port()
    with open(var / "daphne.log", "ab") as log:
        server = subprocess.Popen([str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                   "--websocket_timeout", "-1", "config.asgi:application"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "daphne did not start: see daphne.log"
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", code.group(1)
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


def wait_until(page: Page, expression: str, arg: object = None, timeout_s: float = 240) -> object:
    """Poll an expression through DevTools (the site's CSP forbids the eval() of wait_for_function)."""
    deadline = time.monotonic() + timeout_s
    while not (value := page.evaluate(expression, arg)):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)
    return value


def save(page: Page, out: Path, name: str, width: int | None = None) -> None:
    """The viewport as an optimised 256-colour PNG: console screens without dithering (crisp text), the
    kiosk's photo scaled to ``width`` and dithered."""
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    if width is None:
        image = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    else:
        image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
        image = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG)
    image.save(out / f"{name}.png", optimize=True)
    print(f"    {name}.png", flush=True)


STATES_SINCE = "(t) => window.kioskMetrics.events.filter((e) => e.at > t && e.name === 'state').map((e) => e.state)"


def ask(kiosk: Page, language: str, question: str, out: Path | None = None) -> None:
    """Type a question as a customer would and wait until the avatar has answered; with ``out``, the
    kiosk is saved while it speaks the answer."""
    start = kiosk.evaluate("performance.now()")
    kiosk.click(f"button.language[data-language='{language}']")
    kiosk.fill("#ask-text", question)
    kiosk.click("#ask-send")
    wait_until(kiosk, f"(t) => ({STATES_SINCE})(t).includes('speaking')", start, timeout_s=300)
    if out is not None:
        wait_until(kiosk, "document.getElementById('caption-avatar').textContent.length > 0")
        kiosk.wait_for_timeout(1500)  # the face mid-sentence
        save(kiosk, out, "kiosk", width=KIOSK_SAVED_WIDTH)
    done = (f"(t) => {{ const s = ({STATES_SINCE})(t); const i = s.indexOf('speaking');"
            " return s.slice(i).some((x) => x === 'listening' || x === 'idle'); }")
    wait_until(kiosk, done, start, timeout_s=300)


def log_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/console/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORDS[username])
    page.click("button[type=submit]")
    expect(page.locator(".who")).to_contain_text(username)


def upload_documents(page: Page, url: str) -> None:
    for filename, (title, text) in DOCUMENTS.items():
        page.goto(f"{url}/console/documents/")
        page.set_input_files("#document-upload input[type=file]",
                             files=FilePayload(name=filename, mimeType="text/plain", buffer=text.encode()))
        page.fill("#id_title", title)
        page.click("#upload")
        expect(page.locator(".message.success")).to_be_visible()


def take(browser: Browser, url: str, code: str, out: Path) -> None:
    kiosk = browser.new_page(viewport=KIOSK)  # type: ignore[arg-type]
    kiosk.goto(f"{url}/pair/?code={code}")
    kiosk.click("button[type=submit]")
    wait_until(kiosk, "window.kioskMetrics && window.kioskMetrics.events.some((e) => e.name === 'session')", timeout_s=600)
    print("==> the kiosk is asked", len(QUESTIONS), "questions", flush=True)
    for number, (language, question) in enumerate(QUESTIONS, start=1):
        ask(kiosk, language, question, out if number == len(QUESTIONS) else None)

    console = browser.new_page(viewport=CONSOLE)  # type: ignore[arg-type]
    console.set_default_timeout(180_000)
    log_in(console, url, "admin")
    console.goto(f"{url}/console/handoffs/")
    expect(console.locator("#handoff-live")).to_contain_text("Live")
    kiosk.click("#handoff")  # the customer calls for staff while the desk is open: it arrives live
    expect(console.locator(".handoff[data-status='open']")).to_be_visible()
    save(console, out, "console-handoff-desk")

    upload_documents(console, url)
    console.goto(f"{url}/console/documents/")
    save(console, out, "console-documents")
    for name, path in [("console-dashboard", "/console/dashboard/"), ("console-transcripts", "/console/transcripts/"),
                       ("console-faq-edit", "/console/faqs/restrooms/"), ("console-voices", "/console/voices/"),
                       ("console-health", "/console/health/")]:
        console.goto(url + path)
        save(console, out, name)
    console.goto(f"{url}/console/transcripts/")
    console.click("#main table a >> nth=0")  # the latest conversation: the call for staff
    save(console, out, "console-transcript")
    # Leave the desk as staff would: the customer was helped.
    console.goto(f"{url}/console/handoffs/")
    console.click(".handoff .handoff-resolve")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kiosk-screenshots-") as tmp:
        var = Path(tmp)
        mic = silent_wav(var / "silence.wav")
        with demo_site(var) as (url, code), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={mic}",
                "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--disable-features=WebRtcHideLocalIpsWithMdns"])
            try:
                take(browser, url, code, args.out)
            finally:
                browser.close()
    print("==> screenshots in", args.out, flush=True)


if __name__ == "__main__":
    main()
