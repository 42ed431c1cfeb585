"""The supervisors' dashboard: conversations, languages, answer rate, unanswered questions, latency."""
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format
from django.views.decorators.http import require_GET

from adminconsole.dashboard_selectors import PERCENTILES, PERIODS, DashboardData, dashboard_data
from adminconsole.svg_charts import bar_rows, column_chart
from adminconsole.time_zones import venue_zone
from adminconsole.transcript_views import console_view, role_context
from common.languages import LANGUAGE_LABELS
from common.roles import Role, has_role
from kiosk.models import Kiosk


def _charts(data: DashboardData) -> dict[str, object]:
    labels = [date_format(day.day, "M j") for day in data.days]
    every = max(1, len(labels) // 10)
    languages = list(data.languages)
    return {
        "per_day": column_chart(labels, [[d.conversations for d in data.days], [d.handoffs for d in data.days]],
                                label_every=every, width=1150),
        "per_language": bar_rows([str(LANGUAGE_LABELS.get(code, code)) for code in languages],
                                 [[data.languages[code] for code in languages]], width=540),
        "latency": bar_rows([latency.stage for latency in data.latencies],
                            [[latency.percentiles[p] for latency in data.latencies] for p in PERCENTILES], width=1150),
    }


@require_GET
@console_view
def dashboard(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, Role.SUPERVISOR):
        raise PermissionDenied
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    kiosks = list(Kiosk.objects.select_related("venue").order_by("name"))
    kiosk = next((k for k in kiosks if str(k.pk) == request.GET.get("kiosk")), None)
    with venue_zone(kiosk.venue if kiosk else None):  # one kiosk's days are its venue's days
        data = dashboard_data(days=days, kiosk_id=kiosk.pk if kiosk else None)
        return render(request, "console/dashboard/index.html", {
            "data": data, "charts": _charts(data), "days": days, "periods": PERIODS, "kiosks": kiosks,
            "kiosk_id": kiosk.pk if kiosk else None, "percentiles": PERCENTILES, "language_names": LANGUAGE_LABELS,
            **role_context(request),
        })
