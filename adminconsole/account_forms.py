"""Forms for a user's own password (set by a mailed link, changed, forgotten) and for inviting a user."""

from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm, UsernameField
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from adminconsole.users import user_password_set
from common.ratelimit import login_failure_record, login_throttle
from common.roles import Role


class LinkSetPasswordForm(SetPasswordForm):
    """The password chosen through a mailed link, audited as ``user.password_set``."""

    def save(self, commit: bool = True) -> User:
        return user_password_set(user=self.user, password=self.cleaned_data["new_password1"], action="user.password_set")


class OwnPasswordChangeForm(PasswordChangeForm):
    """A logged-in user's new password, audited as ``user.password_change``.

    Wrong current passwords count as failed logins (``common.ratelimit``), so a session left open
    on a shared screen is no faster a way to guess the password than the login page.
    """

    def __init__(self, user: User, *args: Any, address: str = "", **kwargs: Any) -> None:
        self.address = address
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        username = self.user.get_username()
        if login_throttle(username=username, address=self.address).locked:
            raise ValidationError(_("Too many wrong passwords. Try again later."), code="password_rate_limited")
        try:
            return str(super().clean_old_password())
        except ValidationError:
            login_failure_record(username=username, address=self.address)
            raise

    def save(self, commit: bool = True) -> User:
        return user_password_set(user=self.user, password=self.cleaned_data["new_password1"], action="user.password_change")


class PasswordForgotForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


def _role_choices() -> list[tuple[str, str]]:
    """Called each time the form is built, so the labels are in the reader's language."""
    return [(role.group_name, role.label) for role in Role]


class UserInviteForm(forms.Form):
    username = UsernameField(
        label=gettext_lazy("Username"),
        max_length=150,
        validators=[User.username_validator],
        help_text=gettext_lazy("Letters, digits and @/./+/-/_ only."),
    )
    email = forms.EmailField(
        label=gettext_lazy("E-mail address"),
        max_length=254,
        help_text=gettext_lazy("The link to choose a password is mailed here."),
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=_role_choices)

    def role_(self) -> Role:
        return next(role for role in Role if role.group_name == self.cleaned_data["role"])
