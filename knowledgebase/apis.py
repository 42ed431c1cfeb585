"""Knowledge-base REST API (``/api/kb/``): search, FAQ CRUD, publish, import and export, documents.

Thin edges: each view validates its input with a serializer, calls one selector or service
and serialises the result. Errors are ``ApplicationError`` (rendered by
``common.api.application_error_handler``). Every endpoint needs a console role.
"""
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import ApplicationError
from knowledgebase.api_permissions import HasStaffRole
from knowledgebase.api_serializers import (
    DocumentDetailSerializer,
    DocumentListQuerySerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    ErrorSerializer,
    ExportQuerySerializer,
    FaqCreateSerializer,
    FaqListQuerySerializer,
    FaqSerializer,
    FaqUpdateSerializer,
    ImportReportSerializer,
    ImportSerializer,
    SearchQuerySerializer,
    SearchResultSerializer,
    translations_data,
)
from knowledgebase.document_services import document_create, document_delete
from knowledgebase.exporting import FORMATS, faq_export
from knowledgebase.selectors import SearchHit, document_get, document_list, faq_get, faq_list, faq_search
from knowledgebase.services import (
    faq_create,
    faq_delete,
    faq_import_file,
    faq_publish,
    faq_unpublish,
    faq_update,
)

MAX_IMPORT_BYTES = 5 * 1024 * 1024
ERRORS = {400: ErrorSerializer, 403: ErrorSerializer}
# An upload whose body is not a readable multipart form (DRF answers 415).
UNREADABLE_FORM = {415: OpenApiResponse(ErrorSerializer, description="The body is not a readable multipart form.")}
LIST_ERRORS = {**ERRORS, 404: ErrorSerializer}  # 404: a page past the last one
TAGS = ["knowledge base"]


class KbApi(APIView):
    permission_classes = [HasStaffRole]


