"""Logs and metrics: what operators watch.

``LOG_FORMAT=json`` writes one JSON object per line (common.log_context.JsonFormatter) with the
kiosk session and turn ids; ``plain`` (the default) is for people reading a terminal. ``/metrics``
(adminconsole.metrics) answers only clients in ``METRICS_ALLOWED_NETWORKS`` (addresses or networks,
comma-separated; the client address as ``TRUSTED_PROXIES`` resolves it), and, when
``METRICS_TOKEN`` is set, only with ``Authorization: Bearer <token>``.
"""
from django.core.exceptions import ImproperlyConfigured

from config.settings.base import PRODUCTION
from config.settings.env import env_list, env_str

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"log_context": {"()": "common.log_context.LogContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "common.log_context.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["log_context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django": {"level": "INFO"}, "daphne": {"level": "WARNING"}},
}

METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
if PRODUCTION and not METRICS_TOKEN and METRICS_ALLOWED_NETWORKS != ["127.0.0.1/32", "::1/128"]:
    raise ImproperlyConfigured("METRICS_ALLOWED_NETWORKS beyond this host needs METRICS_TOKEN in production")
