#!/usr/bin/env bash
# Set up Kiosk Avatar on a fresh Debian/Ubuntu machine with Python 3.11: system packages,
# a virtualenv in .venv, Python dependencies, database, offline models and demo content.
# Idempotent: a second run only does what changed. Options: --dev (test tools, Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

APT_PACKAGES=(espeak-ng ffmpeg sox libsndfile1 gettext)
# fonts-noto-cjk: the kiosk screenshots show Chinese, Japanese and Korean text. coturn: the WebRTC
# relay test runs a real TURN server (tests/avatar_runtime/transport/test_webrtc_relay.py).
(( DEV )) && APT_PACKAGES+=(chromium chromium-driver fonts-noto-cjk coturn)
# npm: provision_models fetches Kokoro's Mandarin voice styles from the npm registry (kokoro-js).
command -v npm >/dev/null || APT_PACKAGES+=(npm)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
  echo "==> apt: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

req_files=(requirements.txt constraints.txt)
(( DEV )) && req_files+=(requirements-dev.txt)
stamp=".venv/.requirements-$(cat "${req_files[@]}" | sha256sum | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  echo "==> pip: installing ${req_files[*]}"
  "${PIP[@]}" install -q --upgrade pip wheel
  args=(-r requirements.txt)
  (( DEV )) && args+=(-r requirements-dev.txt)
  "${PIP[@]}" install -q "${args[@]}" -c constraints.txt
  touch "$stamp"
fi

echo "==> database"
.venv/bin/python manage.py migrate --noinput -v0
echo "==> translations"
.venv/bin/python manage.py compilemessages -v0 --ignore=.venv
echo "==> static files"
.venv/bin/python manage.py collectstatic --noinput -v0
echo "==> offline models into ${MODELS_DIR:-var/models}"
.venv/bin/python manage.py provision_models
if (( DEV )); then
  echo "==> the local Qwen model for the LLM tests"
  .venv/bin/python manage.py provision_models qwen2.5-0.5b-gguf
fi
echo "==> demo content"
# Not the answers' audio here (Kokoro speaking the whole demo KB takes minutes on 2 cores):
# the kiosk builds it in the background when its avatar worker starts.
ANSWER_AUDIO_CACHE=off .venv/bin/python manage.py load_demo
