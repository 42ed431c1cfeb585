"""The hand-off desk: how long a customer's call for staff may wait for someone to accept it.

``HANDOFF_ACCEPT_MINUTES`` (default 3): a request nobody accepted in this time is marked missed and
the kiosk tells the customer honestly that nobody could come, and where to go instead.
"""
from config.settings.env import env_float

HANDOFF_ACCEPT_MINUTES = env_float("HANDOFF_ACCEPT_MINUTES", 3.0)
