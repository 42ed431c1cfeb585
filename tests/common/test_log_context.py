"""``LOG_FORMAT=json``: one JSON object per line, with the session and turn ids of the code that logged."""
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from avatar_runtime.worker.server import AvatarWorker

# A process as every entry point starts one (daphne, avatar_worker, celery): settings, then logging.
# It logs the way the worker's dispatch and a turn do: inside a session's message, a turn of it.
SCRIPT = """
import asyncio, logging
import django
django.setup()
from common.log_context import session_id_var, turn_bind

async def turn():
    turn_bind("7d1c0b6e")
    logging.getLogger("avatar_runtime.pipeline.turn").warning("answer took %d ms", 812)

async def handle_message():
    session_id_var.set("a1b2c3")
    await asyncio.create_task(turn())  # a task the session's handling started keeps its id
    try:
        raise RuntimeError("renderer lost")
    except RuntimeError:
        logging.getLogger("avatar_runtime.worker.server").exception("message failed")

asyncio.run(handle_message())
logging.getLogger("kiosk").info("outside any session")
"""


def run_logging(log_format: str) -> list[str]:
    env = {**os.environ, "LOG_FORMAT": log_format, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120,
                            cwd=settings.BASE_DIR, check=True)
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_json_logs_carry_the_session_and_turn_ids_and_the_traceback() -> None:
    lines = run_logging("json")
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(records) == 3, lines  # every record a JSON line, none left plain (tracebacks are inside)
    turn, failure, outside = records
    assert turn["message"] == "answer took 812 ms" and turn["level"] == "WARNING"
    assert (turn["session_id"], turn["turn_id"]) == ("a1b2c3", "7d1c0b6e")
    assert turn["logger"] == "avatar_runtime.pipeline.turn" and turn["time"].endswith("+00:00")
    assert failure["session_id"] == "a1b2c3" and "turn_id" not in failure  # the turn was its task's
    assert "RuntimeError: renderer lost" in failure["exception"]
    assert "session_id" not in outside and outside["message"] == "outside any session"


def test_plain_logs_stay_plain_by_default() -> None:
    lines = run_logging("plain")
    assert any(line.endswith("WARNING avatar_runtime.pipeline.turn answer took 812 ms") for line in lines)
    assert not any(line.startswith("{") for line in lines)


async def test_the_worker_binds_the_session_id_while_it_handles_that_sessions_message(
        caplog: pytest.LogCaptureFixture) -> None:
    """What the worker logs about a session's message, its failure included, carries the session's
    id (the tasks started meanwhile inherit it); its own loop afterwards does not."""
    from common.log_context import LogContextFilter, session_id_var

    caplog.handler.addFilter(LogContextFilter())
    seen: list[str] = []

    async def factory(session_id: str, kiosk_id: int | None):  # type: ignore[no-untyped-def]
        seen.append(session_id_var.get())
        raise RuntimeError("no session in this test")

    worker = AvatarWorker(capacity=1, session_factory=factory, worker_id="w-log")
    await worker._dispatch({"type": "session.open", "session_id": "s-42", "reply_channel": "x"})  # logged, not raised
    assert seen == ["s-42"]
    [failure] = [record for record in caplog.records if "session.open failed" in record.getMessage()]
    assert failure.session_id == "s-42" and failure.exc_info is not None  # type: ignore[attr-defined]
    assert session_id_var.get() == ""
