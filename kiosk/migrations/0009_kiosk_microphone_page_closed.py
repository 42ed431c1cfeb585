"""A kiosk page reports its microphone (working, denied, missing) and when its connection ended."""

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
    ]
