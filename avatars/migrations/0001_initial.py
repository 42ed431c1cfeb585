"""Models moved here from ``kiosk`` (state only: their tables keep their names, every row stays)."""
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('kiosk', '0007_kiosk_state'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables exist already: created by the migrations of the app the models came from.
            state_operations=[
                migrations.CreateModel(
                    name='Avatar',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('source', models.FileField(blank=True, upload_to='avatars/')),
                        ('video', models.FileField(blank=True, upload_to='avatars/video/')),
                        ('license_note', models.CharField(blank=True, max_length=300)),
                        ('status', models.CharField(choices=[('uploaded', 'Uploaded'), ('preparing', 'Preparing'), ('ready', 'Ready'), ('failed', 'Failed')], default='uploaded', max_length=16)),
                        ('face_box', models.JSONField(blank=True, null=True)),
                        ('mouth_box', models.JSONField(blank=True, null=True)),
                        ('mouth_confidence', models.FloatField(blank=True, null=True)),
                        ('preview_clip', models.FileField(blank=True, upload_to='avatars/preview/')),
                        ('preparation_error', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'kiosk_avatar',
                    },
                ),
                migrations.CreateModel(
                    name='VoiceSetting',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('language', models.CharField(choices=[('zh', 'Mandarin'), ('yue', 'Cantonese'), ('en', 'English'), ('ja', 'Japanese'), ('ko', 'Korean')], max_length=8, unique=True)),
                        ('backend', models.CharField(default='offline', max_length=32)),
                        ('voice_name', models.CharField(max_length=100)),
                        ('rate', models.FloatField(default=1.0)),
                        ('pitch', models.FloatField(default=0.0)),
                        ('fallback_backend', models.CharField(default='offline', max_length=32)),
                        ('fallback_voice_name', models.CharField(blank=True, max_length=100)),
                    ],
                    options={
                        'db_table': 'kiosk_voicesetting',
                        'ordering': ['language'],
                    },
                ),
            ],
        ),
    ]
