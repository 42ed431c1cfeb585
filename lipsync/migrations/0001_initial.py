"""Models moved here from ``kiosk`` (state only: their tables keep their names, every row stays)."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('avatars', '0001_initial'),
        ('conversations', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables exist already: created by the migrations of the app the models came from.
            state_operations=[
                migrations.CreateModel(
                    name='QaFlag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('subject', models.CharField(choices=[('avatar', 'Avatar'), ('voice', 'Voice')], max_length=8)),
                        ('subject_key', models.CharField(max_length=100)),
                        ('subject_label', models.CharField(max_length=200)),
                        ('scorer', models.CharField(max_length=16)),
                        ('reason', models.CharField(choices=[('low_confidence', 'Low sync confidence'), ('offset', 'Audio/lip offset')], max_length=16)),
                        ('mean_confidence', models.FloatField()),
                        ('mean_abs_offset', models.FloatField()),
                        ('threshold', models.FloatField()),
                        ('window', models.PositiveIntegerField()),
                        ('raised_at', models.DateTimeField(db_index=True)),
                        ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                        ('note', models.CharField(blank=True, max_length=300)),
                        ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('turn', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='qa_flags', to='conversations.turn')),
                    ],
                    options={
                        'db_table': 'kiosk_qaflag',
                        'ordering': ['-raised_at', '-id'],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('acknowledged_at__isnull', True)), fields=('subject', 'subject_key', 'scorer', 'reason'), name='qaflag_one_open')],
                    },
                ),
                migrations.CreateModel(
                    name='TurnQaScore',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('scorer', models.CharField(max_length=16)),
                        ('offset_frames', models.IntegerField(blank=True, null=True)),
                        ('confidence', models.FloatField(blank=True, null=True)),
                        ('min_dist', models.FloatField(blank=True, null=True)),
                        ('voice', models.CharField(blank=True, max_length=100)),
                        ('language', models.CharField(blank=True, max_length=8)),
                        ('error_code', models.CharField(blank=True, max_length=32)),
                        ('error', models.CharField(blank=True, max_length=300)),
                        ('scored_at', models.DateTimeField(db_index=True)),
                        ('avatar', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='qa_scores', to='avatars.avatar')),
                        ('turn', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='qa_scores', to='conversations.turn')),
                    ],
                    options={
                        'db_table': 'kiosk_turnqascore',
                        'ordering': ['-scored_at', '-id'],
                        'indexes': [models.Index(fields=['avatar', 'scorer', 'scored_at'], name='turnqascore_avatar_idx'), models.Index(fields=['voice', 'scorer', 'scored_at'], name='turnqascore_voice_idx')],
                        'constraints': [models.UniqueConstraint(fields=('turn', 'scorer'), name='turnqascore_unique_turn_scorer')],
                    },
                ),
            ],
        ),
    ]
