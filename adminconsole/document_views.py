"""The document library (staff, like FAQs): upload (a drop zone over an ordinary file input),
the list with each document's index state, its chunks, re-index and delete. The checks are
the API's: ``knowledgebase.document_services``."""
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adminconsole.paging import paginate
from common.errors import ApplicationError
from common.languages import LANGUAGE_CHOICES
from common.roles import Role, role_required
from knowledgebase.document_services import document_create, document_delete, document_reindex
from knowledgebase.indexing import kb_encoder_installed
from knowledgebase.models import Document, FaqEntry
from knowledgebase.selectors import document_get, document_list

DOCUMENT_PAGE_SIZE = 25
ACCEPT = ".pdf,.md,.markdown,.txt,application/pdf,text/markdown,text/plain"


class DocumentUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (PDF, Markdown or plain text)"),
                           widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}))
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200, required=False,
                            help_text=gettext_lazy("Defaults to the file name."))
    language = forms.ChoiceField(label=gettext_lazy("Main language"), required=False,
                                 choices=[("", gettext_lazy("Detect from the text")), *LANGUAGE_CHOICES])
    publish = forms.BooleanField(label=gettext_lazy("Kiosks may answer from it at once"), required=False, initial=True,
                                 help_text=gettext_lazy("Otherwise it is a draft: only “try it” with drafts finds it."))

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        limit = int(settings.KB_DOCUMENT_MAX_BYTES)
        if upload.size > limit:  # before reading it into memory, as the API does
            raise forms.ValidationError(_("Documents are limited to %(size).1f MB.") % {"size": limit / 1024 / 1024})
        return upload


def index_state(document: Document, encoder_installed: bool) -> tuple[str, str]:
    """(pill class, words) for a document of ``document_list``: whether search finds it, and how."""
    if document.status != FaqEntry.Status.PUBLISHED:
        return "warn", _("Draft: kiosks don't use it")
    if not encoder_installed:
        return "ok", _("Searched by keywords (no sentence encoder installed)")
    embedded, total = getattr(document, "embedded_count", 0), getattr(document, "chunk_count", 0)
    if embedded >= total:
        return "ok", _("Indexed")
    return "warn", _("Indexing: %(done)d of %(total)d passages (found by keywords meanwhile)") % {
        "done": embedded, "total": total}


@role_required(Role.STAFF)
@require_http_methods(["GET", "POST"])
def document_list_view(request: HttpRequest) -> HttpResponse:
    form = DocumentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        publish = form.cleaned_data["publish"]
        try:
            document = document_create(
                content=upload.read(), filename=upload.name, title=form.cleaned_data["title"],
                language=form.cleaned_data["language"] or None, user=request.user,
                status=FaqEntry.Status.PUBLISHED if publish else FaqEntry.Status.DRAFT)
        except ApplicationError as exc:
            form.add_error("file", exc.message)
        else:
            count = document.chunks.count()
            messages.success(request, ngettext("“%(title)s” uploaded: %(count)d passage. %(when)s",
                                               "“%(title)s” uploaded: %(count)d passages. %(when)s", count) % {
                "title": document.title, "count": count,
                "when": _("Kiosks can answer from it from their next question.") if publish else
                _("It is a draft: kiosks don't use it.")})
            return redirect("console:document_detail", document_id=document.pk)
    listing = paginate(request, document_list(), per_page=DOCUMENT_PAGE_SIZE)
    installed = kb_encoder_installed()
    rows = [{"document": document, "state": index_state(document, installed)} for document in listing.page]
    return render(request, "console/documents/list.html", {"form": form, "listing": listing, "rows": rows},
                  status=400 if request.method == "POST" else 200)


@role_required(Role.STAFF)
@require_GET
def document_detail_view(request: HttpRequest, document_id: int) -> HttpResponse:
    document = document_get(document_id=document_id)
    return render(request, "console/documents/detail.html", {
        "document": document, "state": index_state(document, kb_encoder_installed()),
        "chunks": list(document.chunks.all()),
        "file_missing": not document.file or not document.file.storage.exists(document.file.name)})


@role_required(Role.STAFF)
@require_POST
def document_reindex_view(request: HttpRequest, document_id: int) -> HttpResponse:
    document = document_get(document_id=document_id)
    try:
        count = document_reindex(document=document, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Cut into %(count)d passages again; they are being embedded.") % {"count": count})
    return redirect("console:document_detail", document_id=document.pk)


@role_required(Role.STAFF)
@require_http_methods(["GET", "POST"])
def document_delete_view(request: HttpRequest, document_id: int) -> HttpResponse:
    document = document_get(document_id=document_id)
    if request.method == "POST":
        document_delete(document=document, user=request.user)
        messages.success(request, _("“%(title)s” deleted: kiosks no longer answer from it.") % {"title": document.title})
        return redirect("console:document_list")
    return render(request, "console/confirm.html", {
        "title": _("Delete “%(title)s”?") % {"title": document.title},
        "lines": [_("Its %(count)d passages leave the kiosks' answers at once, and the uploaded file is removed.")
                  % {"count": document.chunk_count},  # type: ignore[attr-defined]
                  _("This cannot be undone: to have it back, upload the file again.")],
        "button": _("Delete the document"),
        "cancel_url": reverse("console:document_detail", args=[document.pk]),
    })
