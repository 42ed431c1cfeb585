"""What the kiosk page adds to the runtime's latencies, measured by the page in a real browser.

    python bench/kiosk_page_latency.py              # 3 runs, the browser on a core of its own
    python bench/kiosk_page_latency.py --shared     # the browser and the server share every core
    python bench/kiosk_page_latency.py --runs 5

Each run is the real-browser barge-in test (``tests/browser/test_kiosk_bargein.py``: headless
Chromium with a cued microphone, daphne with the embedded worker and the offline models), once
over WebRTC and once over the WebSocket fallback. The page times "end of the customer's audio ->
first answer frame shown" and "barge-in onset -> the avatar's voice stopped"; the runtime's own
share of the same turn comes from its stored timings. What is left is what the browser, the page
and the transport add (split into uplink and downlink for the first frame).

A kiosk's browser runs on the kiosk and the avatar worker on its own host. On one small machine
the two compete for the same cores, and the page's numbers then measure that competition (the
worker's packets leave late, the browser's jitter buffer grows). By default the browser, and the
pytest process that drives it, get the last core and the server with its worker the others
(``taskset``; ``KIOSK_TEST_SERVER_CPUS``); ``--shared`` measures the co-located case. Run it on an
otherwise idle machine. The table is printed and written to ``bench/results/kiosk_page_latency.md``
(``kiosk_page_latency_shared.md`` with ``--shared``).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
MEASURED = ARTIFACTS / "kiosk_latency.json"
RESULTS = ROOT / "bench" / "results" / "kiosk_page_latency.md"
MEDIA = ("webrtc", "ws")
TARGET_MS = 100  # the target: the runtime's numbers plus at most this


def cpu_split(shared: bool) -> tuple[str, str] | None:
    """(browser cores, server cores) as taskset lists, or None to share them all."""
    cores = sorted(os.sched_getaffinity(0))
    if shared or len(cores) < 2:
        return None
    return str(cores[-1]), ",".join(str(core) for core in cores[:-1])


def one_run(split: tuple[str, str] | None, workdir: Path) -> dict[str, Any]:
    MEASURED.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "tests/browser/test_kiosk_bargein.py", "-q", "-o", "addopts=",
               "-p", "no:rerunfailures", "-p", "no:cacheprovider", f"--basetemp={workdir}"]
    env = dict(os.environ)
    if split is not None:
        command = ["taskset", "--cpu-list", split[0], *command]
        env["KIOSK_TEST_SERVER_CPUS"] = split[1]
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if finished.returncode != 0:
        keep_server_logs(workdir)
    measured: dict[str, Any] = json.loads(MEASURED.read_text()) if MEASURED.exists() else {}
    if not measured:
        sys.exit(f"the browser test failed:\n{finished.stdout[-4000:]}\n{finished.stderr[-2000:]}")
    # A medium whose test failed has no numbers: the run is kept, that medium counted as failed.
    errors = [line.strip() for line in finished.stdout.splitlines() if line.startswith("E ")]
    for media in MEDIA:
        if media not in measured:
            measured[media] = {"failed": errors[0][:160].replace("|", "/") if errors else "the browser test failed"}
    return measured


def keep_server_logs(workdir: Path) -> None:
    """A failed run's server logs, kept in test-artifacts/ (its working directory is deleted)."""
    ARTIFACTS.mkdir(exist_ok=True)
    for number, log in enumerate(sorted(workdir.glob("**/daphne.log"))):
        kept = ARTIFACTS / f"kiosk-page-latency-{workdir.name}-daphne{number}.log"
        shutil.copyfile(log, kept)
        print(f"{workdir.name} failed; its server log: {kept.relative_to(ROOT)}", flush=True)


COLUMNS = [
    ("page: end of question -> first frame", "end_of_customer_audio_to_first_answer_frame_ms"),
    ("runtime", "runtime_end_to_end_ms"),
    ("page adds", "page_adds_to_first_frame_ms"),
    ("uplink", "uplink_end_of_question_ms"),
    ("downlink", "downlink_first_frame_ms"),
    ("page: barge-in -> voice stopped", "bargein_onset_to_playback_stopped_ms"),
    ("runtime detection", "runtime_bargein_detection_ms"),
    ("page adds (barge-in)", "page_adds_to_bargein_ms"),
]


def table(runs: list[dict[str, Any]], split: tuple[str, str] | None) -> str:
    where = (f"browser and pytest on core {split[0]}, server and worker on cores {split[1]}" if split
             else f"browser and server share all {len(os.sched_getaffinity(0))} cores")
    lines = [f"### Kiosk page latency, {len(runs)} runs ({where})", "",
             "All times in ms. 'page adds' = what the page measured minus the runtime's own share of the same "
             f"turn; target: at most {TARGET_MS} ms. 'audio jb' = the browser's mean audio jitter-buffer delay (WebRTC).",
             "", "| run | media | " + " | ".join(name for name, _ in COLUMNS) + " | audio jb | load |",
             "|---" * (len(COLUMNS) + 4) + "|"]
    for number, run in enumerate(runs, 1):
        for media in MEDIA:
            r = run[media]
            if "failed" in r:
                lines.append(f"| {number} | {media} | failed: {r['failed']} |" + " |" * (len(COLUMNS) + 1))
                continue
            jitter = r.get("browser_receivers", {}).get("audio", {}).get("jitterBufferMs")
            cells = [f"{float(r[key]):.0f}" for _, key in COLUMNS]
            lines.append(f"| {number} | {media} | " + " | ".join(cells) +
                         f" | {'-' if jitter is None else jitter} | {' '.join(r['loadavg'])} |")
    lines += ["", "| media | page adds to first frame: median | max | runs within target | "
              "page adds to barge-in: median | max | failed runs |", "|---|---|---|---|---|---|---|"]
    for media in MEDIA:
        measured = [run[media] for run in runs if "failed" not in run[media]]
        failed = len(runs) - len(measured)
        if not measured:
            lines.append(f"| {media} | - | - | 0/0 | - | - | {failed} |")
            continue
        first = [float(r["page_adds_to_first_frame_ms"]) for r in measured]
        bargein = [float(r["page_adds_to_bargein_ms"]) for r in measured]
        within = sum(value <= TARGET_MS for value in first)
        lines.append(f"| {media} | {statistics.median(first):.0f} | {max(first):.0f} | {within}/{len(first)} | "
                     f"{statistics.median(bargein):.0f} | {max(bargein):.0f} | {failed} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shared", action="store_true", help="let the browser and the server share every core")
    args = parser.parse_args()
    split = cpu_split(args.shared)
    runs = []
    with tempfile.TemporaryDirectory(prefix="kiosk-page-latency-") as workdir:
        for number in range(args.runs):
            runs.append(one_run(split, Path(workdir) / f"run{number}"))
            print(f"run {number + 1}/{args.runs}: " + ", ".join(
                f"{media} failed" if "failed" in runs[-1][media]
                else f"{media} page adds {runs[-1][media]['page_adds_to_first_frame_ms']:.0f} ms" for media in MEDIA),
                flush=True)
    report = table(runs, split)
    print(report)
    results = RESULTS.with_name(f"{RESULTS.stem}_shared.md") if split is None else RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("# Kiosk page latency\n\n" + report + "\n")


if __name__ == "__main__":
    main()
