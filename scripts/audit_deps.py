#!/usr/bin/env python3
"""Audit the pinned runtime dependencies for known vulnerabilities with pip-audit.

    python scripts/audit_deps.py [requirements.txt]

Fails (exit 1) when pip-audit reports a vulnerability. When the vulnerability service cannot be
reached, or cannot audit most pins (a registry mirror without PyPI's per-version JSON API, say),
it says so in capitals and exits 0: an audit that did not happen must never read as "no known
vulnerabilities". ``KIOSK_AUDIT_STRICT=1`` turns that case into a failure (for CI with internet).
"""
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Audit:
    audited: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    vulnerable: list[str] = field(default_factory=list)  # "name version: ID (fixed in ...)"


def parse_report(report: dict[str, object]) -> Audit:
    """pip-audit's ``--format json`` report, sorted into audited, skipped and vulnerable pins."""
    audit = Audit()
    dependencies = report.get("dependencies", [])
    assert isinstance(dependencies, list)
    for dep in dependencies:
        name = f"{dep.get('name')} {dep.get('version', '?')}"
        if dep.get("skip_reason"):
            audit.skipped.append(name)
            continue
        audit.audited.append(name)
        for vuln in dep.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            audit.vulnerable.append(f"{name}: {vuln.get('id')} (fixed in {fixed})")
    return audit


def verdict(audit: Audit, strict: bool) -> tuple[int, str]:
    if audit.vulnerable:
        return 1, "VULNERABLE DEPENDENCIES:\n  " + "\n  ".join(audit.vulnerable)
    total = len(audit.audited) + len(audit.skipped)
    if total == 0 or len(audit.skipped) > total // 2:
        message = (f"DEPENDENCY AUDIT NOT PERFORMED: the vulnerability service could audit only {len(audit.audited)} "
                   f"of {total} pins (no per-version data from the package index). Run it where pypi.org is reachable.")
        return (1 if strict else 0), message
    note = f" ({len(audit.skipped)} could not be audited: {', '.join(audit.skipped)})" if audit.skipped else ""
    return 0, f"dependency audit: {len(audit.audited)} pins audited, no known vulnerabilities{note}"


def main() -> int:
    requirements = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "requirements.txt"
    strict = os.environ.get("KIOSK_AUDIT_STRICT", "") == "1"
    tool = shutil.which("pip-audit", path=str(Path(sys.executable).parent)) or shutil.which("pip-audit")
    if tool is None:
        print("DEPENDENCY AUDIT NOT PERFORMED: pip-audit is not installed (requirements-dev.txt)")
        return 1 if strict else 0
    try:
        result = subprocess.run(
            [tool, "-r", str(requirements), "--no-deps", "--disable-pip", "--vulnerability-service", "pypi",
             "--progress-spinner", "off", "--format", "json"],
            capture_output=True, text=True, timeout=300, check=False,
        )
        report = json.loads(result.stdout)
    except (subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        print(f"DEPENDENCY AUDIT NOT PERFORMED: pip-audit failed ({type(exc).__name__}); "
              f"{getattr(exc, 'stderr', '') or ''}".strip())
        return 1 if strict else 0
    code, message = verdict(parse_report(report), strict)
    print(message)
    return code


if __name__ == "__main__":
    sys.exit(main())
