"""Production hardening, on when ``DJANGO_ENV=production`` (``manage.py check --deploy`` clean)."""
from config.settings.base import PRODUCTION
from config.settings.env import env_bool, env_int, env_list

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the kiosk and console scripts read it for fetch() POSTs
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed; the
# client's address (throttles, audit log) is the right-most hop that is not one of them (common.client_address).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
# Failed logins per (username, client address), and per client address whatever the username, before
# that pair or address is locked out until the window (LOGIN_LOCKOUT_SECONDS from its first failure) ends.
AUTHENTICATION_BACKENDS = ["common.auth.ThrottledModelBackend"]
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
# Kiosk pairing codes (kiosk.pairing_guard): wrong codes per client address and over all addresses
# per window before every attempt from there (or anywhere) is refused until the window ends; and
# wrong tries made while a code is open before that code is voided and staff must issue a new one.
PAIRING_MAX_FAILURES_PER_ADDRESS = env_int("PAIRING_MAX_FAILURES_PER_ADDRESS", 5)
PAIRING_MAX_FAILURES = env_int("PAIRING_MAX_FAILURES", 30)
PAIRING_FAILURE_WINDOW_SECONDS = env_int("PAIRING_FAILURE_WINDOW_SECONDS", 900)
PAIRING_CODE_MAX_FAILURES = env_int("PAIRING_CODE_MAX_FAILURES", 10)
# Links that set a console password (an admin's invitation or reset, "forgot password") work once and
# expire after PASSWORD_RESET_TIMEOUT seconds (adminconsole.password_links). "Forgot password" requests
# per client address, and mails per e-mail address, per window; and invalid links opened per client
# address per window, before that page answers 429.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 24 * 3600)
PASSWORD_RESET_MAX_PER_ADDRESS = env_int("PASSWORD_RESET_MAX_PER_ADDRESS", 5)
PASSWORD_RESET_MAX_PER_EMAIL = env_int("PASSWORD_RESET_MAX_PER_EMAIL", 3)
PASSWORD_LINK_MAX_FAILURES_PER_ADDRESS = env_int("PASSWORD_LINK_MAX_FAILURES_PER_ADDRESS", 10)
PASSWORD_RESET_WINDOW_SECONDS = env_int("PASSWORD_RESET_WINDOW_SECONDS", 900)
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Probes that reach a web process directly on the internal network, over HTTP: the load
    # balancer's or container's liveness check and Prometheus (adminconsole.metrics).
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
