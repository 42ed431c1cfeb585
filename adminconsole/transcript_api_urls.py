from django.urls import path

from adminconsole.transcript_apis import TranscriptDetailApi, TranscriptListApi

urlpatterns = [
    path("", TranscriptListApi.as_view(), name="api-transcript-list"),
    path("<uuid:public_id>/", TranscriptDetailApi.as_view(), name="api-transcript-detail"),
]
