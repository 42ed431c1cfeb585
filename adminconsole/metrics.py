"""``GET /metrics``: Prometheus metrics of the whole deployment, for internal scraping only.

One scrape of any web process sees every live avatar worker: the workers publish their runtime
samples (stage latencies, barge-in, hand-offs, backend outcomes and fallbacks) and their load and
health to the shared cache, and this adds what lives in the stores (QA scores, open hand-offs and
QA flags, the job queues). Access: the client's address (``common.client_address``) must be in
``METRICS_ALLOWED_NETWORKS`` and, when ``METRICS_TOKEN`` is set, the request must carry it as a
bearer token.
"""
import datetime
import hmac
import ipaddress
import logging
from collections.abc import Iterator
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from avatar_runtime.selectors import backend_health_snapshot
from avatar_runtime.worker.metrics_publisher import read_worker_metrics
from avatar_runtime.worker.registry import workers_live
from common.client_address import client_address
from conversations.selectors import handoff_pending_list
from lipsync.selectors import qa_flags_open_by_subject, qa_recent_by_scorer

log = logging.getLogger(__name__)
HEALTH_VALUE = {"healthy": 2, "degraded": 1, "down": 0}
QA_RECENT = datetime.timedelta(hours=1)


class DeploymentCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from _worker_families()
        yield from _runtime_families()
        yield from _store_families()
        yield from _queue_families()


def _worker_families() -> Iterator[Metric]:
    live = workers_live()
    sessions = GaugeMetricFamily("kiosk_worker_sessions", "Kiosk sessions a worker holds.", labels=["worker"])
    capacity = GaugeMetricFamily("kiosk_worker_capacity", "Sessions a worker accepts at most.", labels=["worker"])
    for worker in live:
        sessions.add_metric([worker.worker_id], worker.load)
        capacity.add_metric([worker.worker_id], worker.capacity)
    yield GaugeMetricFamily("kiosk_workers_live", "Avatar workers with a fresh heartbeat.", value=len(live))
    yield sessions
    yield capacity
    health = GaugeMetricFamily("kiosk_backend_health", "A worker's backend per component: 2 healthy, 1 degraded, 0 down.",
                               labels=["worker", "component", "backend"])
    for snapshot in backend_health_snapshot():
        if snapshot["stale"]:
            continue
        for backend in snapshot["backends"]:  # type: ignore[attr-defined]
            health.add_metric([str(snapshot["worker_id"]), str(backend["component"]), str(backend["backend"])],
                              HEALTH_VALUE.get(str(backend["state"]), 0))
    yield health


def _runtime_families() -> Iterator[Metric]:
    """Every worker's own families, merged by name, each sample labelled with its worker."""
    merged: dict[str, Metric] = {}
    for worker_id, families in read_worker_metrics().items():
        for family in families:
            name = str(family["name"])
            metric = merged.setdefault(name, Metric(name, str(family["documentation"]), str(family["type"])))
            for sample_name, labels, value in family["samples"]:  # type: ignore[attr-defined]
                metric.add_sample(sample_name, {**labels, "worker": worker_id}, value)
    yield from merged.values()


def _store_families() -> Iterator[Metric]:
    yield GaugeMetricFamily("kiosk_handoffs_open", "Hand-off requests staff still have to act on (open or accepted).",
                            value=handoff_pending_list().count())
    flags = GaugeMetricFamily("kiosk_qa_flags_open", "Lip-sync QA flags not acknowledged.", labels=["subject"])
    for subject, count in qa_flags_open_by_subject().items():
        flags.add_metric([subject], count)
    yield flags
    scored = GaugeMetricFamily("kiosk_qa_clips_last_hour", "Answer clips the lip-sync QA job handled in the last hour.",
                               labels=["scorer", "result"])
    confidence = GaugeMetricFamily("kiosk_qa_confidence_mean_last_hour", "Mean lip-sync confidence of the last hour.",
                                   labels=["scorer"])
    offset = GaugeMetricFamily("kiosk_qa_offset_frames_mean_abs_last_hour",
                               "Mean |audio-video offset| in frames of the last hour.", labels=["scorer"])
    for recent in qa_recent_by_scorer(since=timezone.now() - QA_RECENT):
        scored.add_metric([recent.scorer, "scored"], recent.scored)
        scored.add_metric([recent.scorer, "failed"], recent.failed)
        if recent.mean_confidence is not None:
            confidence.add_metric([recent.scorer], recent.mean_confidence)
        if recent.mean_abs_offset is not None:
            offset.add_metric([recent.scorer], recent.mean_abs_offset)
    yield from (scored, confidence, offset)


def _queue_families() -> Iterator[Metric]:
    """Jobs waiting in each Celery queue (Redis broker only: brokerless jobs run at once)."""
    depth = GaugeMetricFamily("kiosk_job_queue_depth", "Background jobs waiting in a Celery queue.", labels=["queue"])
    broker = str(settings.CELERY_BROKER_URL)
    if broker.startswith(("redis://", "rediss://")):
        import redis

        queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
        try:
            depth.add_metric([queue], redis.Redis.from_url(broker, socket_timeout=1).llen(queue))
        except redis.RedisError as exc:
            log.warning("metrics: queue depth of %s unavailable (%s)", queue, type(exc).__name__)
    yield depth


@cache
def _allowed_networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def metrics_access_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the scraper may read the metrics, else the response that refuses it."""
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    if not any(address in network for network in _allowed_networks(tuple(settings.METRICS_ALLOWED_NETWORKS))):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            refused = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
            refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return refused
    return None


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = metrics_access_refusal(request)
    if refusal is not None:
        return refusal
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeploymentCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
