from tests.kiosk.qa.conftest import avatar_turn, media  # noqa: F401 - fixtures shared with the kiosk QA tests
