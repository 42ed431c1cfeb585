"""Console users (admins manage them): role assignment and deactivation, audited.

An admin cannot lower their own role or deactivate themselves, so the console never loses its
last way in by accident.
"""
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User
from django.db import transaction
from django.db.models import Prefetch, QuerySet

from audit.log import audit_record
from common.errors import ApplicationError
from common.roles import Role, roles_ensure_groups, user_role

ROLE_GROUPS = [role.group_name for role in Role]


def user_list() -> QuerySet[User]:
    """Every user with their console groups prefetched (two queries whatever the count)."""
    groups = Prefetch("groups", queryset=Group.objects.filter(name__in=ROLE_GROUPS))
    return User.objects.order_by("username").prefetch_related(groups)


def listed_role(user: User) -> Role | None:
    """The role of a user from ``user_list`` (no extra query)."""
    if user.is_superuser:
        return Role.ADMIN
    names = {group.name for group in user.groups.all()}
    held = [role for role in Role if role.group_name in names]
    return max(held) if held else None


def _snapshot(user: User) -> dict[str, object]:
    role = user_role(user)
    return {"role": role.group_name if role else None, "is_active": user.is_active}


@transaction.atomic
def user_update(*, user: User, role: Role | None, active: bool, actor: AbstractBaseUser | AnonymousUser) -> User:
    """Give ``user`` exactly ``role`` (None: no console access) and (de)activate them."""
    if user.pk == actor.pk and (role != Role.ADMIN or not active):
        raise ApplicationError("user_self_lockout", "You cannot lower your own role or deactivate yourself.")
    if user.is_superuser and role != Role.ADMIN:
        raise ApplicationError("user_superuser", "A superuser is always an admin; change it in the Django admin.")
    roles_ensure_groups()
    before = _snapshot(user)
    user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS))
    if role is not None:
        user.groups.add(Group.objects.get(name=role.group_name))
    user.is_active = active
    user.save(update_fields=["is_active"])
    after = _snapshot(user)
    if after != before:
        audit_record(actor=actor, action="user.update", target=user, before=before, after=after)
    return user
