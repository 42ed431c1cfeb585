#!/usr/bin/env bash
# Command 2 of the README: set up with the test tools, lint, type-check, run the tests.
# With DATABASE_URL / REDIS_URL set, the same tests run against PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
echo "==> ruff"
.venv/bin/ruff check .
echo "==> mypy"
.venv/bin/mypy .
echo "==> import layering (no cycle between top-level packages; the runtime imports no app)"
.venv/bin/python scripts/check_imports.py
echo "==> secret scan"
.venv/bin/python scripts/scan_secrets.py
echo "==> dependency audit (pip-audit; says so loudly when the vulnerability service is unreachable)"
.venv/bin/python scripts/audit_deps.py requirements.txt
echo "==> pytest"
exec .venv/bin/pytest "$@"
