"""The REST API's URL table; each app contributes its own ``api_urls``."""
from django.urls import include, path

from adminconsole.health_apis import BackendHealthApi
from config.api import ApiRootApi, HealthApi

urlpatterns = [
    path("", ApiRootApi.as_view(), name="api-root"),
    path("health/", HealthApi.as_view(), name="api-health"),
    path("health/backends/", BackendHealthApi.as_view(), name="api-health-backends"),
    path("kb/", include("knowledgebase.api_urls")),
    path("transcripts/", include("adminconsole.transcript_api_urls")),
]
