from django.apps import AppConfig


class AvatarRuntimeConfig(AppConfig):
    """Registers the runtime's management commands (doctor, provision_models, qa_score).

    The runtime holds no Django models, imports no app and imports without a database; the
    worker's composition root (``kiosk.session_factory``, its ``avatar_worker`` command) wires it up.
    """

    name = "avatar_runtime"
    verbose_name = "Avatar runtime"
