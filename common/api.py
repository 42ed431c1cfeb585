"""REST boundary: every error is ``{"error": {"code", "message", ...}}``, the shape the schema documents.

``ApplicationError`` carries its own code and status; DRF's own exceptions (validation, not
logged in, no role, not found, wrong method) keep their status and headers and get their
``default_code``, with a validation error's per-field messages under ``errors``. A URL under
``/api/`` that matches no route, or a request Django refuses before any view runs (a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE``, too many fields), answers the same JSON instead of the site's
HTML 404 or 400 page.
"""
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from common.errors import ApplicationError


def application_error_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response({"error": exc.as_dict()}, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        error = {"code": "invalid", "message": str(exceptions.ValidationError.default_detail), "errors": response.data}
    else:
        error = {"code": exc.default_code, "message": str(exc.detail)}
    response.data = {"error": error}
    return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: JSON for the API, the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": str(exceptions.NotFound.default_detail)}}, status=404)
    return page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: JSON for the API (413 for a body over the upload limit), the usual page elsewhere."""
    if not request.path.startswith("/api/"):
        return django_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        message = _("The request body is larger than the %(limit)d bytes allowed.") % {
            "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        return JsonResponse({"error": {"code": "request_too_large", "message": message}}, status=413)
    return JsonResponse({"error": {"code": "bad_request", "message": _("The request could not be read.")}}, status=400)
