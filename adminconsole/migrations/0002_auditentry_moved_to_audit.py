"""The audit log moves to the ``audit`` app.

State only: ``audit.AuditEntry`` took the model over with its table (``db_table``), so every
entry stays where it was.
"""
from django.db import migrations

MOVED = {"auditentry": "audit"}


def _content_types_move(apps, schema_editor, moves):
    """Re-label content types, so that permissions and generic relations follow the moved models."""
    content_type = apps.get_model("contenttypes", "ContentType")
    manager = content_type.objects.db_manager(schema_editor.connection.alias)
    for model, (old_app, new_app) in moves.items():
        if not manager.filter(app_label=new_app, model=model).exists():
            manager.filter(app_label=old_app, model=model).update(app_label=new_app)
    manager.clear_cache()


def content_types_forward(apps, schema_editor):
    _content_types_move(apps, schema_editor, {model: ("adminconsole", app) for model, app in MOVED.items()})


def content_types_backward(apps, schema_editor):
    _content_types_move(apps, schema_editor, {model: (app, "adminconsole") for model, app in MOVED.items()})


class Migration(migrations.Migration):

    dependencies = [
        ('adminconsole', '0001_console_audit_log'),
        ('audit', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='AuditEntry',
                ),
            ],
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]
