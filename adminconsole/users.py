"""Console users (admins manage them): invitations, roles, deactivation and password links, all audited.

An admin cannot lower their own role or deactivate themselves, and no change may leave the console
without an active admin, so it never loses its last way in by accident.
"""
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from adminconsole.password_links import LinkKind, password_link_mail
from audit.log import audit_record
from common.errors import ApplicationError
from common.roles import Role, roles_ensure_groups, user_role

ROLE_GROUPS = [role.group_name for role in Role]
Actor = AbstractBaseUser | AnonymousUser | None


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


def _active_admin_count() -> int:
    admins = Q(is_superuser=True) | Q(groups__name=Role.ADMIN.group_name)
    return User.objects.filter(admins, is_active=True).distinct().count()


@transaction.atomic
def user_invite(*, username: str, email: str, role: Role, actor: Actor) -> User:
    """A new user holding ``role``, without a password until they follow the link mailed to them."""
    errors: dict[str, str] = {}
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = _("A user with that username already exists.")
    if User.objects.filter(email__iexact=email).exists():
        errors["email"] = _("A user with that e-mail address already exists.")
    if errors:
        raise ApplicationError("user_exists", " ".join(errors.values()), extra={"errors": errors})
    user = User(username=username, email=email)
    user.set_unusable_password()
    user.save()
    roles_ensure_groups()
    user.groups.add(Group.objects.get(name=role.group_name))
    audit_record(actor=actor, action="user.invite", target=user, after={"email": email, **_snapshot(user)})
    return user


@transaction.atomic
def user_update(*, user: User, role: Role | None, active: bool, actor: Actor) -> User:
    """Give ``user`` exactly ``role`` (None: no console access) and (de)activate them."""
    if actor is not None and user.pk == actor.pk and (role != Role.ADMIN or not active):
        raise ApplicationError("user_self_lockout", _("You cannot lower your own role or deactivate yourself."))
    if user.is_superuser and role != Role.ADMIN:
        raise ApplicationError("user_superuser", _("A superuser is always an admin; change it in the Django admin."))
    roles_ensure_groups()
    # Every change of role or activation waits for the one before it, so two admins demoting each
    # other at the same moment cannot both see the other still there.
    Group.objects.select_for_update().get(name=Role.ADMIN.group_name)
    user.refresh_from_db(fields=["is_active"])
    before = _snapshot(user)
    user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS))
    if role is not None:
        user.groups.add(Group.objects.get(name=role.group_name))
    user.is_active = active
    user.save(update_fields=["is_active"])
    was_admin = before == {"role": Role.ADMIN.group_name, "is_active": True}
    if was_admin and _active_admin_count() == 0:
        raise ApplicationError("user_last_admin", _("The console must keep at least one active admin."))
    after = _snapshot(user)
    if after != before:
        audit_record(actor=actor, action="user.update", target=user, before=before, after=after)
    return user


def user_password_link_send(*, user: User, kind: LinkKind, base_url: str, actor: Actor) -> None:
    """Mail ``user`` a one-time link that sets their password (an admin's invitation or reset)."""
    if not user.is_active:
        raise ApplicationError("user_inactive", _("Reactivate this user before sending them a password link."))
    if not user.email:
        raise ApplicationError("user_no_email", _("This user has no e-mail address; set one in the Django admin."))
    try:
        password_link_mail(user=user, kind=kind, base_url=base_url)
    except Exception as exc:  # SMTP refused, unreachable... the admin should know and try again
        raise ApplicationError("user_mail_failed", _("The mail could not be sent: %(error)s") % {"error": exc},
                               status=502) from exc
    audit_record(actor=actor, action="user.password_link", target=user, after={"kind": str(kind)})


@transaction.atomic
def user_password_set(*, user: User, password: str, action: str) -> User:
    """``user`` sets their own password (``action``: the audit code, by link or by changing it)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=user, action=action, target=user)
    return user
