"""Messages between the kiosk consumer (web) and the avatar worker, over the channel layer.

Web → worker (sent to the worker's channel):
  session.open {session_id, kiosk_id, reply_channel, media: "webrtc" | "ws",
                resume?: {conversation_id, history: [[role, text], ...]}}  (the worker before died)
  session.audio {session_id, pcm: bytes (PCM16 mono 16 kHz)}
  session.text {session_id, text} · session.language {session_id, language}
  session.handoff {session_id} · session.rtc_offer {session_id, sdp} · session.media {session_id, mode}
  session.close {session_id}
  session.keepalive {session_id}  (every SESSION_KEEPALIVE_EVERY while the kiosk's connection lives)
Worker → web (sent to the consumer's reply channel):
  kiosk.opened {session_id, worker_id} · kiosk.refused {session_id, reason}
  kiosk.event {session_id, event} · kiosk.media {session_id, pts, video: jpeg, audio: pcm16}
  kiosk.rtc_answer {session_id, sdp} · kiosk.heartbeat {session_id, worker_id}
Every payload is msgpack-serialisable (channels_redis): str, int, float, bool, bytes, lists, dicts.
"""
from typing import Final

MEDIA_MODES: Final = ("webrtc", "ws")
MAX_AUDIO_BYTES: Final = 32000  # one second of PCM16 at 16 kHz per message at most
MAX_TEXT_CHARS: Final = 500
# A kiosk must be back with another worker within 5 s of its worker dying: silence for 2.5 s means
# dead (a busy worker's event loop still beats every 0.5 s: the heavy work runs in threads).
SESSION_HEARTBEAT_EVERY: Final = 0.5
SESSION_LOST_AFTER: Final = 2.5
MAX_RESUME_TURNS: Final = 8
# The worker closes a session it has heard nothing about for this long: the web process holding its
# kiosk's connection died, or lost the close (every way a connection ends closes its session, but a
# message can be lost with a channel layer restart). Far above the keepalive period: a busy web
# process must not lose its sessions.
SESSION_KEEPALIVE_EVERY: Final = 2.0
SESSION_ORPHANED_AFTER: Final = 30.0
