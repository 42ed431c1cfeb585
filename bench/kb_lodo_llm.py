"""Leave-one-domain-out with the language-model steps (``python bench/kb_search.py --lodo --generated
--close-calls``): generated phrasings and close calls, each against the same run without it.

- **generated phrasings**: the held-out domain's index also holds the phrasings cached in
  ``bench/data/kb_domains/<domain>/generated.jsonl`` (``bench/kb_generate.py``: the local Qwen,
  the job's prompt and checks, from the domain's FAQ entries only, never its questions). The
  re-ranker and the decision are fitted on the other domains as in ``kb_lodo`` (without
  generated phrasings, so the comparison changes one thing); a domain without the file is
  reported without. "round-trip": only the phrasings the job keeps, those that asked as a
  question find their own entry among the first three (``phrasings_round_trip``).
- **close calls**: where the LODO ranking's best two are within ``KB_CLOSE_CALL_MARGIN`` and the
  decision says answerable, the local Qwen (llama.cpp, one thread) picks among the first four
  or none (``knowledgebase.close_call``), as ``faq_search`` does with a configured server.
  Its latency is the model call alone, on this loaded machine.

Writes ``bench/results/kb_search_lodo_generated.md`` (``_close_calls_margin<m>`` with close calls) and ``.json``.
"""
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from kb_lodo import DOMAINS, Domain, breakdown, domains, evaluate, index_load, lodo_fit, report_table
from kb_search import ROOT

RESULTS = ROOT / "bench" / "results"
HELD_OUT = ("rail", "museum")


def generated_rows(name: str) -> list[dict[str, str]]:
    path = DOMAINS / name / "generated.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def with_generated(domain: Domain, rows: list[dict[str, str]]) -> Domain:
    """The domain re-imported, its translations holding the cached phrasings, embedded and indexed."""
    from knowledgebase.indexing import index_version_bump, kb_index, kb_index_refresh
    from knowledgebase.models import FaqTranslation

    copy = Domain(domain.name, domain.faqs, domain.test, domain.train)
    index_load(copy)
    by_source: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_source[(row["key"], row["source_language"])].append({"language": row["language"], "text": row["text"]})
    for (key, language), generated in by_source.items():
        FaqTranslation.objects.filter(entry__key=key, language=language).update(generated_alternates=generated,
                                                                                 embeddings=None)
    kb_index_refresh()
    index_version_bump()
    copy.index = kb_index().index
    return copy


def round_tripped(domain: Domain, rows: list[dict[str, str]], calibration: Any) -> list[dict[str, str]]:
    """The rows the job would keep: those that, asked, find their own entry among the first three
    in the domain's index without generated phrasings (``phrasings_round_trip``)."""
    from knowledgebase.generated_phrasings import phrasings_round_trip
    from knowledgebase.indexing import kb_encoder

    encoder = kb_encoder()
    assert encoder is not None
    kept = []
    for key in dict.fromkeys(row["key"] for row in rows):
        mine = [row for row in rows if row["key"] == key]
        passed = set(phrasings_round_trip(domain.index, encoder, calibration, key,
                                          [(row["language"], row["text"]) for row in mine]))
        kept += [row for row in mine if (row["language"], row["text"]) in passed]
    return kept


