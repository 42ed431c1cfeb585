"""FAQ screens: list and filters, side-by-side editor, publish, archive, import/export and "try it"
(history, restore and translations to update: ``faq_history_views``). Business logic lives in
``knowledgebase``."""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adminconsole.faq_forms import FaqEditorForm, FaqFilterForm, FaqImportForm, TryItForm
from adminconsole.paging import paginate
from adminconsole.tryit import faq_try
from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES, LANGUAGE_CHOICES
from common.roles import Role, role_required
from knowledgebase.exporting import FORMATS, faq_export
from knowledgebase.generated_phrasings import generated_alternate_update, phrasings_progress
from knowledgebase.models import FaqEntry
from knowledgebase.selectors import faq_get, faq_list
from knowledgebase.services import (
    faq_archive,
    faq_create,
    faq_import_file,
    faq_publish,
    faq_unarchive,
    faq_unpublish,
    faq_update,
)

FAQ_PAGE_SIZE = 25


@role_required(Role.STAFF)
@require_GET
def faq_list_view(request: HttpRequest) -> HttpResponse:
    filters = FaqFilterForm(request.GET)
    entries = faq_list(**_list_args(filters.filters()))
    listing = paginate(request, entries, per_page=FAQ_PAGE_SIZE)
    rows = []
    for entry in listing.page:
        by_language = {t.language: t for t in entry.translations.all()}
        shown = next((by_language[code] for code in ("en", *KIOSK_LANGUAGES) if code in by_language), None)
        rows.append({"entry": entry, "question": shown.question if shown else "",
                     "languages": [(code, code in by_language) for code in KIOSK_LANGUAGES],
                     "tags": [tag.name for tag in entry.tags.all()]})
    return render(request, "console/faqs/list.html", {
        "filters": filters, "listing": listing, "rows": rows, "try_form": TryItForm(),
    })


def _list_args(filters: dict[str, str | None]) -> dict[str, str | None]:
    return {"tag": filters["tag"], "status": filters["status"], "has_language": filters["has_language"],
            "missing_language": filters["missing_language"], "query": filters["q"]}


@role_required(Role.STAFF)
@require_http_methods(["GET", "POST"])
def faq_create_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = FaqEditorForm(request.POST)
        if form.is_valid():
            try:
                entry = faq_create(key=form.cleaned_data["key"], translations=form.translations(),
                                   tags=form.tag_names(), user=request.user)
            except ApplicationError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("FAQ “%(key)s” created as a draft: kiosks don't use it until it is "
                                            "published.") % {"key": entry.key})
                return redirect("console:faq_edit", key=entry.key)
    else:
        form = FaqEditorForm(initial=_prefill(request))
    return render(request, "console/faqs/edit.html", {"form": form, "entry": None, "try_form": TryItForm(),
                                                      "columns": form.columns()})


def _prefill(request: HttpRequest) -> dict[str, str]:
    """``?question=...&language=...``: an unanswered customer question turned into a new FAQ."""
    question = request.GET.get("question", "").strip()[:1000]
    language = request.GET.get("language", "")
    return {f"{language}-question": question} if question and language in KIOSK_LANGUAGES else {}


def _form_error(form: FaqEditorForm, exc: ApplicationError) -> None:
    errors = exc.extra.get("errors")
    if isinstance(errors, dict):
        form.add_service_errors({str(k): str(v) for k, v in errors.items()})
    if exc.code == "faq_exists":
        form.add_error("key", exc.message)
    elif not isinstance(errors, dict):
        form.add_error(None, exc.message)


@role_required(Role.STAFF)
@require_http_methods(["GET", "POST"])
def faq_edit_view(request: HttpRequest, key: str) -> HttpResponse:
    entry = faq_get(key=key)
    if request.method == "POST":
        form = FaqEditorForm(request.POST, initial={"key": entry.key}, editing=True)
        if form.is_valid():
            try:
                faq_update(entry=entry, translations=form.translations(), tags=form.tag_names(), user=request.user)
            except ApplicationError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _saved_message(entry))
                return redirect("console:faq_edit", key=entry.key)
    else:
        form = FaqEditorForm(initial=FaqEditorForm.initial_for(entry), editing=True)
    try_form = TryItForm(initial={"q": _first_question(entry)})
    outdated = {t.language: t for t in entry.translations.all() if t.outdated_since is not None}
    generated = [{"language": t.language, "phrasings": list(enumerate(t.generated_alternates))}
                 for t in entry.translations.all() if t.generated_alternates]
    return render(request, "console/faqs/edit.html", {
        "form": form, "entry": entry, "try_form": try_form, "columns": form.columns(outdated),
        "generated": generated, "generation": phrasings_progress(entry.pk),
    })


def _saved_message(entry: FaqEntry) -> str:
    """What saving did for the kiosks: a published entry's change reaches them at their next
    question (the save tells every process's search index to rebuild, which embeds a small change
    inline); a draft or archived entry is not on any kiosk."""
    if entry.status == FaqEntry.Status.PUBLISHED:
        return _("Saved. It is published: kiosks answer with the new wording from their next question, "
                 "as the search index refreshes when the change is saved.")
    if entry.status == FaqEntry.Status.ARCHIVED:
        return _("Saved. It is archived: no kiosk uses it.")
    return _("Saved as a draft: kiosks don't use it until it is published. Try it with “Include drafts” to test it.")


