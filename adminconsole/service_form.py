"""A console form that shows a service's refusal (``ApplicationError``) where it belongs."""
from django import forms

from common.errors import ApplicationError


class ServiceForm(forms.Form):
    def add_service_errors(self, exc: ApplicationError) -> None:
        """Put the refusal's per-field errors (``exc.extra["errors"]``) on those fields, the rest on
        the form as a whole."""
        errors = exc.extra.get("errors")
        for name, message in (errors.items() if isinstance(errors, dict) else [(None, exc.message)]):
            self.add_error(name if name in self.fields else None, message)
