"""The audit log, moved here from ``adminconsole`` (state only: its table keeps its name, every row stays)."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('adminconsole', '0001_console_audit_log'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables exist already: created by the migrations of the app the models came from.
            state_operations=[
                migrations.CreateModel(
                    name='AuditEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('actor_name', models.CharField(blank=True, max_length=150)),
                        ('action', models.CharField(db_index=True, max_length=64)),
                        ('target_type', models.CharField(db_index=True, max_length=64)),
                        ('target_id', models.CharField(blank=True, max_length=64)),
                        ('target_label', models.CharField(blank=True, max_length=200)),
                        ('before', models.JSONField(blank=True, null=True)),
                        ('after', models.JSONField(blank=True, null=True)),
                        ('ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='audit_entries', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name_plural': 'audit entries',
                        'db_table': 'adminconsole_auditentry',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['target_type', 'target_id'], name='audit_target')],
                    },
                ),
            ],
        ),
    ]
