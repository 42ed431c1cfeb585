"""The console in Chinese (simplified and traditional), Japanese and Korean, and its language switch."""
import io
from collections.abc import Callable

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from avatars.models import Avatar
from avatars.services import avatar_progress_key
from common.roles import Role
from knowledgebase.document_services import document_create
from knowledgebase.models import FaqEntry
from knowledgebase.services import TranslationData, faq_create

LANGUAGES = ("zh-hans", "zh-hant", "ja", "ko")

# page (URL name) -> a label of that page, as each language's staff read it
PAGES: dict[str, tuple[str, dict[str, str]]] = {
    "console:home": ("Overview", {
        "zh-hans": "概览", "zh-hant": "概覽",
        "ja": "概要", "ko": "개요"}),
    "console:faq_list": ("Translations to update", {
        "zh-hans": "待更新的译文", "zh-hant": "待更新的譯文",
        "ja": "更新が必要な翻訳", "ko": "업데이트할 번역"}),
    "console:faq_create": ("Create draft", {
        "zh-hans": "创建草稿", "zh-hant": "建立草稿",
        "ja": "下書きを作成", "ko": "초안 만들기"}),
    "console:faq_import": ("Import FAQs", {
        "zh-hans": "导入常见问题", "zh-hant": "匯入常見問題",
        "ja": "FAQ をインポート", "ko": "FAQ 가져오기"}),
    "console:faq_outdated": ("Every translation is up to date.", {
        "zh-hans": "所有译文都是最新的。", "zh-hant": "所有譯文都是最新的。",
        "ja": "すべての翻訳が最新です。", "ko": "모든 번역이 최신입니다."}),
    "console:document_list": ("Upload a document", {
        "zh-hans": "上传文档", "zh-hant": "上傳文件",
        "ja": "ドキュメントをアップロード", "ko": "문서 업로드"}),
    "console:handoff_desk": ("Nobody is waiting for staff.", {
        "zh-hans": "没有顾客在等待工作人员。", "zh-hant": "沒有顧客在等待職員。",
        "ja": "スタッフを待っているお客様はいません。", "ko": "직원을 기다리는 고객이 없습니다."}),
    "console:transcript_list": ("No conversation matches these filters.", {
        "zh-hans": "没有符合筛选条件的对话。", "zh-hant": "沒有符合篩選條件的對話。",
        "ja": "条件に合う会話はありません。", "ko": "필터에 맞는 대화가 없습니다."}),
    "console:transcript_access_log": ("No access recorded yet.", {
        "zh-hans": "尚无访问记录。", "zh-hant": "尚無存取記錄。",
        "ja": "閲覧の記録はまだありません。", "ko": "아직 열람 기록이 없습니다."}),
    "console:dashboard": ("Conversations per language", {
        "zh-hans": "各语言对话数", "zh-hant": "各語言對話數",
        "ja": "言語別の会話数", "ko": "언어별 대화 수"}),
    "console:qa_overview": ("Group by", {
        "zh-hans": "分组方式", "zh-hant": "分組方式",
        "ja": "グループ化", "ko": "그룹 기준"}),
    "console:qa_flags": ("No flags.", {
        "zh-hans": "没有警报。", "zh-hant": "沒有警示。",
        "ja": "警告はありません。", "ko": "경고가 없습니다."}),
    "console:avatar_list": ("Upload a portrait", {
        "zh-hans": "上传人像", "zh-hant": "上傳人像",
        "ja": "顔写真をアップロード", "ko": "인물 사진 업로드"}),
    "console:kiosk_create": ("New kiosk", {
        "zh-hans": "新建终端", "zh-hant": "新增終端",
        "ja": "新しいキオスク", "ko": "새 키오스크"}),
    "console:audit_list": ("All actions", {
        "zh-hans": "全部操作", "zh-hant": "全部操作",
        "ja": "すべての操作", "ko": "모든 작업"}),
}
# On every page: the navigation's "Hand-off desk" and the header's role badge ("Admin").
NAV_DESK = {"zh-hans": "转人工工作台", "zh-hant": "轉接職員工作台", "ja": "スタッフ呼び出し対応", "ko": "직원 호출 데스크"}
ADMIN_BADGE = {"zh-hans": "管理员", "zh-hant": "管理員", "ja": "管理者", "ko": "관리자"}


