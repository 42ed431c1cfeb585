"""REST boundary: ``ApplicationError`` becomes a JSON body with its code and status."""
from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler

from common.errors import ApplicationError


def application_error_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response({"error": exc.as_dict()}, status=exc.status)
    return exception_handler(exc, context)
