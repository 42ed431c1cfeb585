"""The hand-off desk: a request's status and who accepted or closed it.

Requests made before the desk existed reached nobody: they are recorded as missed (or resolved,
where ``resolved_at`` was set), so the desk does not open with a backlog nobody can act on.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def close_earlier_requests(apps, schema_editor):  # type: ignore[no-untyped-def]
    HandoffRequest = apps.get_model("conversations", "HandoffRequest")
    HandoffRequest.objects.filter(resolved_at__isnull=False).update(status="resolved")
    HandoffRequest.objects.filter(resolved_at__isnull=True).update(status="missed")


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='handoffrequest',
            name='accepted_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='handoffrequest',
            name='accepted_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='handoffrequest',
            name='resolved_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='handoffrequest',
            name='status',
            field=models.CharField(choices=[('open', 'Waiting for staff'), ('accepted', 'Staff on the way'), ('resolved', 'Resolved'), ('unavailable', 'Nobody available'), ('missed', 'Not answered in time')], db_index=True, default='open', max_length=16),
        ),
        migrations.RunPython(close_earlier_requests, migrations.RunPython.noop),
    ]