@role_required(Role.STAFF)
@require_POST
def faq_generated_view(request: HttpRequest, key: str, language: str, position: int) -> HttpResponse:
    """Edit (``text``) or remove (``remove``) one phrasing a language model generated for a translation."""
    entry = faq_get(key=key)
    translation = next((t for t in entry.translations.all() if t.language == language), None)
    if translation is None:
        messages.error(request, _("That translation no longer exists."))
        return redirect("console:faq_edit", key=entry.key)
    text = None if "remove" in request.POST else request.POST.get("text", "")
    try:
        generated_alternate_update(translation=translation, position=position, text=text, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Generated phrasing removed.") if text is None else _("Generated phrasing saved."))
    return redirect("console:faq_edit", key=entry.key)


def _first_question(entry: FaqEntry) -> str:
    by_language = {t.language: t.question for t in entry.translations.all()}
    return by_language.get("en") or next(iter(by_language.values()), "")


def _next_or_editor(request: HttpRequest, key: str) -> str:
    """Where to go after publishing: the page that asked (same site only), else the entry's editor."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("console:faq_edit", args=[key])


@role_required(Role.STAFF)
@require_POST
def faq_publish_view(request: HttpRequest, key: str) -> HttpResponse:
    entry = faq_publish(entry=faq_get(key=key), user=request.user)
    messages.success(request, _("“%(key)s” is published: the avatar answers with it now.") % {"key": entry.key})
    return redirect(_next_or_editor(request, entry.key))


@role_required(Role.STAFF)
@require_POST
def faq_unpublish_view(request: HttpRequest, key: str) -> HttpResponse:
    entry = faq_unpublish(entry=faq_get(key=key), user=request.user)
    messages.success(request, _("“%(key)s” is a draft again: the avatar no longer uses it.") % {"key": entry.key})
    return redirect(_next_or_editor(request, entry.key))


@role_required(Role.STAFF)
@require_http_methods(["GET", "POST"])
def faq_archive_view(request: HttpRequest, key: str) -> HttpResponse:
    """Confirm, then archive: the entry leaves the kiosks' answers at once and can be restored."""
    entry = faq_get(key=key)
    if request.method == "POST":
        faq_archive(entry=entry, user=request.user)
        messages.success(request, _("“%(key)s” is archived: kiosks no longer answer with it. Restore it from the "
                                    "archived FAQs when it is needed again.") % {"key": entry.key})
        return redirect("console:faq_list")
    return render(request, "console/confirm.html", {
        "title": _("Archive “%(key)s”?") % {"key": entry.key},
        "lines": [_("Kiosks stop answering with it at once, in every language."),
                  _("Its translations and history are kept: restoring it brings it back as a draft.")],
        "button": _("Archive"), "cancel_url": reverse("console:faq_edit", args=[entry.key]),
    })


@role_required(Role.STAFF)
@require_POST
def faq_unarchive_view(request: HttpRequest, key: str) -> HttpResponse:
    entry = faq_unarchive(entry=faq_get(key=key), user=request.user)
    messages.success(request, _("“%(key)s” is restored as a draft: publish it for the kiosks to use it.") % {
        "key": entry.key})
    return redirect("console:faq_edit", key=entry.key)


@role_required(Role.STAFF)
@require_http_methods(["GET", "POST"])
def faq_import_view(request: HttpRequest) -> HttpResponse:
    form = FaqImportForm(request.POST or None, request.FILES or None)
    errors: list[object] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = faq_import_file(content=upload.read(), filename=upload.name, user=request.user,
                                     publish=form.cleaned_data["publish"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            errors = list(exc.extra.get("errors") or [])  # type: ignore[call-overload]
        else:
            messages.success(request, _("Imported: %(created)d new, %(updated)d updated, %(unchanged)d unchanged.") % {
                "created": report.created, "updated": report.updated, "unchanged": report.unchanged})
            if report.created and not form.cleaned_data["publish"]:
                messages.info(request, _("The new entries are drafts: the avatar uses them once they are published."))
            return redirect("console:faq_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "console/faqs/import.html", {"form": form, "errors": errors}, status=status)


@role_required(Role.STAFF)
@require_GET
def faq_export_view(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    status = request.GET.get("status") or None
    if fmt not in FORMATS or (status and status not in FaqEntry.Status.values):
        return HttpResponse(_("Unknown export format or status."), status=400, content_type="text/plain")
    response = HttpResponse(faq_export(fmt=fmt, status=status), content_type=f"{FORMATS[fmt]}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="faqs.{fmt}"'
    return response


@role_required(Role.STAFF)
@require_GET
def faq_try_view(request: HttpRequest) -> HttpResponse:
    """Retrieval and the avatar's answer for a question; a fragment when fetched by the page's script."""
    form = TryItForm(request.GET)
    result, error = None, ""
    if form.is_valid():
        try:
            result = faq_try(query=form.cleaned_data["q"], language=form.cleaned_data["language"],
                             include_drafts=form.cleaned_data["include_drafts"])
        except ApplicationError as exc:
            error = exc.message
    context = {"try_form": form, "result": result, "error": error, "languages": LANGUAGE_CHOICES}
    fragment = request.headers.get("X-Console-Fragment") == "1"
    template = "console/faqs/_tryit_result.html" if fragment else "console/faqs/tryit.html"
    return render(request, template, context, status=200 if form.is_valid() and not error else 400)
