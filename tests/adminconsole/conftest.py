from collections.abc import Callable

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from adminconsole.roles import Role
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def login(make_user: Callable[..., AbstractBaseUser]) -> Callable[..., Client]:
    """A client logged in as a new user holding ``role`` (CSRF checks on when asked)."""

    def factory(role: Role | None, *, username: str = "", csrf: bool = False) -> Client:
        user = make_user(username or (role.group_name if role else "nobody"), role)
        client = Client(enforce_csrf_checks=csrf)
        assert client.login(username=user.get_username(), password=TEST_PASSWORD)
        return client

    return factory
