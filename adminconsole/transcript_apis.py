"""Transcript REST API (``/api/transcripts/``): the console's selectors behind DRF, supervisors only.

Reading a conversation through the API is logged like reading it in the console.
"""
import uuid
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adminconsole.transcript_selectors import (
    OUTCOMES,
    TranscriptFilters,
    access_conversation,
    conversation_list,
    conversation_turns,
)
from common.errors import MAX_ID
from common.languages import LANGUAGE_CHOICES
from common.roles import Role, has_role
from conversations.models import Conversation, TranscriptAccess
from conversations.transcript_access import transcript_access_record
from knowledgebase.api_serializers import ErrorSerializer

TAGS = ["transcripts"]
ERRORS = {400: ErrorSerializer, 403: ErrorSerializer}


class HasSupervisorRole(BasePermission):
    message = "Transcripts are for supervisors and admins."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and has_role(request.user, Role.SUPERVISOR))


class TranscriptQuerySerializer(serializers.Serializer):
    kiosk = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="Kiosk id.")
    date_from = serializers.DateField(required=False, help_text="Started on or after this day.")
    date_to = serializers.DateField(required=False, help_text="Started on or before this day.")
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False,
                                       help_text="Has a turn in this language.")
    outcome = serializers.ChoiceField(choices=OUTCOMES, required=False,
                                      help_text="answered: every answer came from the knowledge base; declined: one did not.")
    interrupted = serializers.BooleanField(required=False, allow_null=True, default=None)
    handoff = serializers.BooleanField(required=False, allow_null=True, default=None)
    qa_below = serializers.FloatField(required=False, min_value=0.0, max_value=20.0,
                                      help_text="A turn's lip-sync confidence below this (on its scorer's scale).")
    qa_flagged = serializers.BooleanField(required=False, allow_null=True, default=None,
                                          help_text="A turn's lip-sync confidence is under its scorer's threshold.")
    page = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": "The end date is before the start date."})
        return attrs

    def filters(self) -> TranscriptFilters:
        data = self.validated_data
        return TranscriptFilters(kiosk_id=data.get("kiosk"), date_from=data.get("date_from"), date_to=data.get("date_to"),
                                 language=data.get("language"), outcome=data.get("outcome"),
                                 interrupted=data.get("interrupted"), handoff=data.get("handoff"),
                                 qa_below=data.get("qa_below"), qa_flagged=data.get("qa_flagged"))


class ConversationSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    kiosk = serializers.CharField(source="kiosk.name", allow_null=True, default=None)
    languages = serializers.ListField(child=serializers.CharField())
    handoff_requested = serializers.BooleanField()
    turn_count = serializers.IntegerField()
    answered_count = serializers.IntegerField()
    declined_count = serializers.IntegerField()
    interrupted_count = serializers.IntegerField()
    first_question = serializers.CharField(allow_null=True)


class RetrievedSerializer(serializers.Serializer):
    key = serializers.CharField()
    score = serializers.FloatField()


class TurnSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="turn.public_id")
    index = serializers.IntegerField(source="turn.index")
    role = serializers.CharField(source="turn.role")
    text = serializers.CharField(source="turn.text")
    language = serializers.CharField(source="turn.language")
    asr_confidence = serializers.FloatField(source="turn.asr_confidence", allow_null=True)
    retrieved = RetrievedSerializer(source="turn.retrieved", many=True)
    answerable = serializers.BooleanField(source="turn.answerable", allow_null=True)
    interrupted = serializers.BooleanField(source="turn.interrupted")
    heard_text = serializers.CharField(source="turn.heard_text")
    voice = serializers.CharField(source="turn.voice", help_text="The language's voice as the answer began "
                                                                 "(backend:name): the configured one unless this host "
                                                                 "cannot use it; empty for the customer's turns.")
    spoken_voice = serializers.CharField(source="turn.spoken_voice",
                                         help_text="The voice that actually spoke the answer (backend:name): the "
                                                   "fallback's when the configured voice failed; empty if unknown.")
    timings = serializers.DictField(source="turn.timings", child=serializers.FloatField(),
                                    help_text="Stage -> milliseconds.")
    unanswered = serializers.BooleanField(help_text="A customer question the avatar declined.")
    audio_clip = serializers.SerializerMethodField(help_text="URL of the customer's recording (supervisors only).")
    answer_clip = serializers.SerializerMethodField(help_text="URL of the avatar's answer clip (supervisors only).")

    def _clip(self, item: Any, kind: str) -> str | None:
        field = item.turn.audio_clip if kind == "audio" else item.turn.answer_clip
        if not field:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("console:transcript_clip", args=[item.turn.public_id, kind]))

    @extend_schema_field(OpenApiTypes.URI)
    def get_audio_clip(self, item: Any) -> str | None:
        return self._clip(item, "audio")

    @extend_schema_field(OpenApiTypes.URI)
    def get_answer_clip(self, item: Any) -> str | None:
        return self._clip(item, "answer")


class ConversationDetailSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    end_reason = serializers.CharField()
    kiosk = serializers.CharField(source="kiosk.name", allow_null=True, default=None)
    languages = serializers.ListField(child=serializers.CharField())
    handoff_requested = serializers.BooleanField()
    turns = serializers.SerializerMethodField()

    @extend_schema_field(TurnSerializer(many=True))
    def get_turns(self, conversation: Conversation) -> Any:
        return TurnSerializer(self.context["turns"], many=True, context=self.context).data


class TranscriptListApi(APIView):
    permission_classes = [HasSupervisorRole]

    class Pagination(PageNumberPagination):
        page_size = 25

    pagination_class = Pagination  # also what documents the list as paginated in the schema

    @extend_schema(tags=TAGS, summary="List conversations (filtered, newest first)", parameters=[TranscriptQuerySerializer],
                   # 404: a page past the last one
                   responses={200: ConversationSummarySerializer(many=True), 404: ErrorSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        query = TranscriptQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(conversation_list(filters=query.filters()), request, view=self)
        return paginator.get_paginated_response(ConversationSummarySerializer(page, many=True).data)


class TranscriptDetailApi(APIView):
    permission_classes = [HasSupervisorRole]

    @extend_schema(tags=TAGS, summary="One conversation with all its turns (the read is logged)",
                   responses={200: ConversationDetailSerializer, 404: ErrorSerializer, **ERRORS})
    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        conversation: Conversation = access_conversation(request.user, public_id)
        turns = conversation_turns(conversation=conversation)
        transcript_access_record(user=request.user, action=TranscriptAccess.Action.VIEW, conversation_id=public_id,
                                 detail={"channel": "api"})
        context = {"request": request, "turns": turns}
        return Response(ConversationDetailSerializer(conversation, context=context).data)
