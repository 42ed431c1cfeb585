from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('kiosk', '0008_models_moved_to_their_apps'),
    ]

    operations = [
        migrations.AddField(
            model_name='kiosk',
            name='service',
            field=models.CharField(blank=True, max_length=16),
        ),
    ]
