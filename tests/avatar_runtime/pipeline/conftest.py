import pytest
from django.core.management import call_command


@pytest.fixture
def demo_kb(db: None, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The demo knowledge base, voices and kiosk (media in a temporary folder).

    The demo's voices are Edge's, which this machine cannot reach: each attempt would add a
    failover of varying length to the session's timeline. Edge failover has its own tests
    (tests/avatar_runtime/speech/test_edge_failover.py); here the offline voices speak.
    """
    from io import StringIO

    settings.AVATAR_TTS_BACKEND = "offline"

    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", stdout=StringIO())
