"""avatars 0003: sites still on the old offline defaults get the better Mandarin and Cantonese voices;
a voice someone chose stays, and the migration reverses."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE, AFTER = ("avatars", "0002_answer_audio"), ("avatars", "0003_native_mandarin_and_cantonese_fallback_voices")


def _migrate(target: tuple[str, str]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor


def _fallbacks(executor: MigrationExecutor, target: tuple[str, str]) -> dict[str, tuple[str, str]]:
    model = executor.loader.project_state([target]).apps.get_model("avatars", "VoiceSetting")
    return {row.language: (row.fallback_backend, row.fallback_voice_name) for row in model.objects.all()}


def test_old_default_fallbacks_move_to_kokoros_mandarin_style_and_chosen_ones_stay() -> None:
    executor = _migrate(BEFORE)
    old = executor.loader.project_state([BEFORE]).apps.get_model("avatars", "VoiceSetting")
    old.objects.all().delete()
    for language, backend, name in (("zh", "kokoro", "jf_gongitsune"), ("yue", "espeak", "yue+m1"),
                                    ("ja", "kokoro", "jf_alpha"), ("ko", "espeak", "ko")):
        old.objects.create(language=language, backend="edge", voice_name="x-Neural", fallback_backend=backend,
                           fallback_voice_name=name)
    try:
        assert _fallbacks(_migrate(AFTER), AFTER) == {
            "zh": ("kokoro", "zf_xiaobei"), "yue": ("kokoro", "zf_xiaobei"),
            "ja": ("kokoro", "jf_alpha"), "ko": ("espeak", "ko")}  # ko: chosen in the console, kept
        assert _fallbacks(_migrate(BEFORE), BEFORE)["yue"] == ("espeak", "yue+m1")
    finally:
        _migrate(AFTER)
