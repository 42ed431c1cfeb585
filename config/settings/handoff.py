"""The hand-off desk: how long a customer's call for staff may wait, and the alerts sent for it.

``HANDOFF_ACCEPT_MINUTES`` (default 3): a request nobody accepted in this time is marked missed and
the kiosk tells the customer honestly that nobody could come, and where to go instead.
``HANDOFF_ACCEPTED_SHOWN_MINUTES`` (default 10): how long a kiosk keeps saying that staff are on the
way when nobody marks the request resolved (the next customer must not be told so).

Each venue may also be alerted by e-mail and by a signed webhook (the venue's fields, set in Django
admin): ``HANDOFF_WEBHOOK_RETRY_DELAYS`` (seconds, default ``1,5,15``) are the waits before each
retry of a webhook that failed; ``HANDOFF_WEBHOOK_TIMEOUT`` (seconds, default 5) bounds each attempt.
E-mail goes through Django's mail backend: ``EMAIL_BACKEND`` (default the console backend, which
prints the message) and ``DEFAULT_FROM_EMAIL``.
"""
from config.settings.env import env_float, env_list, env_str

HANDOFF_ACCEPT_MINUTES = env_float("HANDOFF_ACCEPT_MINUTES", 3.0)
HANDOFF_ACCEPTED_SHOWN_MINUTES = env_float("HANDOFF_ACCEPTED_SHOWN_MINUTES", 10.0)
HANDOFF_WEBHOOK_RETRY_DELAYS = [float(d) for d in env_list("HANDOFF_WEBHOOK_RETRY_DELAYS", ["1", "5", "15"])]
HANDOFF_WEBHOOK_TIMEOUT = env_float("HANDOFF_WEBHOOK_TIMEOUT", 5.0)
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "kiosk-avatar@localhost")
