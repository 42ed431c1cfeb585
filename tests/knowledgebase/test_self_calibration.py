"""Self-calibration of the answerable threshold on a venue's own FAQs, with the real encoders and index."""
from collections.abc import Callable
from contextlib import AbstractContextManager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from knowledgebase.indexing import kb_index
from knowledgebase.models import FaqEntry
from knowledgebase.retrieval.decision import calibration_load
from knowledgebase.retrieval.self_calibration import MIN_ENTRIES
from knowledgebase.selectors import faq_search
from knowledgebase.services import faq_delete

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
Capture = Callable[..., AbstractContextManager[Any]]
RAIL_FAQS = Path(__file__).resolve().parents[2] / "bench" / "data" / "kb_domains" / "rail" / "faqs.jsonl"


@pytest.fixture(autouse=True)
def self_calibration_on(settings: Any) -> None:
    settings.KB_SELF_CALIBRATION = True  # off by default (see config/settings/base.py)


def _import(path: Path, capture: Capture) -> None:
    with capture(execute=True):  # the index refresh that follows an import, inline
        call_command("import_faqs", str(path), "--publish", stdout=StringIO())


def test_a_rebuilt_knowledge_base_gets_its_own_threshold_refreshed_on_change(
    e5: None, django_capture_on_commit_callbacks: Capture
) -> None:
    _import(RAIL_FAQS, django_capture_on_commit_callbacks)
    own = kb_index().self_calibration
    assert own is not None
    assert 0.02 <= own.threshold <= 0.95
    assert own.entries == 23 and own.in_scope >= 24 and own.out_of_scope >= 12
    assert own.fixed_threshold == calibration_load().decision("hybrid").threshold
    result = faq_search("去機場的車票多少錢？", "zh")
    assert result.answerable and result.results[0].key == "fares"
    # the decision compares the confidence with the knowledge base's threshold
    assert (result.confidence >= own.threshold) == result.answerable

    with django_capture_on_commit_callbacks(execute=True):
        faq_delete(entry=FaqEntry.objects.get(key="sim-card"))
    after = kb_index().self_calibration
    assert after is not None and after.entries == 22


def test_a_knowledge_base_with_too_few_entries_falls_back_to_the_fixed_calibration(
    e5: None, django_capture_on_commit_callbacks: Capture, tmp_path: Path
) -> None:
    few = tmp_path / "few.jsonl"
    few.write_text("".join(RAIL_FAQS.read_text().splitlines(keepends=True)[: 2 * (MIN_ENTRIES - 1)]))
    _import(few, django_capture_on_commit_callbacks)
    assert kb_index().self_calibration is None
    result = faq_search("去機場的車票多少錢？", "zh")
    assert result.answerable == (result.confidence >= calibration_load().decision("hybrid").threshold)
