"""``/api/health/backends/``: the live health of every avatar worker's backends (console roles only).

``/api/health/`` stays the anonymous liveness probe for load balancers; this one tells staff
which backend serves each stage on each worker, and why one is degraded or down.
"""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from avatar_runtime.selectors import backend_health_snapshot
from knowledgebase.api_permissions import HasStaffRole
from knowledgebase.api_serializers import ErrorSerializer

STATES = ["healthy", "degraded", "down"]


class BackendStatusSerializer(serializers.Serializer):
    component = serializers.CharField(help_text="vad, asr, retrieval, llm, tts:<language>, render, qa or aec.")
    state = serializers.ChoiceField(choices=STATES)
    backend = serializers.CharField(help_text="The backend serving it now, e.g. edge, piper, qwen, extractive.")
    reason = serializers.CharField(allow_blank=True)
    since = serializers.FloatField(help_text="Unix time the state last changed.")
    checked = serializers.FloatField(help_text="Unix time of the last report.")


class WorkerHealthSerializer(serializers.Serializer):
    worker_id = serializers.CharField()
    published_at = serializers.FloatField(help_text="Unix time of the worker's last publication.")
    age_s = serializers.FloatField()
    stale = serializers.BooleanField(help_text="No publication for a while: the worker is gone or stuck.")
    state = serializers.ChoiceField(choices=STATES, help_text="The worst state among its backends.")
    backends = BackendStatusSerializer(many=True)


class BackendHealthSerializer(serializers.Serializer):
    workers = WorkerHealthSerializer(many=True)


class BackendHealthApi(APIView):
    permission_classes = [HasStaffRole]

    @extend_schema(tags=["health"], summary="Health of every avatar worker's backends, worst first",
                   responses={200: BackendHealthSerializer, 403: ErrorSerializer})
    def get(self, request: Request) -> Response:
        return Response(BackendHealthSerializer({"workers": backend_health_snapshot()}).data)
