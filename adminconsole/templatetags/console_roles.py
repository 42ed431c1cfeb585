"""``{% if user|has_console_role:"supervisor" %}``: show a console link only to the roles it serves."""
from django import template
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from adminconsole.roles import Role, has_role

register = template.Library()


@register.filter
def has_console_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    return has_role(user, Role[role.upper()])
