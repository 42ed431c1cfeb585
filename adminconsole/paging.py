"""Pagination shared by the console's lists: a page of a queryset and the query string to keep."""
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE_SIZE = 25


@dataclass(frozen=True)
class ListPage:
    page: Page[Any]
    query: str  # the request's filters without ``page``, for the pager's links


def paginate(request: HttpRequest, items: Any, per_page: int = PAGE_SIZE) -> ListPage:
    page = Paginator(items, per_page).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return ListPage(page, params.urlencode())
