"""Who may use the knowledge-base API: any console role (staff, supervisor, admin)."""
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from common.roles import Role, has_role


class HasStaffRole(BasePermission):
    """A logged-in user holding at least the staff role; a user without a role gets 403."""

    message = "A console role (staff, supervisor or admin) is required."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and has_role(request.user, Role.STAFF))
