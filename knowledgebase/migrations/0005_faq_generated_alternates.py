from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("knowledgebase", "0004_faq_archive_outdated_search")]

    operations = [
        migrations.AddField(
            model_name="faqtranslation", name="generated_alternates",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="faqtranslation", name="generated_from",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
