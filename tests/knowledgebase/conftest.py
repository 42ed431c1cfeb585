from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from knowledgebase.indexing import index_version_bump, kb_encoder, kb_index_forget

DEMO_FAQS = Path(__file__).resolve().parents[2] / "knowledgebase" / "demo" / "faqs.jsonl"


@pytest.fixture(autouse=True)
def eager_celery(celery_eager: None) -> None:
    """Run the index tasks inline, as on a laptop, even when REDIS_URL points Celery at a broker."""


@pytest.fixture(autouse=True)
def fresh_index() -> Iterator[None]:
    """Each test's database starts empty: make the process's index rebuild from it."""
    index_version_bump()
    yield
    index_version_bump()


@pytest.fixture
def e5() -> None:
    if kb_encoder() is None:
        pytest.fail("the sentence encoders (e5, USE) are missing: set MODELS_DIR (these tests use the real models)")


@pytest.fixture
def demo_faqs(
    db: None, e5: None, django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]
) -> None:
    """The demo FAQs, imported the way staff do it, with the index refresh that follows."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_faqs", str(DEMO_FAQS), "--publish", stdout=StringIO())


@pytest.fixture
def lexical_only(settings: Any, tmp_path: Path) -> Iterator[None]:
    """No e5 model in MODELS_DIR: retrieval must fall back to lexical search."""
    settings.MODELS_DIR = tmp_path
    kb_index_forget()
    yield
    kb_index_forget()
