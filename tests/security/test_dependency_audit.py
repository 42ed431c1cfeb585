"""The dependency audit fails on a vulnerability and never passes off a skipped audit as clean."""
import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _audit_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_deps", ROOT / "scripts" / "audit_deps.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


audit_deps = _audit_module()
# Shapes of pip-audit 2.10's ``--format json`` report.
VULNERABLE = {"dependencies": [
    {"name": "django", "version": "4.2.0", "vulns": [
        {"id": "PYSEC-2023-100", "fix_versions": ["4.2.2"], "aliases": ["CVE-2023-36053"], "description": "ReDoS"}]},
    {"name": "pillow", "version": "13.0.0", "vulns": []},
], "fixes": []}
CLEAN = {"dependencies": [{"name": "django", "version": "5.2.19", "vulns": []},
                          {"name": "pillow", "version": "13.0.0", "vulns": []},
                          {"name": "jieba", "skip_reason": "Dependency not found on PyPI and could not be audited"}]}
UNREACHABLE = {"dependencies": [{"name": n, "skip_reason": "Dependency not found on PyPI and could not be audited"}
                                for n in ("django", "channels", "pillow")]}


def test_a_vulnerability_fails_the_audit_and_names_the_fix() -> None:
    code, message = audit_deps.verdict(audit_deps.parse_report(VULNERABLE), strict=False)
    assert code == 1
    assert "django 4.2.0: PYSEC-2023-100 (fixed in 4.2.2)" in message


def test_a_clean_audit_passes_and_lists_what_it_could_not_check() -> None:
    code, message = audit_deps.verdict(audit_deps.parse_report(CLEAN), strict=True)
    assert code == 0
    assert "2 pins audited" in message and "jieba" in message


def test_an_audit_that_could_not_run_says_so_and_fails_only_when_strict() -> None:
    audit = audit_deps.parse_report(UNREACHABLE)
    code, message = audit_deps.verdict(audit, strict=False)
    assert code == 0 and message.startswith("DEPENDENCY AUDIT NOT PERFORMED")
    assert "no known vulnerabilities" not in message
    assert audit_deps.verdict(audit, strict=True)[0] == 1
