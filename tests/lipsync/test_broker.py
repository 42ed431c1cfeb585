"""Background jobs through the real broker: Redis, and a ``celery -A config worker`` process.

The lip-sync job, and the avatar preparation job: both wait in the queue while no worker runs
and run when one comes back.

Runs where CI's services suite runs (``DATABASE_URL`` and ``REDIS_URL`` set); the worker uses the
test database and the test's media folder, exactly as a production worker would use the real ones.
"""
import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from PIL import Image

from avatars.models import Avatar
from avatars.services import avatar_create
from config.celery import app as celery_app
from conversations import services
from conversations.models import Turn
from lipsync.models import TurnQaScore
from tests.conftest import SERVICES
from tests.lipsync.conftest import TurnFactory, clip_bytes

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not SERVICES, reason="needs DATABASE_URL and REDIS_URL (CI's services suite)"),
]


def _test_database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts a real Celery worker (on demand); stops it at teardown."""
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "AVATAR_QA_BACKEND": "embedded", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    started: list[subprocess.Popen[bytes]] = []
    log_path = tmp_path / "celery-worker.log"

    def start() -> subprocess.Popen[bytes]:
        log = open(log_path, "ab")  # noqa: SIM115 - the worker writes to it until teardown
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "info",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"qa-test-{uuid.uuid4().hex[:8]}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
    if log_path.exists():
        print(log_path.read_text(errors="replace")[-4000:])  # shown when the test failed


@pytest.fixture(autouse=True)
def empty_queue() -> Iterator[None]:
    assert not celery_app.conf.task_always_eager, "REDIS_URL is set: jobs must go through the broker"
    celery_app.control.purge()
    yield
    celery_app.control.purge()


def wait_for_score(turn: Turn, timeout: float = 180.0) -> TurnQaScore:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        score = TurnQaScore.objects.filter(turn=turn).first()
        if score is not None:
            return score
        time.sleep(0.5)
    raise AssertionError(f"no lip-sync score for turn {turn.pk} within {timeout:.0f} s")


def attach_answer(turn: Turn) -> None:
    services.turn_clip_attach(turn_id=turn.public_id, kind="answer", content=clip_bytes("late"), filename="answer.mp4")


def test_a_real_worker_scores_the_saved_answer(avatar_turn: TurnFactory, celery_worker_process) -> None:
    worker = celery_worker_process()
    turn = avatar_turn()
    attach_answer(turn)  # committed at once (no surrounding transaction): the job is published
    score = wait_for_score(turn)
    assert worker.poll() is None
    assert score.scorer == "embedded" and not score.error_code
    assert abs(score.offset_frames - 4) <= 1 and score.confidence > 0.5


def test_a_job_waits_in_the_queue_while_no_worker_runs(avatar_turn: TurnFactory, celery_worker_process) -> None:
    turn = avatar_turn()
    attach_answer(turn)
    queue = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert queue.llen("celery") == 1
    time.sleep(2)
    assert not TurnQaScore.objects.filter(turn=turn).exists()
    assert queue.llen("celery") == 1  # still there: nothing consumed or dropped it
    celery_worker_process()  # the worker comes back
    score = wait_for_score(turn)
    assert not score.error_code and abs(score.offset_frames - 4) <= 1
    assert queue.llen("celery") == 0


def test_an_avatar_upload_waits_in_the_queue_and_is_prepared_when_a_worker_returns(celery_worker_process) -> None:
    from skimage import data

    photo = io.BytesIO()
    Image.fromarray(data.astronaut()).save(photo, format="PNG")
    avatar = avatar_create(name="Queued", content=photo.getvalue())  # committed: the preparation job is published
    queue = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert queue.llen("celery") == 1
    time.sleep(2)
    avatar.refresh_from_db()
    assert avatar.status == Avatar.Status.UPLOADED and queue.llen("celery") == 1  # nobody took or dropped it
    celery_worker_process()  # the worker comes back
    deadline = time.monotonic() + 240
    while avatar.status != Avatar.Status.READY:
        assert time.monotonic() < deadline, f"avatar still {avatar.status}"
        time.sleep(0.5)
        avatar.refresh_from_db()
    assert avatar.mouth_box is not None and queue.llen("celery") == 0
