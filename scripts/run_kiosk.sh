#!/usr/bin/env bash
# Command 1 of the README: set up (idempotent) and serve the kiosk on http://127.0.0.1:8000/
# with the embedded defaults (SQLite, in-memory channel layer, offline models, no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python manage.py doctor
HOST=${KIOSK_HOST:-127.0.0.1}
PORT=${KIOSK_PORT:-8000}
echo "==> serving on http://$HOST:$PORT/  (console: /console/, API: /api/)"
# A kiosk stays connected all day: daphne must not close its socket after a fixed time.
exec .venv/bin/daphne -b "$HOST" -p "$PORT" --websocket_timeout -1 config.asgi:application
