"""The offline voices that sites kept from the demo's defaults move to the better ones.

Mandarin was a Japanese Kokoro style (jf_gongitsune) reading Mandarin, and Cantonese espeak-ng's
formant voice, which no recogniser takes for Cantonese. Both are now Kokoro's Mandarin style
zf_xiaobei (see ``avatar_runtime.tts.registry.OFFLINE_VOICES``). Only rows still on the old
defaults change; a voice someone chose in the console stays.
"""
from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

OLD_TO_NEW = {
    "zh": (("kokoro", "jf_gongitsune"), ("kokoro", "zf_xiaobei")),
    "yue": (("espeak", "yue+m1"), ("kokoro", "zf_xiaobei")),
}


def _move(apps: Apps, forwards: bool) -> None:
    voice_setting = apps.get_model("avatars", "VoiceSetting")
    for language, (old, new) in OLD_TO_NEW.items():
        before, after = (old, new) if forwards else (new, old)
        voice_setting.objects.filter(language=language, fallback_backend=before[0], fallback_voice_name=before[1]).update(
            fallback_backend=after[0], fallback_voice_name=after[1])


def forwards(apps: Apps, _schema_editor: BaseDatabaseSchemaEditor) -> None:
    _move(apps, forwards=True)


def backwards(apps: Apps, _schema_editor: BaseDatabaseSchemaEditor) -> None:
    _move(apps, forwards=False)


class Migration(migrations.Migration):
    dependencies = [("avatars", "0002_answer_audio")]
    operations = [migrations.RunPython(forwards, backwards)]
