"""The local Qwen's answer check on each held-out question's best entry (``knowledgebase.answer_check``),
cached for ``kb_answer_check.py`` (``python bench/kb_answer_check_score.py``; slow: one model call a
question, llama.cpp on one thread).

For each domain left out, its questions are ranked as ``kb_lodo`` ranks them (re-ranker fitted on
the other domains); the first entry, shown in the question's language when it has one, goes to the
model with the question, the domains' in-scope and out-of-scope questions taken in turn (``interleaved``;
on a loaded 2-core machine a call takes seconds). Nothing is fitted here. Each row: the question, the entry, the score
(log P(yes) - log P(no)), the model's own reply and the call's wall time. Rows already in
``bench/results/kb_answer_check_scores.jsonl`` are kept (the run can be resumed).
"""
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kb_search import ROOT, django_setup

CACHE = ROOT / "bench" / "results" / "kb_answer_check_scores.jsonl"
ORDER = ("rail", "museum", "bank")  # the held-out target


def cached() -> dict[tuple[str, str], dict[str, object]]:
    if not CACHE.exists():
        return {}
    rows = [json.loads(line) for line in CACHE.read_text().splitlines() if line.strip()]
    return {(row["query"], row["key"]): row for row in rows}


def interleaved(pairs: list[tuple[str, Any, str, Any]]) -> list[tuple[str, Any, str, Any]]:
    """``pairs`` in a fixed shuffled order that takes in turn from each (domain, in scope or not) stratum,
    so that a run stopped early has scored a like share of each."""
    strata: dict[tuple[str, bool], list[tuple[str, Any, str, Any]]] = defaultdict(list)
    for pair in pairs:
        strata[(pair[0], pair[1].expected is not None)].append(pair)
    rng = random.Random(22)
    for members in strata.values():
        rng.shuffle(members)
    out = []
    for turn in range(max(len(members) for members in strata.values())):
        out += [members[turn] for _, members in sorted(strata.items()) if turn < len(members)]
    return out


def main() -> None:
    from django.conf import settings
    from kb_lodo import domains, index_load, lodo_fit

    from avatar_runtime.llm.local_server import MODEL_ALIAS, LocalLlamaServer, LocalServerConfig, default_model_path
    from knowledgebase.answer_check import MAX_TOKENS, TOP_LOGPROBS, answer_check_messages, answer_check_score
    from knowledgebase.llm import ChatModel, _client
    from knowledgebase.retrieval.decision import calibration_load
    from knowledgebase.retrieval.text import lexical_terms

    all_domains = {d.name: d for d in domains()}
    for domain in all_domains.values():
        index_load(domain)
    production = calibration_load()
    done = cached()
    server = LocalLlamaServer(LocalServerConfig(default_model_path(Path(settings.MODELS_DIR)), n_threads=1))
    model = ChatModel(server.start(), MODEL_ALIAS)
    client = _client(model.base_url, "")
    pairs = []  # (domain, question, key, item) of each domain's questions, ranked as when it is left out
    for name in ORDER:
        domain = all_domains[name]
        lodo = lodo_fit([d for d in all_domains.values() if d is not domain], production)
        for q in domain.test:
            assert domain.vectors is not None
            ranking = domain.index.rank(query_vector=domain.vectors[q.query], terms=lexical_terms(q.query),
                                        language=q.language, params=lodo.fusion, reranker=lodo.reranker)
            if ranking.candidates:
                best = ranking.candidates[0]
                pairs.append((name, q, domain.index.groups[best.group], domain.index.items[best.item]))
        print(f"{name}: ranked", flush=True)
    try:
        with CACHE.open("a") as out:
            for name, q, key, item in interleaved(pairs):
                if (q.query, key) in done:
                    continue
                started = time.perf_counter()
                response = client.chat.completions.create(
                    model=model.model, messages=answer_check_messages(q.query, item.question, item.answer),
                    max_tokens=MAX_TOKENS, temperature=0.0, logprobs=True, top_logprobs=TOP_LOGPROBS, timeout=600)
                ms = (time.perf_counter() - started) * 1000
                choice = response.choices[0]
                top = choice.logprobs.content[0].top_logprobs if choice.logprobs and choice.logprobs.content else []
                row = {"domain": name, "query": q.query, "language": q.language, "expected": q.expected, "key": key,
                       "score": answer_check_score((t.token, t.logprob) for t in top),
                       "reply": choice.message.content, "ms": round(ms), "load": round(os.getloadavg()[0], 1)}
                done[(q.query, key)] = row
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
    finally:
        server.stop()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="kb-answer-check-") as workdir:
        django_setup(Path(workdir))
        main()
