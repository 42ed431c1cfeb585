"""API root and liveness: the two endpoints that answer without logging in."""
from django.db import connection
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


class ApiRootApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Name, version and links of the API")
    def get(self, request: Request) -> Response:
        return Response(
            {
                "name": "Kiosk Avatar API",
                "version": "0.1.0",
                "schema": reverse("api-schema", request=request),
                "docs": reverse("api-docs", request=request),
                "health": reverse("api-health", request=request),
            }
        )


class HealthApi(APIView):
    """Liveness for load balancers: the process answers and the database is reachable."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Liveness: the process and the database answer")
    def get(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Response({"status": "ok"})
