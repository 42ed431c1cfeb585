from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('kiosk', '0009_kiosk_state_and_venue_handoff_alerts'),
    ]

    operations = [
        migrations.AddField(
            model_name='kiosk',
            name='service',
            field=models.CharField(blank=True, max_length=16),
        ),
    ]
