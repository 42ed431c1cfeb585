"""A kiosk page reports its microphone and when its connection ended; venues get hand-off alerts (e-mail, webhook)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('kiosk', '0008_models_moved_to_their_apps'),
    ]

    operations = [
        migrations.AddField(
            model_name='kiosk',
            name='microphone',
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AddField(
            model_name='kiosk',
            name='page_closed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='venue',
            name='handoff_emails',
            field=models.CharField(blank=True, help_text='Comma-separated addresses.', max_length=500),
        ),
        migrations.AddField(
            model_name='venue',
            name='handoff_webhook_secret',
            field=models.CharField(blank=True, help_text='Signs each webhook body (HMAC-SHA256).', max_length=200),
        ),
        migrations.AddField(
            model_name='venue',
            name='handoff_webhook_url',
            field=models.URLField(blank=True),
        ),
    ]
