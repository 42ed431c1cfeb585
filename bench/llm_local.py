"""Benchmark: the Qwen answering path on the local llama.cpp server (Qwen2.5-0.5B-Instruct Q4, 2 threads).

Twenty questions, four per kiosk language (three the entries answer, one they don't), each
with three retrieved entries written for a shopping mall. Every question goes through the
production path (FailoverAnswerer → QwenAnswerer → qwen-agent → llama.cpp) while the model's
raw stream is recorded, and reports:

- time to first token (the model) and to first sentence (what the customer waits for, after
  the grounding guard), p50/p95;
- generation speed in tokens per second (tokens counted by the server's tokenizer), p50/p95;
- grounding rate: answers whose model output the guard let through / all answers;
- language match of the model's own text and of what the customer finally hears;
- facts: for answerable questions, the final answer holds the expected fact; for the others,
  it declines.

Run: ``python bench/llm_local.py`` (MODELS_DIR must hold qwen/qwen2.5-0.5b-instruct-q4.gguf).
Prints the tables and writes ``bench/results/llm_local.md``.
"""
import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avatar_runtime.llm.base import Passage, Retrieved  # noqa: E402
from avatar_runtime.llm.extractive import ExtractiveAnswerer  # noqa: E402
from avatar_runtime.llm.failover import FailoverAnswerer  # noqa: E402
from avatar_runtime.llm.grounding import is_decline  # noqa: E402
from avatar_runtime.llm.local_server import MODEL_ALIAS, LocalLlamaServer, LocalServerConfig, default_model_path  # noqa: E402
from avatar_runtime.llm.qwen import QwenAnswerer  # noqa: E402
from avatar_runtime.llm.qwen_client import Deadlines, QwenClient, QwenSettings  # noqa: E402
from avatar_runtime.text.scripts import fits_language  # noqa: E402

LANGUAGES = ("en", "zh", "yue", "ja", "ko")


def entry(key: str, en: str, zh: str, yue: str, ja: str, ko: str) -> Passage:
    answers = {"zh": zh, "yue": yue, "ja": ja, "ko": ko}
    return Passage(key, 0.0, key.replace("-", " "), en, "en", {lang: ("", text) for lang, text in answers.items()})


ENTRIES = {p.key: p for p in (
    entry("opening-hours", "The mall is open every day from 10 a.m. to 10 p.m.", "商场每天上午10点至晚上10点营业。",
          "商場每日朝早10點至夜晚10點營業。", "モールは毎日午前10時から午後10時まで営業しています。",
          "쇼핑몰은 매일 오전 10시부터 오후 10시까지 영업합니다."),
    entry("parking", "The car park is on B1 and B2. Parking costs 15 dollars per hour.", "停车场位于B1和B2层，每小时收费15元。",
          "停車場喺B1同B2樓，每個鐘收費15蚊。", "駐車場はB1階とB2階にあり、料金は1時間15ドルです。",
          "주차장은 B1층과 B2층에 있으며, 요금은 시간당 15달러입니다."),
    entry("restrooms", "Restrooms are on every floor, next to the lifts.", "每层电梯旁边都有洗手间。", "每層𨋢隔籬都有洗手間。",
          "お手洗いは各階のエレベーターの隣にあります。", "화장실은 각 층 엘리베이터 옆에 있습니다."),
    entry("wifi", "Free Wi-Fi is available: connect to MallGuest, no password needed.",
          "商场提供免费Wi-Fi，连接MallGuest即可，无需密码。", "商場有免費Wi-Fi，連接MallGuest就得，唔使密碼。",
          "無料Wi-Fiをご利用いただけます。MallGuestに接続してください。パスワードは不要です。",
          "무료 와이파이를 이용하실 수 있습니다. MallGuest에 연결하시면 되고 비밀번호는 필요 없습니다."),
    entry("lost-and-found", "Lost and found is at the customer service desk on Level 1, open until 9 p.m.",
          "失物招领处在1楼客户服务台，开放至晚上9点。", "失物認領喺1樓客戶服務台，開放到夜晚9點。",
          "落とし物は1階のカスタマーサービスカウンターで、午後9時まで受け付けています。",
          "분실물 센터는 1층 고객 서비스 데스크에 있으며 오후 9시까지 운영합니다."),
    entry("taxi", "The taxi stand is outside the north entrance on Level 1.", "出租车站在1楼北门外。", "的士站喺1樓北門外面。",
          "タクシー乗り場は1階の北口を出たところにあります。", "택시 승강장은 1층 북쪽 출입구 밖에 있습니다."),
    entry("baby-care", "The baby care room is on Level 3, beside the children's play area.", "育婴室在3楼，儿童游乐区旁边。",
          "育嬰室喺3樓，兒童遊樂區隔籬。", "ベビー休憩室は3階のキッズスペースの隣にあります。",
          "수유실은 3층 어린이 놀이 공간 옆에 있습니다."),
    entry("shuttle", "A free shuttle bus to Central Station leaves every 20 minutes from the south entrance.",
          "免费穿梭巴士每20分钟从南门开往中央车站。", "免費穿梭巴士每20分鐘由南門開去中央站。",
          "中央駅行きの無料シャトルバスが南口から20分ごとに出ています。",
          "중앙역으로 가는 무료 셔틀버스가 남쪽 출입구에서 20분마다 출발합니다."),
)}


