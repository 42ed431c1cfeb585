"""Knowledge-base retrieval benchmark: accuracy, "no good match" decisions and latency.

    python bench/kb_search.py               # demo FAQs, then padded to 1,000 entries
    python bench/kb_search.py --no-pad      # demo FAQs only
    python bench/kb_search.py --calibrate   # refit knowledgebase/retrieval/calibration.json
    python bench/kb_search.py --lodo        # leave-one-domain-out over bench/data/kb_domains (kb_lodo.py)
    python bench/kb_search.py --lodo --generated      # ... with and without the cached generated phrasings
    python bench/kb_search.py --lodo --close-calls    # ... close calls settled by the local Qwen
    python bench/kb_search.py --document    # a 20+ page venue guide, uploaded and chunked (kb_document.py)

Uses a throwaway SQLite database in a temporary directory, imports the demo FAQs through the
normal import service and searches through ``faq_search``. The held-out paraphrases are
``bench/data/kb_eval.jsonl``; calibration uses ``bench/data/kb_calibration.jsonl`` only, a
separate set written for it (never the eval set). Set ``MODELS_DIR`` to where the e5 and USE
models live. The table is printed and written to ``bench/results/kb_search.md``.
"""
import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported for real once Django is set up
    from knowledgebase.retrieval.rerank import Reranker

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
DEMO_FAQS = ROOT / "knowledgebase" / "demo" / "faqs.jsonl"
RESULTS = ROOT / "bench" / "results" / "kb_search.md"
LANGUAGES = ("zh", "yue", "en", "ja", "ko")
PADDED_SIZE = 1000
MAX_FALSE_REJECTION = 0.04  # calibration target, a little under the 5% goal
DOCUMENT_MARGIN = 0.02  # a document chunk must beat an FAQ by this much to rank above it


def django_setup(workdir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "REDIS_URL": "", "CELERY_BROKER_URL": "", "CELERY_TASK_ALWAYS_EAGER": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(32), "LOG_LEVEL": "WARNING",
        # Importing a domain publishes its FAQs: no model writing phrasings (they come from the cached
        # files, kb_lodo_llm) nor speaking answers in the background while retrieval is measured.
        "KB_GENERATED_PHRASINGS": "0", "ANSWER_AUDIO_CACHE": "0",
    })
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


@dataclass(frozen=True)
class Query:
    query: str
    language: str
    expected: str | None


def load_queries(path: Path) -> list[Query]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [Query(r["query"], r["language"], r["expected_key"]) for r in rows]


# --- evaluation -------------------------------------------------------------------------

@dataclass
class Outcome:
    query: Query
    keys: list[str]
    answerable: bool
    ms: float
    cpu_ms: float


def run_queries(queries: list[Query]) -> list[Outcome]:
    from knowledgebase.selectors import faq_search

    faq_search("warm-up", "en")  # builds the index; not timed
    outcomes = []
    for q in queries:
        started, cpu = time.perf_counter(), time.thread_time()
        result = faq_search(q.query, q.language, 5)
        ms, cpu_ms = (time.perf_counter() - started) * 1000, (time.thread_time() - cpu) * 1000
        outcomes.append(Outcome(q, [hit.key for hit in result.results], result.answerable, ms, cpu_ms))
    return outcomes


