"""Retrieval from a long document (``python bench/kb_search.py --document``).

The document is a museum's visitor guide written in English only, 20+ pages of Markdown
(``bench/data/kb_domains/museum/guide.md``), uploaded through ``document_create`` (the
console's upload: section split, chunking, embedding by the index refresh). The questions
(``guide_questions.jsonl``) are asked in all five languages about facts that only the guide
gives, plus out-of-scope ones near the domain; each in-scope question names a short string
from the guide that the right passage holds (``answer_contains``), so a hit does not depend
on where the chunker cut. A question counts as a hit@k when one of the first k results'
text holds that string. Two knowledge bases: the guide alone, and the guide next to the
museum's 23 FAQ entries (``faqs.jsonl``), where an FAQ may outrank the passage. Written to
``bench/results/kb_search_document.md``.
"""
import json
import os
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kb_search import DATA, LANGUAGES, ROOT

GUIDE = DATA / "kb_domains" / "museum" / "guide.md"
QUESTIONS = DATA / "kb_domains" / "museum" / "guide_questions.jsonl"
MUSEUM_FAQS = DATA / "kb_domains" / "museum" / "faqs.jsonl"
RESULTS = ROOT / "bench" / "results" / "kb_search_document.md"
PAGE_WORDS = 350  # a printed guide page with headings and lists, roughly


@dataclass(frozen=True)
class GuideQuestion:
    query: str
    language: str
    answer_contains: str | None


def questions() -> list[GuideQuestion]:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [GuideQuestion(r["query"], r["language"], r["answer_contains"]) for r in rows]


def _run(qs: list[GuideQuestion]) -> list[dict[str, Any]]:
    from knowledgebase.selectors import faq_search

    faq_search("warm-up", "en")  # builds the index; not timed
    out = []
    for q in qs:
        started = time.perf_counter()
        result = faq_search(q.query, q.language, 5)
        ms = (time.perf_counter() - started) * 1000
        texts = [hit.answer for hit in result.results]
        out.append({"q": q, "texts": texts, "keys": [hit.key for hit in result.results],
                    "answerable": result.answerable, "ms": ms})
    return out


def _rate(values: list[bool]) -> str:
    return f"{statistics.mean(values):.3f}" if values else "-"


def _row(name: str, outcomes: list[dict[str, Any]]) -> str:
    inside = [o for o in outcomes if o["q"].answer_contains]
    outside = [o for o in outcomes if not o["q"].answer_contains]

    def hit(o: dict[str, Any], k: int) -> bool:
        return any(o["q"].answer_contains in text for text in o["texts"][:k])

    latencies = sorted(o["ms"] for o in outcomes)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return (f"| {name} | {len(inside)} ({len(outside)}) | {_rate([hit(o, 1) for o in inside])} | "
            f"{_rate([hit(o, 3) for o in inside])} | {_rate([not o['answerable'] for o in outside])} | "
            f"{_rate([not o['answerable'] for o in inside])} | {statistics.median(latencies):.1f} | {p95:.1f} |")


def _table(title: str, outcomes: list[dict[str, Any]]) -> str:
    by_language: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in outcomes:
        by_language[o["q"].language].append(o)
    lines = [f"### {title}", "", "| language | n (oos) | hit@1 | hit@3 | oos rejected | in-scope rejected | p50 ms | p95 ms |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [_row(language, by_language[language]) for language in LANGUAGES if by_language[language]]
    lines.append(_row("overall", outcomes))
    return "\n".join(lines)


def _misses(outcomes: list[dict[str, Any]]) -> str:
    lines = []
    for o in outcomes:
        q = o["q"]
        if q.answer_contains and not (o["texts"] and q.answer_contains in o["texts"][0]):
            lines.append(f"- [{q.language}] {q.query} -> wanted “{q.answer_contains}”, got {o['keys'][:1]}")
    return "\n".join(lines) or "(none)"


def run_document() -> str:
    from django.core.management import call_command

    from knowledgebase.indexing import kb_index
    from knowledgebase.models import DocumentChunk
    from knowledgebase.services import document_create

    qs = questions()
    content = GUIDE.read_bytes()
    started = time.perf_counter()
    document = document_create(content=content, filename=GUIDE.name, title="Visitor guide", language="en")
    kb_index()  # the refresh after commit embedded the chunks; the index picks them up
    upload_s = time.perf_counter() - started
    chunks = DocumentChunk.objects.filter(document=document).count()
    alone = _run(qs)
    call_command("import_faqs", str(MUSEUM_FAQS), "--publish", stdout=open(os.devnull, "w"))  # noqa: SIM115
    beside = _run(qs)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    text = content.decode()
    sections = [
        "# Knowledge-base search: a long document\n",
        __doc__.split("\n\n", 1)[1].strip(),
        f"\nThe guide: {len(text.split()):,} words, {len(text):,} characters (about {len(text.split()) / PAGE_WORDS:.0f} "
        f"pages at {PAGE_WORDS} words a page), {chunks} chunks; upload, chunking and embedding {upload_s:.0f} s. "
        f"{os.cpu_count()} cores, load average {load} (shared machine: latencies are under load).",
        _table("The guide alone", alone),
        _table("The guide next to the museum's FAQ entries", beside),
        "### Misses at 1 (guide alone)\n\n" + _misses(alone),
        "### Misses at 1 (guide and FAQs)\n\n" + _misses(beside),
    ]
    report = "\n\n".join(sections) + "\n"
    RESULTS.write_text(report)
    return report
