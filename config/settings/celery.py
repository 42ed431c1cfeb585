"""Celery: Redis as broker when ``REDIS_URL`` (or ``CELERY_BROKER_URL``) is set.

Without a broker (the embedded default) tasks run eagerly in the calling process, so a laptop
needs no extra service; production always runs a separate ``celery -A config worker -B``.
"""
from config.settings.env import env_bool, env_str
from config.settings.stores import REDIS_URL

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Brokerless, a CPU-heavy job (a lip-sync score) runs in a child process, not in the process that
# serves the kiosk in real time (common.jobs).
JOBS_IN_CHILD_PROCESS = env_bool("KIOSK_JOBS_IN_CHILD_PROCESS", True)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
CELERY_TASK_ACKS_LATE = True  # a job a dying worker held runs again
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Privacy: conversations older than TRANSCRIPT_RETENTION_DAYS, their turns and clips (conversations.retention).
    "transcripts-purge-expired": {"task": "kiosk.tasks.transcripts_purge_expired", "schedule": 6 * 60 * 60},
}