def _rate(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def metrics(outcomes: list[Outcome]) -> dict[str, float | None]:
    in_scope = [o for o in outcomes if o.query.expected]
    out_scope = [o for o in outcomes if not o.query.expected]
    latencies = sorted(o.ms for o in outcomes)
    cpu = sorted(o.cpu_ms for o in outcomes)
    return {
        "n": len(outcomes),
        "hit@1": _rate([bool(o.keys) and o.keys[0] == o.query.expected for o in in_scope]),
        "hit@3": _rate([o.query.expected in o.keys[:3] for o in in_scope]),
        "oos rejected": _rate([not o.answerable for o in out_scope]),
        "in-scope rejected": _rate([not o.answerable for o in in_scope]),
        "p50 ms": statistics.median(latencies) if latencies else None,
        "p95 ms": _p95(latencies),
        "p95 cpu ms": _p95(cpu),
    }


def _p95(values: list[float]) -> float | None:
    return values[min(len(values) - 1, int(0.95 * len(values)))] if values else None


def table(title: str, outcomes: list[Outcome]) -> str:
    by_language: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_language[o.query.language].append(o)
    rows = [(language, metrics(by_language[language])) for language in LANGUAGES if by_language[language]]
    rows.append(("overall", metrics(outcomes)))
    columns = ["n", "hit@1", "hit@3", "oos rejected", "in-scope rejected", "p50 ms", "p95 ms", "p95 cpu ms"]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines = [f"### {title}", "", f"(load average during the run: {load})", "",
             "| language | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, m in rows:
        cells = [_cell(column, m[column]) for column in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(column: str, value: float | None) -> str:
    if value is None:
        return "-"
    if column == "n":
        return str(int(value))
    return f"{value:.1f}" if column.endswith("ms") else f"{value:.3f}"


# --- padding ----------------------------------------------------------------------------

def distractor_rows(count: int, seed: int = 7) -> list[object]:
    """``count`` synthetic store FAQs (1-3 languages each) from ``kb_distractors.json``."""
    from knowledgebase.importing import FaqRow

    spec = json.loads((DATA / "kb_distractors.json").read_text())
    rng = random.Random(seed)
    combos = [(store, template) for store in spec["stores"] for template in spec["templates"]]
    rng.shuffle(combos)
    rows: list[object] = []
    for number, (store, template) in enumerate(combos[:count]):
        key = f"store-{template['id']}-{number}"
        floor = rng.randint(1, 6)
        for language in rng.sample(LANGUAGES, rng.randint(1, 3)):
            question, answer = (text.format(store=store, n=floor) for text in template[language])
            rows.append(FaqRow(len(rows) + 1, key, language, question, answer, ("stores",)))
    return rows


def pad(size: int) -> float:
    from knowledgebase.models import FaqEntry
    from knowledgebase.services import faq_import_rows

    missing = size - FaqEntry.objects.count()
    started = time.perf_counter()
    faq_import_rows(rows=distractor_rows(missing), publish=True)  # type: ignore[arg-type]
    return time.perf_counter() - started


def unpad() -> None:
    from knowledgebase.indexing import index_version_bump
    from knowledgebase.models import FaqEntry

    FaqEntry.objects.filter(key__startswith="store-").delete()
    index_version_bump()


def index_build_ms() -> float:
    from knowledgebase.indexing import index_version_bump, kb_index

    index_version_bump()
    started = time.perf_counter()
    kb_index()
    return (time.perf_counter() - started) * 1000


# --- calibration ------------------------------------------------------------------------

def calibrate(queries: list[Query]) -> None:
    """Choose the fusion weights (best hit@1, then MRR) and fit both decision models on the
    calibration set, over the demo knowledge base and the same padded to 1,000 entries (so
    the decision holds for small and large ones); print cross-validated estimates; write
    ``calibration.json``."""
    import numpy as np

    from knowledgebase.indexing import kb_index
    from knowledgebase.retrieval.calibrate import decision_fit
    from knowledgebase.retrieval.decision import (
        CALIBRATION_FILE,
        FEATURE_NAMES,
        HYBRID_FEATURES,
        LEXICAL_FEATURES,
        FusionParams,
    )
    from knowledgebase.retrieval.index import SearchIndex
    from knowledgebase.retrieval.text import lexical_terms

    encoder = kb_index().encoder
    assert encoder is not None, "calibration needs the e5 and USE models (set MODELS_DIR)"
    vectors = encoder.queries([q.query for q in queries])
    terms = [lexical_terms(q.query) for q in queries]
    states = [kb_index().index]
    pad(PADDED_SIZE)
    states.append(kb_index().index)
    unpad()

    def ranked(index: SearchIndex, params: FusionParams, dense: bool, *, in_scope_only: bool = False,
               rerankers: "list[Reranker] | None" = None) -> list[tuple[list[str], list[float]]]:
        """Each question's ranked keys and decision features; ``rerankers[i]`` re-ranks question ``i``."""
        out = []
        for i, (q, vector, t) in enumerate(zip(queries, vectors, terms, strict=True)):
            if in_scope_only and not q.expected:
                continue
            ranking = index.rank(query_vector=vector if dense else None, terms=t, language=q.language, params=params,
                                 reranker=rerankers[i] if rerankers else None)
            keys = [index.groups[c.group] for c in ranking.candidates]
            features = ranking.features.as_list() if ranking.features else [0.0] * len(FEATURE_NAMES)
            out.append((keys, features))
        return out

    languages_of = defaultdict(set)
    for item in states[0].items:
        languages_of[item.group].add(item.language)

    def quality(params: FusionParams) -> tuple[float, float, float]:
        """hit@1 averaged over same-language and cross-language questions (the entry exists
        in the query's language or not: both matter equally), hit@1, MRR; over both sizes."""
        hits: dict[bool, list[bool]] = defaultdict(list)
        reciprocal = []
        in_scope = [q for q in queries if q.expected]
        for index in states:
            for (keys, _), q in zip(ranked(index, params, True, in_scope_only=True), in_scope, strict=True):
                hits[q.language in languages_of[q.expected]].append(bool(keys) and keys[0] == q.expected)
                reciprocal.append(1 / (keys.index(q.expected) + 1) if q.expected in keys else 0)
        macro = statistics.mean(statistics.mean(h) for h in hits.values())
        micro = statistics.mean(h for group in hits.values() for h in group)
        return macro, micro, statistics.mean(reciprocal)

    grid = [FusionParams(w, o, b, 0.0, s) for w in (0.0, 0.02, 0.05) for o in (0.0, 0.03, 0.06)
            for b in (0.04, 0.08, 0.12, 0.16) for s in (0.0, 0.33, 0.5, 0.6)]
    (macro, micro, mrr), best = max(((quality(p), p) for p in grid), key=lambda s: s[0])
    fusion = FusionParams(best.lexical_weight, best.passage_offset, best.cross_language_bonus,
                          round(answer_gap(states[0], queries, vectors) - DOCUMENT_MARGIN, 4), best.summary_weight)
    print(f"fusion: {fusion} (calibration hit@1 {micro:.3f}, same/cross-language average {macro:.3f}, MRR {mrr:.3f})")
    reranker, out_of_fold = rerankers_fit(states, queries, vectors, terms, fusion)
    for state, index in zip(("demo", "padded"), states, strict=True):
        first = [bool(keys) and keys[0] == q.expected for (keys, _), q in
                 zip(ranked(index, fusion, True), queries, strict=True) if q.expected]
        second = {q: bool(keys) and keys[0] == q.expected for (keys, _), q in
                  zip(ranked(index, fusion, True, rerankers=out_of_fold), queries, strict=True) if q.expected}
        by_language = " ".join(f"{language} {statistics.mean(hit for q, hit in second.items() if q.language == language):.3f}"
                               for language in LANGUAGES)
        print(f"re-ranker, {state}: calibration hit@1 {statistics.mean(first):.3f} -> "
              f"{statistics.mean(second.values()):.3f} ({by_language}; 5-fold CV)")
    labels = [q.expected is not None for q in queries] * len(states)
    decisions = {}
    for mode, names, dense in (("hybrid", HYBRID_FEATURES, True), ("lexical", LEXICAL_FEATURES, False)):
        # the decision learns from re-ranked lists whose re-ranker did not see the question
        rows = [features for index in states for _, features in ranked(index, fusion, dense, rerankers=out_of_fold)]
        decisions[mode] = decision_fit(rows, labels, names=names, max_false_rejection=MAX_FALSE_REJECTION)
        rejected, false_rejected = cross_validate(np.array(rows), labels, names, len(queries))
        print(f"{mode}: 5-fold CV on the calibration set: out-of-scope rejected {rejected:.3f}, "
              f"in-scope rejected {false_rejected:.3f}")
    in_scope = sum(q.expected is not None for q in queries)
    payload = {
        "model": encoder.name,
        "source": f"bench/data/kb_calibration.jsonl ({in_scope} in-scope, {len(queries) - in_scope} out-of-scope questions) "
                  f"over the demo FAQs and the same padded to {PADDED_SIZE} entries; "
                  "refit: python bench/kb_search.py --calibrate",
        "fusion": fusion.__dict__,
        "reranker": reranker.as_dict(),
        "decisions": {mode: model.as_dict() for mode, model in decisions.items()},
    }
    CALIBRATION_FILE.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {CALIBRATION_FILE.relative_to(ROOT)}")


def rerankers_fit(states: list[object], queries: list[Query], vectors: "object", terms: list[list[str]], fusion: object,
                  folds: int = 5) -> tuple["Reranker", "list[Reranker]"]:
    """The re-ranker fitted on every in-scope calibration question over both knowledge bases,
    and for each question one fitted without its fold (``cross_validate``'s folds), for
    honest estimates and for the decision's training rows."""
    import numpy as np

    from knowledgebase.retrieval.decision import FusionParams
    from knowledgebase.retrieval.index import SearchIndex
    from knowledgebase.retrieval.rerank import reranker_fit

    assert isinstance(fusion, FusionParams)
    lists: list[tuple[int, object, int]] = []  # (question, candidate rows, row of the right entry)
    for index in states:
        assert isinstance(index, SearchIndex)
        for i, (q, vector, t) in enumerate(zip(queries, np.asarray(vectors), terms, strict=True)):
            if not q.expected:
                continue
            groups, x = index.candidate_features(query_vector=vector, terms=t, language=q.language, params=fusion)
            keys = [index.groups[g] for g in groups]
            if q.expected in keys:  # nothing to learn where the first stage missed it
                lists.append((i, x, keys.index(q.expected)))
    fold_of = _folds(len(queries), folds)

    def fit(without: int | None) -> "Reranker":
        chosen = [(x, right) for i, x, right in lists if fold_of[i] != without]
        return reranker_fit([x for x, _ in chosen], [right for _, right in chosen])  # type: ignore[misc]

    by_fold = [fit(fold) for fold in range(folds)]
    return fit(None), [by_fold[fold_of[i]] for i in range(len(queries))]


def _folds(queries: int, folds: int) -> "object":
    import numpy as np

    return np.random.default_rng(0).permutation(queries) % folds


def answer_gap(index: "object", queries: list[Query], vectors: "object") -> float:
    """Median, over in-scope calibration questions, of how much closer the question is to its
    FAQ's best question or alternate than to its answer: what a document chunk (an answer
    without questions) is owed to compete on equal terms."""
    import numpy as np

    from knowledgebase.retrieval.index import SearchIndex

    assert isinstance(index, SearchIndex) and index.centroids is not None
    gaps = []
    for q, vector in zip(queries, np.asarray(vectors), strict=True):
        if not q.expected:
            continue
        rows = index.row_group == index.groups.index(q.expected)
        sims = index.matrix[rows] @ index.centroids.center_query(vector, q.language)
        passages = index.row_passage[rows]
        gaps.append(float(sims[~passages].max() - sims[passages].max()))
    return float(np.median(gaps))


def cross_validate(
    rows: "object", labels: list[bool], names: tuple[str, ...], queries: int, folds: int = 5
) -> tuple[float, float]:
    """Held-out rejection rates of the decision, fitted on the other folds each time; row ``i``
    belongs to question ``i % queries`` and all rows of a question share a fold."""
    import numpy as np

    from knowledgebase.retrieval.calibrate import decision_fit
    from knowledgebase.retrieval.decision import Features

    x = np.asarray(rows)
    fold_of = np.asarray(_folds(queries, folds))
    row_fold = fold_of[np.arange(len(labels)) % queries]
    rejected = {True: 0, False: 0}
    for fold in range(folds):
        train = np.flatnonzero(row_fold != fold)
        model = decision_fit(x[train].tolist(), [labels[i] for i in train], names=names,
                             max_false_rejection=MAX_FALSE_REJECTION)
        for i in np.flatnonzero(row_fold == fold):
            rejected[labels[i]] += not model.answerable(Features(*x[i]))
    return rejected[False] / labels.count(False), rejected[True] / labels.count(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibrate", action="store_true", help="refit calibration.json, then benchmark")
    parser.add_argument("--lodo", action="store_true", help="leave-one-domain-out over bench/data/kb_domains (kb_lodo)")
    parser.add_argument("--generated", action="store_true",
                        help="with --lodo: also with the cached generated phrasings (bench/kb_generate.py)")
    parser.add_argument("--close-calls", action="store_true",
                        help="with --lodo: also with close calls settled by the local Qwen (slow)")
    parser.add_argument("--document", action="store_true", help="a long venue guide, uploaded and chunked (kb_document)")
    parser.add_argument("--no-self", action="store_true", help="with --lodo: skip the self-calibration columns (faster)")
    parser.add_argument("--no-pad", action="store_true", help=f"skip the {PADDED_SIZE}-entry run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as workdir:
        django_setup(Path(workdir))
        from django.core.management import call_command

        from knowledgebase.indexing import kb_index

        if args.lodo:
            if args.generated or args.close_calls:
                from kb_lodo_llm import run_llm_steps

                print(run_llm_steps(generated=args.generated, close_calls=args.close_calls))
                return
            from kb_lodo import run_lodo

            print(run_lodo(self_calibration=not args.no_self))
            return
        if args.document:
            from kb_document import run_document

            print(run_document())
            return
        call_command("import_faqs", str(DEMO_FAQS), "--publish", stdout=open(os.devnull, "w"))  # noqa: SIM115
        if args.calibrate:
            calibrate(load_queries(DATA / "kb_calibration.jsonl"))
        mode = "hybrid (e5 + USE + lexical)" if kb_index().index.dense else "LEXICAL ONLY (sentence encoders missing)"
        eval_set = load_queries(DATA / "kb_eval.jsonl")
        sections = [f"Retrieval: {mode}; machine: {os.cpu_count()} CPU cores; queries: {len(eval_set)} held-out "
                    "(bench/data/kb_eval.jsonl); latency = one `faq_search` call, query embedding included (wall clock; "
                    "'cpu' = this thread's CPU time, which other processes on the machine do not inflate)."]
        demo_size = len(kb_index().index.groups)
        sections.append(table(f"Demo knowledge base ({demo_size} entries)", run_queries(eval_set)))
        if not args.no_pad:
            seconds = pad(PADDED_SIZE)
            build = index_build_ms()
            size = len(kb_index().index.groups)
            sections.append(table(f"Padded to {size} entries (synthetic store FAQs; import + embedding {seconds:.0f} s, "
                                  f"index rebuild {build:.0f} ms)", run_queries(eval_set)))
        report = "\n\n".join(sections) + "\n"
        print(report)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("# Knowledge-base search benchmark\n\n" + report)


if __name__ == "__main__":
    main()
