"""The URL table with a ``console:faq_create`` route, as the console's FAQ editor (another branch) provides it."""
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from adminconsole import urls as console_urls
from config.urls import urlpatterns as root_patterns


def faq_editor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{request.GET.get('language')}: {request.GET.get('question')}")


console_patterns = [*console_urls.urlpatterns, path("faqs/new/", faq_editor, name="faq_create")]
urlpatterns = [
    path("console/", include((console_patterns, "console"))),
    *[pattern for pattern in root_patterns if str(getattr(pattern, "pattern", "")) != "console/"],
]
