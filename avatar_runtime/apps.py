from django.apps import AppConfig


class AvatarRuntimeConfig(AppConfig):
    """Registers the runtime's management commands (doctor, provision_models, avatar_worker).

    The runtime core holds no Django models and imports without a database.
    """

    name = "avatar_runtime"
    verbose_name = "Avatar runtime"
