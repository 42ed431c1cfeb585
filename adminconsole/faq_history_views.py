"""An FAQ's history with diffs, restoring an old version (diff first, the rest kept unless
chosen), and the translations that need updating since another language's answer changed."""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adminconsole.faq_diff import snapshot_diff
from adminconsole.faq_forms import RestoreForm
from adminconsole.paging import paginate
from common.languages import KIOSK_LANGUAGES, LANGUAGE_LABELS
from common.roles import Role, role_required
from knowledgebase.restore_plan import restore_options, restore_plan
from knowledgebase.selectors import faq_get, faq_outdated_list, faq_revision_get, faq_revision_list
from knowledgebase.services import faq_revert, faq_snapshot, faq_translation_confirm

OUTDATED_PAGE_SIZE = 50


@role_required(Role.STAFF)
@require_GET
def faq_history_view(request: HttpRequest, key: str) -> HttpResponse:
    entry = faq_get(key=key)
    revisions = faq_revision_list(entry=entry)
    items = []
    for index, revision in enumerate(revisions):
        previous = revisions[index + 1].snapshot if index + 1 < len(revisions) else None
        items.append({"revision": revision, "diff": snapshot_diff(previous, revision.snapshot), "current": index == 0})
    return render(request, "console/faqs/history.html", {"entry": entry, "items": items})


@role_required(Role.STAFF)
@require_http_methods(["GET", "POST"])
def faq_restore_view(request: HttpRequest, key: str, revision_id: int) -> HttpResponse:
    """GET: what restoring would change (``?preview`` with the form's choices redraws it); POST: restore."""
    entry = faq_get(key=key)
    revision = faq_revision_get(entry=entry, revision_id=revision_id)
    current = faq_snapshot(entry)
    options = restore_options(current, revision.snapshot)
    if request.method == "POST":
        form = RestoreForm(request.POST, options=options)
    else:
        form = RestoreForm(request.GET if "preview" in request.GET else None, options=options)
    if request.method == "POST" and form.is_valid():
        faq_revert(entry=entry, revision=revision, user=request.user, choice=form.choice())
        messages.success(request, _("Restored the version of %(when)s.") % {
            "when": date_format(timezone.localtime(revision.created_at), "Y-m-d H:i:s T")})
        return redirect("console:faq_edit", key=entry.key)
    planned = restore_plan(current, revision.snapshot, form.choice())
    return render(request, "console/faqs/restore.html", {
        "entry": entry, "revision": revision, "form": form, "diff": snapshot_diff(current, planned),
        "others": [LANGUAGE_LABELS.get(code, code) for code in options["others"]],
    }, status=400 if request.method == "POST" else 200)


@role_required(Role.STAFF)
@require_GET
def faq_outdated_view(request: HttpRequest) -> HttpResponse:
    """Translations to check: another language's answer changed after they were last edited."""
    listing = paginate(request, faq_outdated_list(), per_page=OUTDATED_PAGE_SIZE)
    return render(request, "console/faqs/outdated.html", {"listing": listing, "names": LANGUAGE_LABELS})


@role_required(Role.STAFF)
@require_POST
def faq_translation_confirm_view(request: HttpRequest, key: str, language: str) -> HttpResponse:
    """Staff checked the translation: it still says the right thing."""
    entry = faq_get(key=key)
    if language in KIOSK_LANGUAGES:
        faq_translation_confirm(entry=entry, language=language, user=request.user)
        messages.success(request, _("The %(language)s translation of “%(key)s” is marked up to date.") % {
            "language": LANGUAGE_LABELS[language], "key": entry.key})
    return redirect("console:faq_edit", key=entry.key)