def close_called(domain: Domain, calibration: Any, model: Any, margin: float) -> tuple[list[dict[str, Any]], list[float]]:
    """``evaluate`` with close calls settled by ``model``; and the model calls' latencies (ms)."""
    from knowledgebase.close_call import MAX_TOKENS, Choice, close_call_choice, close_call_messages, is_close
    from knowledgebase.retrieval.text import lexical_terms

    decision = calibration.decision("hybrid")
    outcomes, latencies = [], []
    for q in domain.test:
        assert domain.vectors is not None
        ranking = domain.index.rank(query_vector=domain.vectors[q.query], terms=lexical_terms(q.query),
                                    language=q.language, params=calibration.fusion, reranker=calibration.reranker)
        candidates = ranking.candidates
        keys = [domain.index.groups[c.group] for c in candidates]
        answerable = bool(keys) and ranking.features is not None and decision.answerable(ranking.features)
        settled = ""
        if answerable and is_close([c.score for c in candidates], margin):
            items = [domain.index.items[c.item] for c in candidates]
            choices = [Choice(key, item.question, item.answer) for key, item in zip(keys, items, strict=True)]
            started = time.perf_counter()
            reply = model.chat(close_call_messages(q.query, choices), max_tokens=MAX_TOKENS, temperature=0.0, timeout=600)
            latencies.append((time.perf_counter() - started) * 1000)
            choice = close_call_choice(reply, len(choices))
            if choice is not None and choice < 0:
                answerable, settled = False, "none"
            elif choice is not None:
                keys = [keys[choice], *(k for i, k in enumerate(keys) if i != choice)]
                settled = "kept" if choice == 0 else "picked"
            else:
                settled = "failed"
        outcomes.append({"query": q.query, "language": q.language, "expected": q.expected, "keys": keys[:5],
                         "answerable": answerable, "close_call": settled})
    return outcomes, latencies


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run_llm_steps(*, generated: bool, close_calls: bool) -> str:
    from django.conf import settings

    from knowledgebase.retrieval.decision import calibration_load

    started = time.perf_counter()
    all_domains = [d for d in domains() if d.name in ("mall", *HELD_OUT)]  # those with cached generated phrasings
    for domain in all_domains:
        index_load(domain)
    production = calibration_load()
    results: dict[str, Any] = {}
    sections = ["# Knowledge-base search: leave-one-domain-out with the language-model steps\n",
                __doc__.split("\n\n", 1)[1].strip()]
    server = None
    if close_calls:
        from avatar_runtime.llm.local_server import MODEL_ALIAS, LocalLlamaServer, LocalServerConfig, default_model_path
        from knowledgebase.llm import ChatModel

        server = LocalLlamaServer(LocalServerConfig(default_model_path(Path(settings.MODELS_DIR)), n_threads=1))
        model = ChatModel(server.start(), MODEL_ALIAS)
    try:
        pooled: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for domain in [d for d in all_domains if d.name in HELD_OUT]:
            others = [d for d in all_domains if d is not domain]
            lodo = lodo_fit(others, production)
            configs: dict[str, list[dict[str, Any]]] = {"before": evaluate(domain, production), "LODO": evaluate(domain, lodo)}
            rows = generated_rows(domain.name) if generated else []
            entry: dict[str, Any] = {}
            if rows:
                richer = with_generated(domain, rows)
                richer.vectors = domain.vectors
                configs["before + generated"] = evaluate(richer, production)
                configs["LODO + generated"] = evaluate(richer, lodo)
                checked = round_tripped(domain, rows, lodo)
                richer = with_generated(domain, checked)
                richer.vectors = domain.vectors
                configs["before + generated, round-trip"] = evaluate(richer, production)
                configs["LODO + generated, round-trip"] = evaluate(richer, lodo)
                entry["round-trip kept"] = len(checked)
                covered = {row["key"] for row in rows}
                entry["generated"] = {"phrasings": len(rows), "entries with them": len(covered),
                                      "entries": len(domain.index.groups)}
                subset = {name: [o for o in out if o["expected"] in covered] for name, out in configs.items()}
                entry["covered entries only"] = {name: breakdown(out) for name, out in subset.items()}
            if server is not None:
                close, latencies = close_called(domain, lodo, model, settings.KB_CLOSE_CALL_MARGIN)
                configs["LODO + close calls"] = close
                entry["close calls"] = {
                    "asked": len(latencies), "questions": len(close),
                    "outcomes": {k: sum(o["close_call"] == k for o in close) for k in ("kept", "picked", "none", "failed")},
                    "llm p50 ms": round(statistics.median(latencies)) if latencies else None,
                    "llm p95 ms": round(_percentile(latencies, 0.95)) if latencies else None,
                }
            entry["scores"] = {name: breakdown(out) for name, out in configs.items()}
            results[domain.name] = entry
            for name, out in configs.items():
                pooled[name] += out
            print(f"{domain.name}: done, {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        if server is not None:
            server.stop()
    names = list(pooled)
    results["pooled"] = {"scores": {name: breakdown(out) for name, out in pooled.items()}}
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    sections.append(f"\nRun: {time.perf_counter() - started:.0f} s, {os.cpu_count()} cores (shared with other work), "
                    f"load average {load}; close-call margin {settings.KB_CLOSE_CALL_MARGIN}.")
    sections.append(_table("Held-out domains pooled (rail + museum)", results["pooled"]["scores"],
                           [name for name in names if len(pooled[name]) == len(pooled["LODO"])]))
    for name in HELD_OUT:
        entry = results[name]
        sections.append(_table(f"{name} left out", entry["scores"], list(entry["scores"])))
        for part in ("generated", "round-trip kept", "close calls"):
            if part in entry:
                sections.append(f"{part}: " + json.dumps(entry[part]))
        if "covered entries only" in entry:
            sections.append(_table(f"{name}: only questions whose entry has generated phrasings",
                                   entry["covered entries only"], list(entry["covered entries only"])))
    report = "\n\n".join(sections) + "\n"
    parts = ["generated"] * generated + [f"close_calls_margin{settings.KB_CLOSE_CALL_MARGIN}"] * close_calls
    name = f"kb_search_lodo_{'_'.join(parts)}"
    (RESULTS / f"{name}.md").write_text(report)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    return report


def _table(title: str, scores: dict[str, dict[str, Any]], names: list[str]) -> str:
    return report_table(title, scores, tuple(names))
