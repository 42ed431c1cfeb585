"""URL root: kiosk page, console, REST API and its schema, Django admin (for admins only), metrics."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from adminconsole.metrics import metrics_view

handler400 = "common.api.bad_request"
handler404 = "common.api.not_found"

urlpatterns = [
    path("", include("kiosk.urls")),
    path("console/", include("adminconsole.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the console's language switch (POST, CSRF)
    path("api/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file (?script), so the page needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
         name="api-docs"),
    path("django-admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),  # Prometheus, internal scrapers only
]