@pytest.fixture
def admin(login: Callable[..., Client]) -> Client:
    return login(Role.ADMIN)


def in_language(client: Client, language: str) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.mark.parametrize("url_name", list(PAGES))
def test_each_console_page_speaks_the_chosen_language(admin: Client, url_name: str) -> None:
    english, translated = PAGES[url_name]
    for language in LANGUAGES:
        html = in_language(admin, language).get(reverse(url_name)).content.decode()
        assert f'<html lang="{language}">' in html
        assert translated[language] in html and english not in html, language
        assert NAV_DESK[language] in html and "Hand-off desk" not in html, language
        assert f'<span class="role-badge">{ADMIN_BADGE[language]}</span>' in html


def test_the_pages_speak_english_by_default(admin: Client) -> None:
    for url_name, (english, _translated) in PAGES.items():
        html = admin.get(reverse(url_name)).content.decode()
        assert english in html and "Hand-off desk" in html, url_name


@pytest.mark.parametrize(("language", "heading", "refusal"), [
    ("zh-hans", "登录控制台", "无权访问"), ("zh-hant", "登入控制台", "無權存取"),
    ("ja", "コンソールにログイン", "アクセスできません"), ("ko", "콘솔 로그인", "접근 권한 없음"),
])
def test_the_login_page_and_the_refusal_are_translated(
    login: Callable[..., Client], language: str, heading: str, refusal: str
) -> None:
    html = in_language(Client(), language).get(reverse("console:login")).content.decode()
    assert heading in html and 'id="language-switch"' in html  # the switch is there before logging in
    refused = in_language(login(Role.STAFF), language).get(reverse("console:audit_list"))
    assert refused.status_code == 403 and refusal in refused.content.decode()


def test_form_labels_and_choices_follow_the_language(admin: Client) -> None:
    html = in_language(admin, "ja").get(reverse("console:kiosk_create")).content.decode()
    assert "既定の言語" in html and ">広東語<" in html and ">中国語（普通話）<" in html and "Cantonese" not in html


def test_the_switch_names_each_language_in_itself(admin: Client) -> None:
    html = in_language(admin, "ko").get(reverse("console:home")).content.decode()
    switch = html.split('id="language-switch"')[1].split("</form>")[0]
    names = {"en": "English", "zh-hans": "中文(简体)", "zh-hant": "中文(繁體)", "ja": "日本語", "ko": "한국어"}
    for code, name in names.items():
        assert f'value="{code}" lang="{code}"' in switch and f">{name}</option>" in switch
    assert 'value="ko" lang="ko" selected' in switch
    assert 'name="csrfmiddlewaretoken"' in switch and 'name="next" value="/console/"' in switch
    # Without scripts an input submits it; not a <button>, so a page's own submit button stays the first one.
    assert '<input type="submit" value="언어 변경"' in switch and "<button" not in switch


