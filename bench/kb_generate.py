"""Generate phrasings (doc2query) for the benchmark domains once, with the local Qwen, and cache them.

    python bench/kb_generate.py rail museum      # appends to bench/data/kb_domains/<domain>/generated.jsonl

The same prompt and checks as the background job (``knowledgebase.phrasing``), from the
domain's ``faqs.jsonl`` only (never its questions). One source translation per entry (the
first in the file, the venue's main language) to keep the run within the machine's budget;
the job generates from every published translation. Resumable: entries already in the file
are skipped. Each row records the generator; ``generated.meta.json`` the model file and settings.
Then ``python bench/kb_search.py --lodo --generated`` measures with and without them.
"""
import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avatar_runtime.llm.local_server import MODEL_ALIAS, LocalLlamaServer, LocalServerConfig, default_model_path  # noqa: E402
from knowledgebase import phrasing  # noqa: E402

DOMAINS = ROOT / "bench" / "data" / "kb_domains"
MODELS_DIR = ROOT / "var" / "models"


def _entries(faqs: Path) -> dict[str, list[dict[str, object]]]:
    by_key: dict[str, list[dict[str, object]]] = defaultdict(list)
    for line in faqs.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            by_key[row["key"]].append(row)
    return by_key


def _phrasings(rows: list[dict[str, object]]) -> list[str]:
    return [str(text) for row in rows for text in (row["question"], *row.get("alternates", ()))]  # type: ignore[misc]


def generate(domain: str, chat: phrasing.Chat, generator: str) -> Counter[str]:
    out = DOMAINS / domain / "generated.jsonl"
    done = {json.loads(line)["key"] for line in out.read_text().splitlines() if line.strip()} if out.exists() else set()
    entries = _entries(DOMAINS / domain / "faqs.jsonl")
    rejected: Counter[str] = Counter()
    for key, rows in entries.items():
        if key in done:
            continue
        first = rows[0]
        source = phrasing.SourceText(str(first["language"]), str(first["question"]), str(first["answer"]),
                                     tuple(first.get("alternates", ())))  # type: ignore[arg-type]
        others = [text for other, other_rows in entries.items() if other != key for text in _phrasings(other_rows)]
        started = time.perf_counter()
        report = phrasing.phrasings_generate(source, chat, taken=_phrasings(rows), others=others)
        rejected.update(report.rejected)
        with out.open("a") as handle:
            for language, texts in report.kept.items():
                for text in texts:
                    handle.write(json.dumps({"key": key, "source_language": source.language, "language": language,
                                             "text": text, "generator": generator}, ensure_ascii=False) + "\n")
        print(f"{domain}/{key}: {report.count()} kept, rejected {dict(report.rejected)}, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    return rejected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("domains", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    model_path = default_model_path(MODELS_DIR)
    generator = f"{MODEL_ALIAS} (llama.cpp, {model_path.name}, {phrasing.PROMPT_VERSION}, "\
                f"temperature {phrasing.TEMPERATURE}, frequency penalty {phrasing.FREQUENCY_PENALTY}, seed {phrasing.SEED})"
    from knowledgebase.llm import ChatModel

    with LocalLlamaServer(LocalServerConfig(model_path=model_path, n_threads=args.threads)) as server:
        model = ChatModel(server.base_url, MODEL_ALIAS, seed=phrasing.SEED)

        def chat(messages: list[dict[str, str]]) -> str:
            return model.chat(messages, max_tokens=phrasing.MAX_TOKENS, temperature=phrasing.TEMPERATURE,
                              frequency_penalty=phrasing.FREQUENCY_PENALTY, timeout=300)

        for domain in args.domains:
            started = time.perf_counter()
            rejected = generate(domain, chat, generator)
            meta = {"generator": generator, "model_file": model_path.name, "model_bytes": model_path.stat().st_size,
                    "source": "faqs.jsonl only: one translation per entry (the first listed)",
                    "per_language": phrasing.PER_LANGUAGE, "rejected_last_run": dict(rejected),
                    "last_run_seconds": round(time.perf_counter() - started)}
            (DOMAINS / domain / "generated.meta.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
