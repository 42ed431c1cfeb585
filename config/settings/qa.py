"""Lip-sync QA: which answers are recorded and scored, and when the scores raise a flag.

Thresholds are per scorer because their confidence scales differ: the embedded scorer's
peak-over-median correlation sits around 0.8-1.0 for matched audio and around 0.2-0.3 (at most
0.62 on the tuning clips) for unrelated audio (bench/results/qa_scorer*.md); SyncNet's LSE-C is ~3
and above for matched audio.
"""
from config.settings.env import env_float, env_int

# Fraction of the avatar's answers the worker records as an mp4 (frames + the audio it played).
ANSWER_CLIP_SAMPLE_RATE = env_float("ANSWER_CLIP_SAMPLE_RATE", 1.0)
ANSWER_CLIP_MAX_SECONDS = env_float("ANSWER_CLIP_MAX_SECONDS", 60.0)  # longer answers keep their first minute
# Fraction of recorded answers that get a lip-sync score (a Celery job after the clip is saved).
QA_SAMPLE_RATE = env_float("QA_SAMPLE_RATE", 1.0)
QA_CONFIDENCE_THRESHOLDS = {
    "embedded": env_float("QA_CONFIDENCE_THRESHOLD_EMBEDDED", 0.65),
    "syncnet": env_float("QA_CONFIDENCE_THRESHOLD_SYNCNET", 3.0),
}
QA_MAX_OFFSET_FRAMES = env_float("QA_MAX_OFFSET_FRAMES", 2.0)  # mean |offset| above this raises a flag
QA_ROLLING_WINDOW = env_int("QA_ROLLING_WINDOW", 20)  # scores per avatar / voice in the rolling summary
QA_FLAG_MIN_SCORES = env_int("QA_FLAG_MIN_SCORES", 3)  # a summary of fewer scores raises no flag
QA_JOB_MAX_RETRIES = env_int("QA_JOB_MAX_RETRIES", 5)  # transient failures (storage, database) retried with backoff
