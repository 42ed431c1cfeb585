"""Signals of the conversations app, for the apps built on its records."""
from django.dispatch import Signal

# Sent with ``turn`` inside the transaction that saved the turn's rendered answer clip. Lip-sync
# QA schedules its score on it: ``lipsync`` builds on conversations, never the other way round.
answer_clip_saved = Signal()

# Sent with ``handoff`` inside the transaction that created a new hand-off request. ``kiosk`` sends
# its venue's alerts (e-mail, webhook) on it.
handoff_requested = Signal()
