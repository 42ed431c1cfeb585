"""Avatars (admins): upload (photo or video), preparation progress, preview clip, detected boxes, mouth region,
kiosks, deletion."""
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from PIL import Image

from avatars.models import Avatar
from avatars.services import (
    MAX_AVATAR_BYTES,
    MOUTH_UNSURE_BELOW,
    avatar_create,
    avatar_mouth_set,
    avatar_progress,
)
from common.errors import ApplicationError
from common.roles import Role, role_required
from kiosk.fleet import avatar_assign, avatar_delete, avatar_kiosk_names
from kiosk.models import Kiosk


class AvatarUploadForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    photo = forms.FileField(
        label=gettext_lazy("Portrait photo (JPEG, PNG or WebP) or short video (MP4, WebM or MOV), up to 10 MB"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,video/mp4,video/webm,video/quicktime"}))
    license_note = forms.CharField(label=gettext_lazy("Licence / consent note"), max_length=300, required=False)

    def clean_photo(self) -> object:
        photo = self.cleaned_data["photo"]
        if photo.size > MAX_AVATAR_BYTES:
            raise forms.ValidationError(_("Uploads are limited to 10 MB."))
        return photo


class MouthForm(forms.Form):
    x1 = forms.IntegerField(label="x1", min_value=0)
    y1 = forms.IntegerField(label="y1", min_value=0)
    x2 = forms.IntegerField(label="x2", min_value=0)
    y2 = forms.IntegerField(label="y2", min_value=0)


def _boxes(avatar: Avatar) -> dict[str, object] | None:
    """Face and mouth boxes as percentages of the photo, for the overlay on the preview (None before
    a video's frame is chosen)."""
    if not avatar.source:
        return None
    with avatar.source.open("rb") as handle, Image.open(handle) as image:
        width, height = image.size

    def percent(box: list[int] | None) -> dict[str, float] | None:
        if not box:
            return None
        x1, y1, x2, y2 = box
        return {"left": 100 * x1 / width, "top": 100 * y1 / height, "width": 100 * (x2 - x1) / width,
                "height": 100 * (y2 - y1) / height}

    return {"face": percent(avatar.face_box), "mouth": percent(avatar.mouth_box), "width": width, "height": height}


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def avatar_list_view(request: HttpRequest) -> HttpResponse:
    form = AvatarUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            avatar = avatar_create(name=form.cleaned_data["name"], content=form.cleaned_data["photo"].read(),
                                   license_note=form.cleaned_data["license_note"], user=request.user)
        except ApplicationError as exc:
            form.add_error("photo" if exc.code.startswith("avatar_") and exc.code != "avatar_invalid" else "name", exc.message)
        else:
            messages.success(request, _("Uploaded. Preparing the avatar…"))
            return redirect("console:avatar_detail", avatar_id=avatar.pk)
    avatars = Avatar.objects.order_by("name").prefetch_related("kiosks")
    return render(request, "console/avatars/list.html",
                  {"form": form, "avatars": avatars, "video_max_seconds": settings.AVATAR_VIDEO_MAX_SECONDS},
                  status=400 if request.method == "POST" else 200)


@role_required(Role.ADMIN)
@require_GET
def avatar_detail_view(request: HttpRequest, avatar_id: int) -> HttpResponse:
    avatar = get_object_or_404(Avatar, pk=avatar_id)
    mouth = avatar.mouth_box or [0, 0, 0, 0]
    return render(request, "console/avatars/detail.html", {
        "avatar": avatar, "boxes": _boxes(avatar), "progress": _progress(avatar.pk),
        "mouth_form": MouthForm(initial=dict(zip(("x1", "y1", "x2", "y2"), mouth, strict=True))),
        "kiosks": Kiosk.objects.order_by("name").select_related("avatar"),
        "busy": avatar.status in (Avatar.Status.UPLOADED, Avatar.Status.PREPARING),
        "mouth_unsure": avatar.mouth_confidence is not None and avatar.mouth_confidence < MOUTH_UNSURE_BELOW,
    })


def _progress(avatar_id: int) -> dict[str, object]:
    """The preparation's progress, its stage (written by the job in English) in the reader's language."""
    progress = avatar_progress(avatar_id)
    return {**progress, "stage": _(str(progress["stage"]))}


@role_required(Role.ADMIN)
@require_GET
def avatar_progress_view(request: HttpRequest, avatar_id: int) -> JsonResponse:
    avatar = get_object_or_404(Avatar, pk=avatar_id)
    return JsonResponse({**_progress(avatar.pk), "status": avatar.status, "error": avatar.preparation_error})


@role_required(Role.ADMIN)
@require_GET
def avatar_source_view(request: HttpRequest, avatar_id: int) -> FileResponse:
    avatar = get_object_or_404(Avatar, pk=avatar_id)
    if not avatar.source:
        raise Http404("no still yet")
    return FileResponse(avatar.source.open("rb"))


@role_required(Role.ADMIN)
@require_GET
def avatar_preview_view(request: HttpRequest, avatar_id: int) -> FileResponse:
    avatar = get_object_or_404(Avatar, pk=avatar_id)
    if not avatar.preview_clip:
        raise Http404("no preview clip yet")
    return FileResponse(avatar.preview_clip.open("rb"), content_type="video/mp4")


@role_required(Role.ADMIN)
@require_POST
def avatar_mouth_view(request: HttpRequest, avatar_id: int) -> HttpResponse:
    avatar = get_object_or_404(Avatar, pk=avatar_id)
    form = MouthForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the mouth box as four whole numbers of pixels."))
        return redirect("console:avatar_detail", avatar_id=avatar.pk)
    box = [form.cleaned_data[k] for k in ("x1", "y1", "x2", "y2")]
    try:
        avatar_mouth_set(avatar=avatar, mouth_box=box, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Mouth region saved; preparing the avatar again."))
    return redirect("console:avatar_detail", avatar_id=avatar.pk)


@role_required(Role.ADMIN)
@require_POST
def avatar_assign_view(request: HttpRequest, avatar_id: int) -> HttpResponse:
    avatar = get_object_or_404(Avatar, pk=avatar_id)
    ids = [int(v) for v in request.POST.getlist("kiosks") if v.isdigit()]
    names = avatar_assign(avatar=avatar, kiosk_ids=ids, user=request.user)
    messages.success(request, _("Shown on: %(kiosks)s") % {"kiosks": ", ".join(names) or "—"})
    return redirect("console:avatar_detail", avatar_id=avatar.pk)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def avatar_delete_view(request: HttpRequest, avatar_id: int) -> HttpResponse:
    """Confirm, then delete the avatar and its files; refused while a kiosk shows it (naming the kiosks)."""
    avatar = get_object_or_404(Avatar, pk=avatar_id)
    blockers: list[str] = []
    if request.method == "POST":
        try:
            avatar_delete(avatar=avatar, user=request.user)
        except ApplicationError as exc:
            blockers.append(exc.message)
        else:
            messages.success(request, _("Avatar “%(name)s” and its files are deleted.") % {"name": avatar.name})
            return redirect("console:avatar_list")
    elif kiosks := avatar_kiosk_names(avatar):
        blockers.append(_("It is shown on %(kiosks)s: choose another avatar for those kiosks first.") % {
            "kiosks": ", ".join(kiosks)})
    elif avatar.status == Avatar.Status.PREPARING:
        blockers.append(_("It is being prepared; delete it once that has finished."))
    return render(request, "console/confirm.html", {
        "title": _("Delete the avatar “%(name)s”?") % {"name": avatar.name},
        "lines": [_("Its photo or video and its preview clip are deleted with it; lip-sync scores keep their "
                    "numbers without it."), _("This cannot be undone.")],
        "blockers": blockers, "button": _("Delete the avatar"),
        "cancel_url": reverse("console:avatar_detail", args=[avatar.pk]),
    }, status=409 if blockers and request.method == "POST" else 200)
