"""Session and turn ids on every log record, and JSON lines for log collectors (``LOG_FORMAT=json``).

The ids live in context variables: the avatar worker binds a session's id while it handles that
session's messages (so the tasks started meanwhile, its pipeline and WebRTC peer, keep it), a turn
binds its id (``turn_bind``), and every record logged from there carries them, whoever logs it.
Records carry ids, never what the customer said: the messages themselves follow that rule
(STYLE.md), and the JSON has no field for anything else.
"""
import contextvars
import datetime
import json
import logging
from typing import Any

session_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("session_id", default="")
turn_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("turn_id", default="")


def turn_bind(turn_id: str) -> None:
    """The current turn, for the records of this task from here on (and of tasks it starts)."""
    turn_id_var.set(turn_id)


class LogContextFilter(logging.Filter):
    """Copies the bound session and turn ids onto each record (``%(session_id)s`` in text formats)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.session_id = session_id_var.get()
        record.turn_id = turn_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, session and turn ids,
    process id, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key in ("session_id", "turn_id"):
            value = getattr(record, key, "")
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
