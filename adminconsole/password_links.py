"""One-time links that set a console password: an admin's invitation or reset, or "forgot password".

A link carries the user's id and a token of :data:`password_link_tokens` (Django's
``PasswordResetTokenGenerator``: an HMAC over the password hash, the last login, the e-mail and the
active flag, with a timestamp), so it stops working once used (the password changed), after the
user logs in, when the user is deactivated, and ``PASSWORD_RESET_TIMEOUT`` seconds after it was made.
Mail goes through Django's mail backend (the console backend, which prints it, in the embedded default).

The two pages anyone may open are throttled with :mod:`common.ratelimit` windows. "Forgot password"
counts requests per client address (past ``PASSWORD_RESET_MAX_PER_ADDRESS`` the page answers 429,
whatever address was typed, so the refusal tells nothing about who has an account) and mails per
e-mail address (past ``PASSWORD_RESET_MAX_PER_EMAIL`` nothing more is sent, with the same answer).
Invalid links opened per client address are counted too (``PASSWORD_LINK_MAX_FAILURES_PER_ADDRESS``).
"""

import logging
import math
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import ngettext

from audit.log import audit_client_ip, audit_record
from common.errors import ApplicationError
from common.ratelimit import throttle_key, window_hit, window_throttle

log = logging.getLogger(__name__)


class PasswordLinkTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "adminconsole.password_links.PasswordLinkTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        # The active flag too: deactivating a user voids the links they were sent.
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


password_link_tokens = PasswordLinkTokenGenerator()


class LinkKind(StrEnum):
    INVITE = "invite"  # a new user chooses their first password
    RESET = "reset"  # a user who forgot theirs, or whose admin sent one


def password_link_url(*, user: User, base_url: str) -> str:
    """``base_url`` is the site's scheme and host, e.g. ``https://kiosk.example.com``."""
    path = reverse(
        "console:password_set",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": password_link_tokens.make_token(user)},
    )
    return f"{base_url.rstrip('/')}{path}"


def site_base_url(request: HttpRequest) -> str:
    """The scheme and host that links in mails point at (``get_host`` checks it against ALLOWED_HOSTS)."""
    return f"{request.scheme}://{request.get_host()}"


def password_link_mail(*, user: User, kind: LinkKind, base_url: str) -> None:
    """Mail ``user`` a fresh link; the mail backend's exceptions propagate."""
    hours = max(1, math.ceil(settings.PASSWORD_RESET_TIMEOUT / 3600))
    context = {
        "user": user,
        "url": password_link_url(user=user, base_url=base_url),
        "hours": hours,
        "login_url": f"{base_url.rstrip('/')}{reverse('console:login')}",
    }
    subject = render_to_string(f"console/account/mail/{kind}_subject.txt", context)
    body = render_to_string(f"console/account/mail/{kind}.txt", context)
    send_mail(" ".join(subject.split()), body, None, [user.email])


def _window() -> int:
    return settings.PASSWORD_RESET_WINDOW_SECONDS


def _forgot_address_key(address: str) -> str:
    return throttle_key("password-forgot-address", address)


def password_forgot_request(*, email: str, address: str, base_url: str) -> None:
    """A "forgot password" request from ``address``, answered alike whoever ``email`` belongs to.

    Raises a 429 :class:`ApplicationError` when ``address`` asked too often (whatever ``email`` is);
    otherwise queues :func:`password_forgot_mail`, so that neither the answer nor its timing
    (the user lookup, the mail server) says whether the address has an account.
    """
    from adminconsole.tasks import password_forgot_mail_task  # the task calls back into this module

    key = _forgot_address_key(address)
    throttle = window_throttle(key, limit=settings.PASSWORD_RESET_MAX_PER_ADDRESS)
    if throttle.locked:
        minutes = max(1, math.ceil(throttle.retry_after / 60))
        message = ngettext(
            "Too many requests. Try again in %(minutes)d minute.", "Too many requests. Try again in %(minutes)d minutes.", minutes
        ) % {"minutes": minutes}
        raise ApplicationError("password_reset_rate_limited", message, status=429, extra={"retry_after": throttle.retry_after})
    window_hit(key, window=_window())
    password_forgot_mail_task.delay(email.strip(), address, base_url)


def password_forgot_mail(*, email: str, address: str, base_url: str) -> int:
    """Mails a reset link to each active user with ``email``; returns how many were mailed."""
    users = list(User.objects.filter(email__iexact=email, is_active=True).exclude(email=""))
    if not users:
        return 0
    # Per address typed: nobody can fill a colleague's inbox with reset mails.
    mailbox_key = throttle_key("password-forgot-email", email.lower())
    if window_hit(mailbox_key, window=_window()) > settings.PASSWORD_RESET_MAX_PER_EMAIL:
        log.info("password reset not mailed: too many requests for that address in this window")
        return 0
    mailed = 0
    for user in users:
        try:
            password_link_mail(user=user, kind=LinkKind.RESET, base_url=base_url)
        except Exception:  # logged; the requester is never told
            log.exception("password reset mail to user %s failed", user.pk)
            continue
        with audit_client_ip(address or None):  # the requester's address, also when a worker runs this
            audit_record(actor=None, action="user.password_reset_requested", target=user)
        mailed += 1
    return mailed


def password_link_throttled(*, address: str) -> bool:
    """Whether ``address`` opened too many invalid links in the current window."""
    key = throttle_key("password-link-address", address)
    return window_throttle(key, limit=settings.PASSWORD_LINK_MAX_FAILURES_PER_ADDRESS).locked


def password_link_failure_record(*, address: str) -> None:
    window_hit(throttle_key("password-link-address", address), window=_window())