class FaqSearchApi(KbApi):
    @extend_schema(tags=TAGS, summary="Search the published FAQs in any kiosk language",
                   parameters=[SearchQuerySerializer], responses={200: SearchResultSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        result = faq_search(params.validated_data["q"], params.validated_data.get("lang"), params.validated_data["k"])
        return Response({
            "answerable": result.answerable,
            "confidence": round(result.confidence, 4),
            "mode": result.mode,
            "results": [{**hit.as_dict(), "translations": _translations(hit)} for hit in result.results],
        })


def _translations(hit: SearchHit) -> dict[str, dict[str, str]]:
    return {language: {"question": question, "answer": answer} for language, (question, answer) in hit.translations.items()}


class FaqListApi(KbApi):
    class Pagination(PageNumberPagination):
        page_size = 50

    pagination_class = Pagination  # also what documents the list as paginated in the schema

    @extend_schema(tags=TAGS, summary="List FAQ entries", parameters=[FaqListQuerySerializer],
                   responses={200: FaqSerializer(many=True), **LIST_ERRORS})
    def get(self, request: Request) -> Response:
        filters = FaqListQuerySerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        data.pop("page", None)
        entries = faq_list(tag=data.get("tag"), status=data.get("status"), has_language=data.get("has_language"),
                           missing_language=data.get("missing_language"), query=data.get("q"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(FaqSerializer(page, many=True).data)

    @extend_schema(tags=TAGS, summary="Create an FAQ entry", request=FaqCreateSerializer,
                   responses={201: FaqSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        body = FaqCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        entry = faq_create(key=data["key"], status=data["status"], tags=data["tags"],
                           translations=translations_data(data["translations"]), user=request.user)
        return Response(FaqSerializer(faq_get(key=entry.key)).data, status=status.HTTP_201_CREATED)


class FaqDetailApi(KbApi):
    @extend_schema(tags=TAGS, summary="One FAQ entry", responses={200: FaqSerializer, 404: ErrorSerializer})
    def get(self, request: Request, key: str) -> Response:
        return Response(FaqSerializer(faq_get(key=key)).data)

    @extend_schema(tags=TAGS, summary="Replace an entry's translations and/or tags", request=FaqUpdateSerializer,
                   responses={200: FaqSerializer, 404: ErrorSerializer, **ERRORS})
    def put(self, request: Request, key: str) -> Response:
        return self._update(request, key)

    @extend_schema(tags=TAGS, summary="Replace an entry's translations and/or tags", request=FaqUpdateSerializer,
                   responses={200: FaqSerializer, 404: ErrorSerializer, **ERRORS})
    def patch(self, request: Request, key: str) -> Response:
        return self._update(request, key)

    def _update(self, request: Request, key: str) -> Response:
        body = FaqUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        translations = translations_data(data["translations"]) if "translations" in data else None
        faq_update(entry=faq_get(key=key), translations=translations, tags=data.get("tags"), user=request.user)
        return Response(FaqSerializer(faq_get(key=key)).data)

    @extend_schema(tags=TAGS, summary="Delete an entry (its history stays)", responses={204: None, 404: ErrorSerializer})
    def delete(self, request: Request, key: str) -> Response:
        faq_delete(entry=faq_get(key=key), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FaqPublishApi(KbApi):
    @extend_schema(tags=TAGS, summary="Publish an entry (the avatar starts using it)", request=None,
                   responses={200: FaqSerializer, 404: ErrorSerializer})
    def post(self, request: Request, key: str) -> Response:
        faq_publish(entry=faq_get(key=key), user=request.user)
        return Response(FaqSerializer(faq_get(key=key)).data)


class FaqUnpublishApi(KbApi):
    @extend_schema(tags=TAGS, summary="Unpublish an entry (back to draft)", request=None,
                   responses={200: FaqSerializer, 404: ErrorSerializer})
    def post(self, request: Request, key: str) -> Response:
        faq_unpublish(entry=faq_get(key=key), user=request.user)
        return Response(FaqSerializer(faq_get(key=key)).data)


class FaqImportApi(KbApi):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(tags=TAGS, summary="Import FAQs from a JSONL or CSV file (new entries are drafts unless publish)",
                   request={"multipart/form-data": ImportSerializer},
                   responses={200: ImportReportSerializer,
                              400: OpenApiResponse(ErrorSerializer, description="Bad rows, with their line numbers."),
                              403: ErrorSerializer, **UNREADABLE_FORM})
    def post(self, request: Request) -> Response:
        body = ImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ApplicationError("import_too_large", f"Import files are limited to {MAX_IMPORT_BYTES // 1024 // 1024} MB.")
        report = faq_import_file(content=upload.read(), filename=upload.name, user=request.user,
                                 skip_bad=body.validated_data["skip_bad"], publish=body.validated_data["publish"])
        return Response(ImportReportSerializer(report.as_dict()).data)


class FaqExportApi(KbApi):
    @extend_schema(tags=TAGS, summary="Download every FAQ translation (the columns import reads)",
                   parameters=[ExportQuerySerializer],
                   responses={(200, "application/x-ndjson"): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.BINARY,
                              **ERRORS})
    def get(self, request: Request) -> HttpResponse:
        params = ExportQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        fmt: str = params.validated_data["file_format"]
        content = faq_export(fmt=fmt, status=params.validated_data.get("status"))
        response = HttpResponse(content, content_type=f"{FORMATS[fmt]}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="faqs.{fmt}"'
        return response


class DocumentListApi(KbApi):
    parser_classes = [MultiPartParser, FormParser]

    class Pagination(PageNumberPagination):
        page_size = 50

    pagination_class = Pagination  # also what documents the list as paginated in the schema

    @extend_schema(tags=TAGS, summary="List uploaded documents, newest first", parameters=[DocumentListQuerySerializer],
                   responses={200: DocumentSerializer(many=True), **LIST_ERRORS})
    def get(self, request: Request) -> Response:
        filters = DocumentListQuerySerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        documents = document_list(language=filters.validated_data.get("language"), query=filters.validated_data.get("q"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(documents, request, view=self)
        return paginator.get_paginated_response(DocumentSerializer(page, many=True).data)

    @extend_schema(tags=TAGS, summary="Upload a PDF, Markdown or text document (chunked and searched as a second source)",
                   request={"multipart/form-data": DocumentUploadSerializer},
                   responses={201: DocumentDetailSerializer,
                              400: OpenApiResponse(ErrorSerializer, description="Unsupported type, unreadable or empty."),
                              413: OpenApiResponse(ErrorSerializer, description="Over the size limit."),
                              403: ErrorSerializer, **UNREADABLE_FORM})
    def post(self, request: Request) -> Response:
        body = DocumentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        upload = data["file"]
        if upload.size > settings.KB_DOCUMENT_MAX_BYTES:  # before reading it into memory
            raise ApplicationError("document_too_large", f"Documents are limited to "
                                   f"{settings.KB_DOCUMENT_MAX_BYTES / 1024 / 1024:.1f} MB.", status=413)
        document = document_create(content=upload.read(), filename=upload.name, title=data["title"],
                                   language=data.get("language"), status=data["status"], user=request.user)
        return Response(DocumentDetailSerializer(document_get(document_id=document.pk)).data,
                        status=status.HTTP_201_CREATED)


class DocumentDetailApi(KbApi):
    @extend_schema(tags=TAGS, summary="One document with its chunks",
                   responses={200: DocumentDetailSerializer, 404: ErrorSerializer})
    def get(self, request: Request, document_id: int) -> Response:
        return Response(DocumentDetailSerializer(document_get(document_id=document_id)).data)

    @extend_schema(tags=TAGS, summary="Delete a document (search stops finding it)",
                   responses={204: None, 404: ErrorSerializer})
    def delete(self, request: Request, document_id: int) -> Response:
        document_delete(document=document_get(document_id=document_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
