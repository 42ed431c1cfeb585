import os
from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group

from common.roles import Role, roles_ensure_groups

TEST_PASSWORD = "correct-horse-battery"
SERVICES = bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
# pytest-django's fixtures that open the database; a test's ``fixturenames`` is the whole closure, so
# fixtures built on them (``admin_client``, our ``make_user``) bring them in.
DATABASE_FIXTURES = frozenset({"db", "transactional_db", "live_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """CI's second suite (``KIOSK_CI_SUITE=services``, .ci/run) swaps in PostgreSQL and Redis: it
    repeats only the tests that reach them, through the database or marked ``services`` (the
    channel layer, the cache or the broker). The rest ran once in the first suite, unchanged."""
    if os.environ.get("KIOSK_CI_SUITE") != "services":
        return
    kept: list[pytest.Item] = []
    repeated_for_nothing: list[pytest.Item] = []
    for item in items:
        reaches_stores = (item.get_closest_marker("django_db") is not None
                          or item.get_closest_marker("services") is not None
                          or bool(DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))))
        (kept if reaches_stores else repeated_for_nothing).append(item)
    if repeated_for_nothing:
        config.hook.pytest_deselected(items=repeated_for_nothing)
        items[:] = kept


def pytest_configure() -> None:
    """Brokerless jobs run inline here, so a test sees their results (and its test database) at once;
    the browser tests' live server keeps the default, a jobs child process (common.jobs)."""
    from django.conf import settings

    settings.JOBS_IN_CHILD_PROCESS = False
    # Every FAQ edit would otherwise speak the whole knowledge base inline: the answer audio cache
    # is on only in the tests about it (tests/avatars/test_answer_audio.py).
    settings.ANSWER_AUDIO_CACHE = False
    # Likewise every publish would start the local Qwen: on only in tests/knowledgebase/test_phrasings*.py.
    settings.KB_GENERATED_PHRASINGS = False


@pytest.fixture(autouse=True)
def channel_layers_per_event_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each async test runs in its own event loop, and channels_redis binds a channel's receive lock
    to the loop that first waited on it: a layer cached by an earlier test fails in the next one
    ("bound to a different event loop"). So every async test gets fresh channel layers. Sync tests
    keep theirs: a browser test's live server and its worker share one in-memory layer."""
    if request.node.get_closest_marker("asyncio") is None:  # pytest-asyncio marks every coroutine test
        yield
        return
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def make_user(db: None) -> Callable[..., AbstractBaseUser]:
    def factory(username: str, role: Role | None, password: str = TEST_PASSWORD) -> AbstractBaseUser:
        roles_ensure_groups()
        user = get_user_model().objects.create_user(username=username, password=password)
        if role is not None:
            user.groups.add(Group.objects.get(name=role.group_name))
        return user

    return factory


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Celery jobs run at once in this process, also where a broker is configured (CI's services run)."""
    from config.celery import app as celery_app

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous
