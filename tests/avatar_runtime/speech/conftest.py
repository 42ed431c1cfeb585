from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return Path(settings.MODELS_DIR)
