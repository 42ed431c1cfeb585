"""``bench/gpu_worker.py --tiny``: the whole-worker benchmark runs end to end on the CPU and reports every measure."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_tiny_worker_benchmark_reports_start_up_delivery_and_cpu_by_stage(tmp_path: Path) -> None:
    command = [sys.executable, "bench/gpu_worker.py", "--tiny", "--out", str(tmp_path), "--sessions", "2",
               "--trial-seconds", "2", "--cache-dir", str(tmp_path / "compiled")]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_worker_cpu_tiny.json").read_text())
    assert report["weights"] == "RANDOM weights (tiny configs)"  # never mistaken for the official weights
    assert report["startup_cold"]["compile_cache"] == "unused"  # the child process started a real server
    assert report["startup_warm"]["seconds"] >= 0
    (result,) = report["trials"]
    assert result["sessions"] == 2 and result["frames"] >= 2 * 2 * 25 * 0.8  # both sessions got their 25 fps
    assert 0 <= result["on_time_fraction"] <= 1 and result["answers"] >= 2
    stages = result["cpu_cores_per_session"]
    assert set(stages) == {"render", "compose", "encode", "other"}
    assert stages["render"] > 0 and stages["encode"] > 0 and stages["compose"] >= 0
    assert "N=  2" in done.stdout
    assert "| default | 2 | all | no | 75 | 60 |" in (tmp_path / "gpu_worker_cpu_tiny.md").read_text()
