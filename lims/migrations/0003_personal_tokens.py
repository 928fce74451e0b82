"""People's API tokens become lims.PersonalToken, stored hashed and expiring.

Until now they were DRF's authtoken tokens, whose keys sat in plain text in ``authtoken_token``. Where that
table exists, each of its keys is hashed into a PersonalToken (so the key keeps working, until
PERSONAL_TOKEN_TTL from the upgrade), and the plain-text rows are deleted. The emptied table is left to the
operator to drop (``DROP TABLE authtoken_token``), as ``rest_framework.authtoken`` is no longer installed.
"""

from datetime import UTC, timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

PLAINTEXT_TABLE = "authtoken_token"


def hash_plaintext_tokens(apps, schema_editor):
    from lims.tokens import hash_key  # the hash the tokens are checked with, not a copy of it

    connection = schema_editor.connection
    if PLAINTEXT_TABLE not in connection.introspection.table_names():
        return
    PersonalToken = apps.get_model("lims", "PersonalToken")
    expires_at = timezone.now() + timedelta(seconds=getattr(settings, "PERSONAL_TOKEN_TTL", 30 * 24 * 3600))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {PLAINTEXT_TABLE}")
        rows = cursor.fetchall()
        for key, user_id, created in rows:
            token = PersonalToken.objects.create(
                user_id=user_id, prefix=key[:12], key_hash=hash_key(key), expires_at=expires_at
            )
            if isinstance(created, str):  # SQLite gives text, in UTC
                created = parse_datetime(created)
            if timezone.is_naive(created):
                created = timezone.make_aware(created, UTC)
            PersonalToken.objects.filter(pk=token.pk).update(created_at=created)
        cursor.execute(f"DELETE FROM {PLAINTEXT_TABLE}")


class Migration(migrations.Migration):

    dependencies = [
        ('lims', '0002_beamline_changer'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PersonalToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('prefix', models.CharField(editable=False, help_text="The key's first characters, to tell keys apart.", max_length=12)),
                ('key_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField(editable=False)),
                ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='personal_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'personal API token',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.RunPython(hash_plaintext_tokens, migrations.RunPython.noop),
    ]
