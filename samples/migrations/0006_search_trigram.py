"""Substring search over the catalogue: a trigram index on ``search_text`` (PostgreSQL; SQLite scans)."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS dc_search_trgm_idx ON samples_datacollection USING gin (search_text gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS dc_search_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("samples", "0005_data_collections")]

    operations = [migrations.RunPython(create, drop)]