def test_set_language_switches_the_next_page_and_remembers_it(login: Callable[..., Client]) -> None:
    client = login(Role.STAFF, csrf=True)
    assert "Translations to update" in client.get(reverse("console:faq_list")).content.decode()
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(reverse("set_language"), {
        "language": "zh-hant", "next": reverse("console:faq_list"), "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == reverse("console:faq_list")
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "zh-hant" and int(cookie["max-age"]) >= 365 * 24 * 3600 and cookie["samesite"] == "Lax"
    html = client.get(reverse("console:faq_list")).content.decode()
    assert '<html lang="zh-hant">' in html and "待更新的譯文" in html and "Translations to update" not in html
    # Back to English the same way.
    client.post(reverse("set_language"), {"language": "en", "next": "/console/", "csrfmiddlewaretoken": token})
    assert "Translations to update" in client.get(reverse("console:faq_list")).content.decode()


def test_set_language_needs_the_csrf_token_and_a_post(login: Callable[..., Client]) -> None:
    client = login(Role.STAFF, csrf=True)
    assert client.post(reverse("set_language"), {"language": "ja", "next": "/console/"}).status_code == 403
    assert client.get(reverse("set_language"), {"language": "ja", "next": "/console/"}).status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies
    assert "Translations to update" in client.get(reverse("console:faq_list")).content.decode()


def test_an_unknown_language_or_an_outside_next_is_refused(login: Callable[..., Client]) -> None:
    client = login(Role.STAFF, csrf=True)
    client.get(reverse("console:home"))
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(reverse("set_language"), {
        "language": "fr", "next": "https://evil.example/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and "evil.example" not in response["Location"]
    html = client.get(reverse("console:faq_list")).content.decode()  # not a console language: English stays
    assert '<html lang="en">' in html and "Translations to update" in html


def _editor_post(key: str, translations: dict[str, tuple[str, str]]) -> dict[str, str]:
    data = {"key": key, "tags": ""}
    for code in ("zh", "yue", "en", "ja", "ko"):
        question, answer = translations.get(code, ("", ""))
        data.update({f"{code}-question": question, f"{code}-answer": answer, f"{code}-alternates": ""})
    return data


def test_the_knowledge_base_refusals_reach_the_editor_translated(login: Callable[..., Client], celery_eager: None) -> None:
    faq_create(key="hours", translations={"en": TranslationData("When do you open?", "10 a.m. to 10 p.m.")})
    staff = login(Role.STAFF)
    taken = in_language(staff, "ja").post(reverse("console:faq_create"), _editor_post("hours", {"en": ("Open?", "At 10.")}))
    assert taken.status_code == 200 and "キー「hours」の FAQ はすでにあります。" in taken.content.decode()
    unanswered = in_language(staff, "ko").post(reverse("console:faq_edit", args=["hours"]), _editor_post("hours", {
        "en": ("When do you open?", "At 10."), "ko": ("언제 열어요?", "")}))
    assert unanswered.status_code == 200 and "질문과 답변을 모두 입력해야 합니다" in unanswered.content.decode()
    assert FaqEntry.objects.get(key="hours").translations.get(language="en").answer == "10 a.m. to 10 p.m."


def test_language_codes_are_shown_as_names_in_the_readers_language(admin: Client) -> None:
    document = document_create(content=b"# Lockers\n\nOn B1.\n", filename="guide.md", language="yue")
    listing = in_language(admin, "ja").get(reverse("console:document_list")).content.decode()
    assert "<td>広東語</td>" in listing
    detail = in_language(admin, "zh-hans").get(reverse("console:document_detail", args=[document.pk])).content.decode()
    assert "<dd>粤语</dd>" in detail


def test_the_avatar_preparation_stage_is_shown_in_the_readers_language(admin: Client) -> None:
    photo = io.BytesIO()
    Image.new("RGB", (64, 80), "tan").save(photo, format="PNG")
    avatar = Avatar.objects.create(name="Mei", status=Avatar.Status.PREPARING)
    avatar.source.save("mei.png", ContentFile(photo.getvalue()))
    cache.set(avatar_progress_key(avatar.pk), {"fraction": 0.2, "stage": "detecting the face"})
    try:
        progress = in_language(admin, "ko").get(reverse("console:avatar_progress", args=[avatar.pk])).json()
        assert progress["stage"] == "얼굴을 감지하는 중" and progress["fraction"] == 0.2
        detail = in_language(admin, "zh-hant").get(reverse("console:avatar_detail", args=[avatar.pk])).content.decode()
        assert "20% · 正在偵測臉部" in detail
    finally:
        cache.delete(avatar_progress_key(avatar.pk))


def test_the_invite_forms_role_choices_are_in_the_readers_language() -> None:
    from django.utils import translation

    from adminconsole.account_forms import UserInviteForm

    with translation.override("ja"):
        labels = [label for _value, label in UserInviteForm().fields["role"].choices]
    with translation.override("en"):
        english = [label for _value, label in UserInviteForm().fields["role"].choices]
    assert english == ["Staff", "Supervisor", "Admin"]
    assert labels != english and all(label for label in labels)
