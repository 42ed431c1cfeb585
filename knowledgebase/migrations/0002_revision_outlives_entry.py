import django.db.models.deletion
from django.db import migrations, models


def copy_keys(apps, schema_editor):
    FaqRevision = apps.get_model("knowledgebase", "FaqRevision")
    for revision in FaqRevision.objects.select_related("entry").filter(entry__isnull=False):
        revision.key = revision.entry.key
        revision.save(update_fields=["key"])


class Migration(migrations.Migration):

    dependencies = [
        ("knowledgebase", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="faqrevision",
            name="key",
            field=models.SlugField(db_index=True, default="", max_length=100),
        ),
        migrations.AlterField(
            model_name="faqrevision",
            name="entry",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="revisions",
                to="knowledgebase.faqentry",
            ),
        ),
        migrations.RunPython(copy_keys, migrations.RunPython.noop),
    ]
