"""The index on the start time carries the proposal and the search text (PostgreSQL's INCLUDE; SQLite ignores
it): a search's first look down the newest collections reads the index alone (``samples.data.catalogue``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lims", "0005_user_office_sync"),
        ("samples", "0016_scan_axis_and_estimated_end"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="datacollection",
            index=models.Index(
                fields=["-start_time", "-id"], include=("proposal", "search_text"), name="dc_start_cover_idx"
            ),
        ),
        migrations.RemoveIndex(model_name="datacollection", name="dc_start_idx"),
    ]
