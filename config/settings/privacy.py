"""Privacy of conversation records: how long transcripts are kept, and redaction of stored text.

``TRANSCRIPT_RETENTION_DAYS`` (default 90): a Celery beat task (every 6 hours) deletes conversations that
started longer ago than this, with their turns and audio/video clips. ``0`` keeps them forever.
``TRANSCRIPT_REDACTION`` (default off): replace phone numbers, e-mail addresses and ID/card
numbers in the customer's and the avatar's stored text before it reaches the database.
"""
from config.settings.env import env_bool, env_int

TRANSCRIPT_RETENTION_DAYS = env_int("TRANSCRIPT_RETENTION_DAYS", 90)
TRANSCRIPT_REDACTION = env_bool("TRANSCRIPT_REDACTION", False)
