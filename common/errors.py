"""The one domain error type, mapped once at each boundary (REST, WebSocket, forms, CLI)."""
from django.utils.functional import Promise

# The largest id a BigAutoField holds: a larger one in a query overflows the database driver (a 500, not a 404).
MAX_ID = 2**63 - 1


class ApplicationError(Exception):
    """A failure the caller can act on: a machine-readable ``code`` and a human message.

    ``status`` is the HTTP status the REST boundary answers with; ``extra`` carries
    structured details (e.g. line-numbered import errors).
    """

    status = 400

    def __init__(
        self,
        code: str,
        message: str | Promise,
        *,
        status: int | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        if status is not None:
            self.status = status
        self.extra = extra or {}

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, **self.extra}


class NotFound(ApplicationError):
    status = 404


class PermissionDenied(ApplicationError):
    status = 403
