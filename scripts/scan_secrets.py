#!/usr/bin/env python3
"""Fail when a tracked file holds something that looks like a credential.

    python scripts/scan_secrets.py [ROOT]

Scans the files git tracks (or, outside a git checkout, every file under ROOT) for private keys,
cloud and service tokens, and secret settings assigned a literal value. A line that must hold
such a string (a test fixture of this scanner, say) carries the marker ``secret-scan: allow``.
Exit status 1 and one line per finding (path:line: kind, never the secret itself).
"""
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ALLOW = "secret-scan: allow"
MAX_BYTES = 2 * 1024 * 1024
PATTERNS: dict[str, re.Pattern[str]] = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "OpenAI/DashScope-style API key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{32,}\b"),
    "Stripe live key": re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}\b"),
    "URL with a password": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:[^\s@/'\"]{6,}@[^\s'\"]+"),
    "secret setting with a literal value": re.compile(
        r"""\b(?:SECRET_KEY|API_KEY|LLM_API_KEY|DASHSCOPE_API_KEY|AWS_SECRET_ACCESS_KEY)\s*[:=]\s*["'][^"'\s]{16,}["']"""
    ),
}
SKIP_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".wav", ".mp3", ".mp4", ".onnx", ".bin", ".gguf",
                 ".pt", ".pth", ".mo", ".woff", ".woff2", ".ttf", ".zip", ".gz", ".sqlite3"}


def tracked_files(root: Path) -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
        return [root / name for name in out.decode().split("\0") if name]
    except (subprocess.CalledProcessError, FileNotFoundError):
        return [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]


def findings(root: Path) -> Iterator[str]:
    for path in tracked_files(root):
        if path.suffix.lower() in SKIP_SUFFIXES or path.is_symlink() or not path.is_file():
            continue
        if path.stat().st_size > MAX_BYTES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if ALLOW in line:
                continue
            for kind, pattern in PATTERNS.items():
                if pattern.search(line):
                    yield f"{path.relative_to(root)}:{number}: {kind}"


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    found = list(findings(root))
    for line in found:
        print(line)
    print(f"secret scan: {len(found)} finding(s) in {root}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