@dataclass(frozen=True)
class Question:
    language: str
    text: str
    entries: tuple[str, ...]  # retrieved, best first
    facts: tuple[str, ...] = ()  # any of these in the final answer; empty: the answer must decline

    @property
    def answerable(self) -> bool:
        return bool(self.facts)


QUESTIONS = (
    Question("en", "What time does the mall close?", ("opening-hours", "shuttle", "lost-and-found"), ("10",)),
    Question("en", "Where can I park, and how much does it cost?", ("parking", "taxi", "opening-hours"), ("15",)),
    Question("en", "Is there free wifi here?", ("wifi", "lost-and-found", "restrooms"), ("MallGuest",)),
    Question("en", "Can I bring my dog inside?", ("opening-hours", "restrooms", "baby-care")),
    Question("zh", "洗手间在哪里？", ("restrooms", "baby-care", "taxi"), ("电梯",)),
    Question("zh", "停车费是多少？", ("parking", "taxi", "opening-hours"), ("15",)),
    Question("zh", "有去中央车站的穿梭巴士吗？", ("shuttle", "taxi", "parking"), ("20",)),
    Question("zh", "附近有没有好吃的火锅店？", ("opening-hours", "shuttle", "parking")),
    Question("yue", "商場幾點閂門？", ("opening-hours", "lost-and-found", "shuttle"), ("10",)),
    Question("yue", "我唔見咗銀包，去邊度搵？", ("lost-and-found", "restrooms", "opening-hours"), ("服務台", "服务台", "1")),
    Question("yue", "的士站喺邊度？", ("taxi", "shuttle", "parking"), ("北",)),
    Question("yue", "你哋有冇賣iPhone？", ("opening-hours", "lost-and-found", "wifi")),
    Question("ja", "トイレはどこですか？", ("restrooms", "baby-care", "lost-and-found"), ("エレベーター",)),
    Question("ja", "タクシー乗り場はどこですか？", ("taxi", "shuttle", "parking"), ("北",)),
    Question("ja", "授乳室はありますか？", ("baby-care", "restrooms", "opening-hours"), ("3",)),
    Question("ja", "この近くに美味しいラーメン屋はありますか？", ("opening-hours", "taxi", "shuttle")),
    Question("ko", "영업시간이 어떻게 되나요?", ("opening-hours", "shuttle", "lost-and-found"), ("10",)),
    Question("ko", "와이파이 비밀번호가 뭐예요?", ("wifi", "lost-and-found", "restrooms"), ("MallGuest", "필요 없")),
    Question("ko", "셔틀버스는 얼마나 자주 있나요?", ("shuttle", "taxi", "parking"), ("20",)),
    Question("ko", "환전은 어디서 할 수 있나요?", ("opening-hours", "lost-and-found", "wifi")),
)


