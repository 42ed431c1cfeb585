"""Settings, split by topic. Each module reads its own environment variables."""
from config.settings.avatar import *  # noqa: F403
from config.settings.base import *  # noqa: F403
from config.settings.celery import *  # noqa: F403
from config.settings.handoff import *  # noqa: F403
from config.settings.observability import *  # noqa: F403
from config.settings.privacy import *  # noqa: F403
from config.settings.qa import *  # noqa: F403
from config.settings.security import *  # noqa: F403
from config.settings.stores import *  # noqa: F403
