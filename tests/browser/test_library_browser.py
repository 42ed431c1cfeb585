"""Staff in headless Chromium: drop a document on the library's drop zone, see its passages,
delete it after the confirmation; edit an FAQ, then restore the old version from its diff and
find it still published with the translation added since."""
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import CHROMIUM, LiveServer, chromium_args
from tests.browser.test_console_browser import VIEWPORT, log_in, new_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]
GUIDE = "# Bicycle parking\n\nBicycle racks are outside Gate C, next to the taxi stand; they are free.\n"
# Drops a File on the zone the way the browser does when a file is dragged from the desktop.
DROP = """([selector, name, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, {type: "text/markdown"}));
  document.querySelector(selector).dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true,
                                                                        cancelable: true}));
}"""


def test_staff_drop_a_document_delete_it_and_restore_an_faq_version_from_its_diff(kiosk_server: LiveServer) -> None:
    url = kiosk_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(None))
        page = new_page(browser, VIEWPORT)
        log_in(page, kiosk_server, "staff", kiosk_server.passwords["staff"])

        page.goto(f"{url}/console/documents/")
        expect(page.locator(".dropzone")).to_be_visible()  # shown by the console's script
        page.evaluate(DROP, [".dropzone", "bicycles.md", GUIDE])
        expect(page.locator(".dropzone-file")).to_have_text("bicycles.md")
        page.fill("#id_title", "Bicycle guide")
        page.click("#upload")
        expect(page.locator(".message.success")).to_contain_text("“Bicycle guide” uploaded: 1 passage.")
        expect(page.locator(".chunk-text")).to_contain_text("Bicycle racks are outside Gate C")
        shot(page, "document")
        page.click("#delete")
        expect(page.locator("h1")).to_have_text("Delete “Bicycle guide”?")
        page.click("#confirm")
        expect(page.locator(".message.success")).to_contain_text("deleted")
        expect(page.locator("#document-table")).not_to_contain_text("Bicycle guide")

        page.goto(f"{url}/console/faqs/hotel-shuttle/")
        original = page.input_value("#id_en-answer")
        page.fill("#id_en-answer", "The hotel shuttle no longer runs.")
        page.fill("#id_ja-question", "ホテルのシャトルバスはありますか？")
        page.fill("#id_ja-answer", "ゲートAから30分ごとに出発します。")
        page.click("#save")
        expect(page.locator(".message.success")).to_contain_text("It is published")
        expect(page.locator("legend .pill.outdated")).to_have_count(1)  # Mandarin: the English answer changed

        page.goto(f"{url}/console/faqs/hotel-shuttle/history/")
        page.click("a.restore >> nth=0")  # the version before the edit
        expect(page.locator("#restore-diff")).to_contain_text("en.answer")
        expect(page.locator("#restore-diff del").first).to_be_visible()  # the edit, struck out
        expect(page.locator("#restore-form")).to_contain_text("Japanese (added after this version)")
        expect(page.locator("#id_status")).to_have_count(0)  # the publish state did not change: nothing to restore
        shot(page, "faq-restore")
        page.click("#restore")
        expect(page.locator(".message.success")).to_contain_text("Restored the version")
        expect(page.locator(".page-head .pill.ok")).to_have_text("Published")
        assert page.input_value("#id_en-answer") == original
        assert page.input_value("#id_ja-answer") == "ゲートAから30分ごとに出発します。"
        browser.close()
