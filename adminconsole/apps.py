from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_role_groups(sender: AppConfig, **kwargs: Any) -> None:
    from common.roles import roles_ensure_groups

    roles_ensure_groups()


class AdminconsoleConfig(AppConfig):
    name = "adminconsole"
    verbose_name = "Admin console"

    def ready(self) -> None:
        post_migrate.connect(_create_role_groups, sender=self)
