"""Recording and reading the audit log.

Services call :func:`audit_record` inside their transaction, so an entry exists exactly when
the change it describes was committed. The client's IP comes from :class:`AuditContextMiddleware`
(a context variable), so services deep below a view or an API need not be handed the request.
"""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from audit.models import AuditEntry
from common.client_address import client_address

_client_ip: ContextVar[str | None] = ContextVar("audit_client_ip", default=None)


@dataclass(frozen=True)
class AuditTarget:
    """What a change was made to, when it is not (or no longer) a model instance."""

    type: str
    id: str
    label: str


def audit_target(obj: models.Model | AuditTarget) -> AuditTarget:
    if isinstance(obj, AuditTarget):
        return obj
    return AuditTarget(obj._meta.label_lower, str(obj.pk or ""), str(obj)[:200])


def _jsonable(value: object) -> object:
    """Round-trip through Django's encoder so dates, decimals and UUIDs are stored as strings."""
    if value is None:
        return None
    import json

    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model | AuditTarget,
    before: object = None,
    after: object = None,
) -> AuditEntry:
    """Append one entry: ``actor`` (None or anonymous for the system), ``action`` a dotted code."""
    user = actor if isinstance(actor, User) else None
    resolved = audit_target(target)
    return AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user is not None else "",
        action=action,
        target_type=resolved.type,
        target_id=resolved.id,
        target_label=resolved.label,
        before=_jsonable(before),
        after=_jsonable(after),
        ip=_client_ip.get(),
    )


def audit_list(*, action: str | None = None, actor: str | None = None, target_type: str | None = None) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if action:
        entries = entries.filter(action__startswith=action)
    if actor:
        entries = entries.filter(actor_name=actor)
    if target_type:
        entries = entries.filter(target_type=target_type)
    return entries.order_by("-created_at", "-id")


def audit_action_codes() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


@contextmanager
def audit_client_ip(ip: str | None) -> Iterator[None]:
    token = _client_ip.set(ip)
    try:
        yield
    finally:
        _client_ip.reset(token)


class AuditContextMiddleware:
    """Makes the client's address available to :func:`audit_record` for the request's duration.

    The address throttles use (:func:`common.client_address.client_address`): ``X-Forwarded-For``
    is believed only from ``TRUSTED_PROXIES``, so no client can write any address into the log.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        with audit_client_ip(client_address(request) or None):
            return self.get_response(request)
