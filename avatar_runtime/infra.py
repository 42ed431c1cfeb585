"""Health of the stores the web and worker processes share: database, channel layer, broker."""
import asyncio
import uuid

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from avatar_runtime.doctor import BROKEN, DEGRADED, OK, StageReport


def check_database() -> StageReport:
    vendor = connection.vendor
    production = "postgresql"
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001 - any driver error means "broken", reported as text
        return StageReport("database", vendor, BROKEN, f"cannot connect: {exc}", production, ["DATABASE_URL"])
    if pending:
        return StageReport("database", vendor, BROKEN, f"{len(pending)} migrations not applied "
                           "(run: python manage.py migrate)", production)
    missing = [] if vendor == "postgresql" else ["DATABASE_URL=postgres://..."]
    return StageReport("database", vendor, OK, f"connected, migrations applied ({connection.settings_dict['NAME']})",
                       production, missing)


async def _layer_roundtrip() -> bool:
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    probe = uuid.uuid4().hex
    await layer.send(channel, {"type": "doctor.probe", "probe": probe})
    message = await asyncio.wait_for(layer.receive(channel), timeout=3)
    return bool(message.get("probe") == probe)


def check_channel_layer() -> StageReport:
    backend = str(settings.CHANNEL_LAYERS["default"]["BACKEND"]).rsplit(".", 1)[-1]
    try:
        ok = asyncio.run(_layer_roundtrip())
    except Exception as exc:  # noqa: BLE001
        return StageReport("channel_layer", backend, BROKEN, f"round trip failed: {exc}", "redis", ["REDIS_URL"])
    if not ok:
        return StageReport("channel_layer", backend, BROKEN, "round trip returned the wrong message", "redis")
    if backend == "InMemoryChannelLayer":
        return StageReport("channel_layer", "in-memory", DEGRADED if settings.PRODUCTION else OK,
                           "one process only (no REDIS_URL)", "redis", ["REDIS_URL=redis://..."])
    return StageReport("channel_layer", "redis", OK, "round trip through Redis", "redis")


def check_broker() -> StageReport:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return StageReport("broker", "eager (in-process)", OK, "no broker configured: background jobs run inline",
                           "redis", ["REDIS_URL or CELERY_BROKER_URL"], required=False)
    from celery import current_app as app  # the project's app (``config.celery``), made current by the settings

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # noqa: BLE001
        return StageReport("broker", "celery", BROKEN, f"broker unreachable: {exc}", "redis")
    return StageReport("broker", "celery", OK, f"broker reachable ({app.conf.broker_url.split('@')[-1]})", "redis")
