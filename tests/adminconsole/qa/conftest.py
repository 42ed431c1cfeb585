from tests.lipsync.conftest import avatar_turn, media  # noqa: F401 - fixtures shared with the lip-sync QA tests
