import pytest
from django.core.management import call_command


@pytest.fixture
def demo_kb(db: None, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The demo knowledge base, voices and kiosk (media in a temporary folder)."""
    from io import StringIO

    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", stdout=StringIO())
