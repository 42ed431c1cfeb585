"""Avatars, voices, conversation records and lip-sync QA move to their own apps.

State only: ``avatars``, ``conversations`` and ``lipsync`` took the models over with their tables
(``db_table``), so no table is created, renamed or copied and every row stays where it was.
"""
import django.db.models.deletion
from django.db import migrations, models

MOVED = {
    "avatar": "avatars", "voicesetting": "avatars",
    "conversation": "conversations", "turn": "conversations", "handoffrequest": "conversations",
    "transcriptaccess": "conversations",
    "turnqascore": "lipsync", "qaflag": "lipsync",
}


def _content_types_move(apps, schema_editor, moves):
    """Re-label content types, so that permissions and generic relations follow the moved models."""
    content_type = apps.get_model("contenttypes", "ContentType")
    manager = content_type.objects.db_manager(schema_editor.connection.alias)
    for model, (old_app, new_app) in moves.items():
        if not manager.filter(app_label=new_app, model=model).exists():
            manager.filter(app_label=old_app, model=model).update(app_label=new_app)
    manager.clear_cache()


def content_types_forward(apps, schema_editor):
    _content_types_move(apps, schema_editor, {model: ("kiosk", app) for model, app in MOVED.items()})


def content_types_backward(apps, schema_editor):
    _content_types_move(apps, schema_editor, {model: (app, "kiosk") for model, app in MOVED.items()})


class Migration(migrations.Migration):

    dependencies = [
        ('kiosk', '0007_kiosk_state'),
        ('avatars', '0001_initial'),
        ('conversations', '0001_initial'),
        ('lipsync', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='kiosk',
                    name='avatar',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='kiosks', to='avatars.avatar'),
                ),
                migrations.RemoveField(
                    model_name='turnqascore',
                    name='avatar',
                ),
                migrations.RemoveField(
                    model_name='conversation',
                    name='kiosk',
                ),
                migrations.RemoveField(
                    model_name='handoffrequest',
                    name='conversation',
                ),
                migrations.RemoveField(
                    model_name='turn',
                    name='conversation',
                ),
                migrations.RemoveField(
                    model_name='handoffrequest',
                    name='kiosk',
                ),
                migrations.RemoveField(
                    model_name='qaflag',
                    name='acknowledged_by',
                ),
                migrations.RemoveField(
                    model_name='qaflag',
                    name='turn',
                ),
                migrations.RemoveField(
                    model_name='transcriptaccess',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='turnqascore',
                    name='turn',
                ),
                migrations.DeleteModel(
                    name='VoiceSetting',
                ),
                migrations.DeleteModel(
                    name='Avatar',
                ),
                migrations.DeleteModel(
                    name='Conversation',
                ),
                migrations.DeleteModel(
                    name='HandoffRequest',
                ),
                migrations.DeleteModel(
                    name='QaFlag',
                ),
                migrations.DeleteModel(
                    name='TranscriptAccess',
                ),
                migrations.DeleteModel(
                    name='Turn',
                ),
                migrations.DeleteModel(
                    name='TurnQaScore',
                ),
            ],
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]
