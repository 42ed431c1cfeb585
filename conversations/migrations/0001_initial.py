"""Models moved here from ``kiosk`` (state only: their tables keep their names, every row stays)."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('kiosk', '0007_kiosk_state'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables exist already: created by the migrations of the app the models came from.
            state_operations=[
                migrations.CreateModel(
                    name='Conversation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(unique=True)),
                        ('status', models.CharField(choices=[('active', 'Active'), ('ended', 'Ended'), ('aborted', 'Aborted')], db_index=True, default='active', max_length=16)),
                        ('languages', models.JSONField(blank=True, default=list)),
                        ('handoff_requested', models.BooleanField(default=False)),
                        ('started_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('ended_at', models.DateTimeField(blank=True, null=True)),
                        ('end_reason', models.CharField(blank=True, max_length=32)),
                        ('kiosk', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='conversations', to='kiosk.kiosk')),
                    ],
                    options={
                        'db_table': 'kiosk_conversation',
                        'ordering': ['-started_at'],
                    },
                ),
                migrations.CreateModel(
                    name='HandoffRequest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('resolved_at', models.DateTimeField(blank=True, null=True)),
                        ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='handoffs', to='conversations.conversation')),
                        ('kiosk', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='kiosk.kiosk')),
                    ],
                    options={
                        'db_table': 'kiosk_handoffrequest',
                    },
                ),
                migrations.CreateModel(
                    name='TranscriptAccess',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('username', models.CharField(max_length=150)),
                        ('action', models.CharField(choices=[('view', 'Viewed a conversation'), ('clip', 'Played a clip'), ('export', 'Exported transcripts')], max_length=16)),
                        ('conversation_public_id', models.UUIDField(blank=True, db_index=True, null=True)),
                        ('turn_public_id', models.UUIDField(blank=True, null=True)),
                        ('detail', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'kiosk_transcriptaccess',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Turn',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(unique=True)),
                        ('index', models.PositiveIntegerField()),
                        ('role', models.CharField(choices=[('customer', 'Customer'), ('avatar', 'Avatar')], max_length=16)),
                        ('text', models.TextField(blank=True)),
                        ('language', models.CharField(blank=True, max_length=8)),
                        ('asr_confidence', models.FloatField(blank=True, null=True)),
                        ('retrieved', models.JSONField(blank=True, default=list)),
                        ('answerable', models.BooleanField(blank=True, null=True)),
                        ('answer_backend', models.CharField(blank=True, max_length=32)),
                        ('voice', models.CharField(blank=True, max_length=100)),
                        ('complete', models.BooleanField(default=False)),
                        ('interrupted', models.BooleanField(default=False)),
                        ('heard_text', models.TextField(blank=True)),
                        ('timings', models.JSONField(blank=True, default=dict)),
                        ('audio_clip', models.FileField(blank=True, upload_to='clips/customer/%Y/%m/%d/')),
                        ('answer_clip', models.FileField(blank=True, upload_to='clips/answer/%Y/%m/%d/')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='turns', to='conversations.conversation')),
                    ],
                    options={
                        'db_table': 'kiosk_turn',
                        'ordering': ['conversation', 'index'],
                        'constraints': [models.UniqueConstraint(fields=('conversation', 'index'), name='turn_unique_index')],
                    },
                ),
            ],
        ),
    ]
