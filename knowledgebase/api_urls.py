"""``/api/kb/``: knowledge-base endpoints."""
from django.urls import path, re_path

from knowledgebase import apis

urlpatterns = [
    re_path(r"^search/?$", apis.FaqSearchApi.as_view(), name="kb-search"),
    path("faqs/", apis.FaqListApi.as_view(), name="kb-faq-list"),
    path("faqs/<slug:key>/", apis.FaqDetailApi.as_view(), name="kb-faq-detail"),
    path("faqs/<slug:key>/publish/", apis.FaqPublishApi.as_view(), name="kb-faq-publish"),
    path("faqs/<slug:key>/unpublish/", apis.FaqUnpublishApi.as_view(), name="kb-faq-unpublish"),
    path("import/", apis.FaqImportApi.as_view(), name="kb-import"),
    path("export/", apis.FaqExportApi.as_view(), name="kb-export"),
    path("documents/", apis.DocumentListApi.as_view(), name="kb-document-list"),
    path("documents/<int:document_id>/", apis.DocumentDetailApi.as_view(), name="kb-document-detail"),
]
