"""Console roles as Django groups: staff < supervisor < admin.

Each role includes the ones below it. Views, APIs and querysets ask ``has_role``; Django
superusers count as admins.
"""
from enum import IntEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group


class Role(IntEnum):
    STAFF = 1
    SUPERVISOR = 2
    ADMIN = 3

    @property
    def group_name(self) -> str:
        return self.name.lower()


def roles_ensure_groups() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.group_name)


def user_role(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    names = set(Group.objects.filter(user__pk=user.pk).values_list("name", flat=True))
    held = [role for role in Role if role.group_name in names]
    return max(held) if held else None


def has_role(user: AbstractBaseUser | AnonymousUser, role: Role) -> bool:
    held = user_role(user)
    return held is not None and held >= role