@dataclass
class Recording:
    started: float = 0.0
    deltas: list[tuple[float, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(d for _, d in self.deltas)


class RecordingClient(QwenClient):
    """Records when each delta of the model's stream arrives, for timing; the answerer sees the same stream."""

    recording: Recording

    async def stream(self, messages: list[dict[str, str]], *, language: str, deadlines: Deadlines,
                     turn: str = "") -> AsyncGenerator[str, None]:
        async for delta in super().stream(messages, language=language, deadlines=deadlines, turn=turn):
            self.recording.deltas.append((time.perf_counter(), delta))
            yield delta


@dataclass
class Result:
    question: Question
    answer: str
    model_text: str
    answered_by: str
    reason: str
    first_token: float
    first_sentence: float
    tokens: int
    tokens_per_second: float | None


def count_tokens(address: str, text: str) -> int:
    request = urllib.request.Request(f"{address}/tokenize", data=json.dumps({"content": text}).encode(),  # noqa: S310
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our loopback server
        return len(json.loads(response.read())["tokens"])


async def ask(answerer: FailoverAnswerer, client: RecordingClient, address: str, question: Question) -> Result:
    client.recording = Recording(started=time.perf_counter())
    passages = [ENTRIES[key] for key in question.entries]
    stream = answerer.answer(question.text, question.language, Retrieved(question.answerable, passages), [])
    sentences, first_sentence = [], 0.0
    async for sentence in stream:
        if not sentences:
            first_sentence = time.perf_counter() - client.recording.started
        sentences.append(sentence)
    recording = client.recording
    tokens = count_tokens(address, recording.text) if recording.text else 0
    speed = None
    if tokens > 1 and len(recording.deltas) > 1:
        speed = (tokens - 1) / (recording.deltas[-1][0] - recording.deltas[0][0])
    first_token = recording.deltas[0][0] - recording.started if recording.deltas else float("nan")
    joiner = " " if question.language in ("en", "ko") else ""
    return Result(question, joiner.join(sentences), recording.text, stream.outcome.answered_by,
                  stream.outcome.fallback_reason, first_token, first_sentence, tokens, speed)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def fact_ok(result: Result) -> bool:
    if result.question.answerable:
        return any(fact in result.answer for fact in result.question.facts)
    return is_decline(result.answer)


def rate(results: list[Result], test: object) -> str:
    hits = sum(1 for r in results if test(r))  # type: ignore[operator]
    return f"{hits}/{len(results)} ({100 * hits / len(results):.0f}%)"


def tables(results: list[Result], startup: float, load: tuple[float, float], args: argparse.Namespace) -> str:
    ttft = [r.first_token for r in results if r.first_token == r.first_token]
    ttfs = [r.first_sentence for r in results]
    speeds = [r.tokens_per_second for r in results if r.tokens_per_second]
    lines = [
        "# LLM answering on the local llama.cpp server",
        "",
        f"Qwen2.5-0.5B-Instruct Q4 GGUF via xllamacpp, {args.threads} threads, n_ctx {args.ctx}, temperature 0, "
        f"max_tokens {args.max_tokens}; {len(results)} questions ({len(LANGUAGES)} languages); server start {startup:.1f} s.",
        f"Machine: {os.cpu_count()} CPU cores, shared with other work: 1-minute load average {load[0]:.1f} at the start, "
        f"{load[1]:.1f} at the end (above {os.cpu_count()} the model competes for the cores and timings suffer).",
        "",
        "| metric | p50 | p95 |",
        "|---|---|---|",
        f"| time to first token (model, s) | {percentile(ttft, .5):.2f} | {percentile(ttft, .95):.2f} |",
        f"| time to first sentence (customer, after the guard, s) | {percentile(ttfs, .5):.2f} | {percentile(ttfs, .95):.2f} |",
        f"| generation speed (tokens/s) | {percentile(speeds, .5):.1f} | {percentile(speeds, .95):.1f} |",
        f"| answer length (tokens) | {percentile([r.tokens for r in results], .5):.0f} | "
        f"{percentile([r.tokens for r in results], .95):.0f} |",
        "",
        "| language | grounded (guard let the model's answer through) | model text in the right language "
        "| final answer in the right language | facts right / declined when it should |",
        "|---|---|---|---|---|",
    ]
    for language in (*LANGUAGES, "all"):
        subset = [r for r in results if language in (r.question.language, "all")]
        lines.append(
            f"| {language} | {rate(subset, lambda r: r.answered_by == 'qwen')} "
            f"| {rate(subset, lambda r: bool(r.model_text) and fits_language(r.model_text, r.question.language))} "
            f"| {rate(subset, lambda r: fits_language(r.answer, r.question.language))} | {rate(subset, fact_ok)} |"
        )
    lines += ["", "| lang | question | model said | customer heard (answered by, why) | TTFS s | tok/s |",
              "|---|---|---|---|---|---|"]
    for r in results:
        said = r.model_text.replace("\n", " ").replace("|", "/")[:90]
        heard = r.answer.replace("|", "/")[:70]
        speed = f"{r.tokens_per_second:.1f}" if r.tokens_per_second else "-"
        why = f", {r.reason}" if r.reason else ""
        lines.append(f"| {r.question.language} | {r.question.text} | {said} | {heard} ({r.answered_by}{why}) "
                     f"| {r.first_sentence:.2f} | {speed} |")
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path(os.environ.get("MODELS_DIR", ROOT / "var" / "models")))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--max-tokens", type=int, default=80)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "llm_local.md")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    config = LocalServerConfig(default_model_path(args.models_dir), n_threads=args.threads, n_ctx=args.ctx)
    with LocalLlamaServer(config) as server:
        startup = time.perf_counter() - started
        client = RecordingClient(QwenSettings(base_url=server.base_url, model=MODEL_ALIAS, max_tokens=args.max_tokens,
                                              temperature=0.0))
        answerer = FailoverAnswerer(QwenAnswerer(client, deadlines=Deadlines(first_token=90, total=180)), ExtractiveAnswerer())
        results = []
        for question in QUESTIONS:
            result = await ask(answerer, client, server.address, question)
            print(f"{question.language} {result.first_sentence:6.2f}s {result.answered_by:10} {result.reason}", flush=True)
            results.append(result)
    report = tables(results, startup, (load_before, os.getloadavg()[0]), args)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
