"""``/api/health/backends/``: the live health of every avatar worker's backends (console roles only).

``/api/health/`` stays the anonymous liveness probe for load balancers; this one tells staff
which backend serves each stage on each worker, and why one is degraded or down, in the
workers' terms and in plain words (the console's health page: ``adminconsole.health_words``).
"""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adminconsole.health_words import health_in_words
from avatar_runtime.selectors import backend_health_snapshot
from knowledgebase.api_permissions import HasStaffRole
from knowledgebase.api_serializers import ErrorSerializer

STATES = ["healthy", "degraded", "down"]
LEVELS = ["ok", "warn", "bad"]


class BackendStatusSerializer(serializers.Serializer):
    component = serializers.CharField(help_text="vad, asr, retrieval, llm, tts:<language>, render, qa or aec.")
    state = serializers.ChoiceField(choices=STATES)
    backend = serializers.CharField(help_text="The backend serving it now, e.g. edge, piper, qwen, extractive.")
    reason = serializers.CharField(allow_blank=True)
    since = serializers.FloatField(help_text="Unix time the state last changed.")
    checked = serializers.FloatField(help_text="Unix time of the last report.")
    title = serializers.CharField(help_text="The component in plain words, e.g. Korean voice.")
    summary = serializers.CharField(help_text="What works, in plain words, e.g. using the backup voice (Kokoro) because ...")
    customers = serializers.CharField(allow_blank=True, help_text="What customers at the kiosk notice.")
    level = serializers.ChoiceField(choices=LEVELS, help_text="ok (green), warn (amber) or bad (red).")


class WorkerHealthSerializer(serializers.Serializer):
    worker_id = serializers.CharField()
    published_at = serializers.FloatField(help_text="Unix time of the worker's last publication.")
    age_s = serializers.FloatField()
    stale = serializers.BooleanField(help_text="No publication for a while: the worker is gone or stuck.")
    state = serializers.ChoiceField(choices=STATES, help_text="The worst state among its backends.")
    level = serializers.ChoiceField(choices=LEVELS, help_text="bad when stale or a backend is down; warn when degraded.")
    summary = serializers.CharField(help_text="The worker's state in one plain sentence.")
    backends = BackendStatusSerializer(many=True)


class BackendHealthSerializer(serializers.Serializer):
    workers = WorkerHealthSerializer(many=True)


class BackendHealthApi(APIView):
    permission_classes = [HasStaffRole]

    @extend_schema(tags=["health"], summary="Health of every avatar worker's backends, worst first",
                   responses={200: BackendHealthSerializer, 403: ErrorSerializer})
    def get(self, request: Request) -> Response:
        return Response(BackendHealthSerializer({"workers": health_in_words(backend_health_snapshot())}).data)
