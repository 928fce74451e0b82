"""People's API tokens (``POST /api/v1/auth/token/``): hashed at rest, expiring, revocable by their person
(``POST /api/v1/auth/token/revoke/``) and by an admin; the migration hashes the old plain-text keys."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from tests import factories as f

pytestmark = pytest.mark.django_db


def obtain(username="alice") -> tuple[str, dict]:
    response = APIClient().post("/api/v1/auth/token/", {"username": username, "password": f.PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"], response.json()


def with_token(key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def assert_refused(key):
    response = with_token(key).get("/api/v1/proposals/")
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "authentication_failed"


def every_value_in_the_database() -> str:
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            values.extend(str(row) for row in cursor.fetchall())
    return "\n".join(values)


def test_the_database_holds_no_key_only_its_hash(member):
    from lims.models import PersonalToken
    from lims.tokens import hash_key

    key, _ = obtain()
    assert with_token(key).get("/api/v1/proposals/").status_code == 200
    assert key not in every_value_in_the_database()
    assert PersonalToken.objects.get(user=member).key_hash == hash_key(key)


def test_each_login_gives_a_new_token_and_the_earlier_ones_keep_working(member):
    first, _ = obtain()
    second, _ = obtain()
    assert first != second
    assert with_token(first).get("/api/v1/proposals/").status_code == 200
    assert with_token(second).get("/api/v1/proposals/").status_code == 200


def test_a_token_expires_after_the_configured_time(member, settings):
    from lims.models import PersonalToken

    settings.PERSONAL_TOKEN_TTL = 3600
    before = timezone.now()
    key, body = obtain()
    expires_at = parse_datetime(body["expires_at"])
    assert before + dt.timedelta(hours=1) <= expires_at <= timezone.now() + dt.timedelta(hours=1)
    assert PersonalToken.objects.get().expires_at == expires_at
    PersonalToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_refused(key)


def test_a_person_revokes_the_token_they_send(member):
    key, _ = obtain()
    other, _ = obtain()
    assert with_token(key).post("/api/v1/auth/token/revoke/").status_code == 204
    assert_refused(key)
    assert with_token(other).get("/api/v1/proposals/").status_code == 200


def test_a_person_revokes_one_of_their_tokens_by_its_key_but_not_anothers(member, outsider):
    key, _ = obtain()
    theirs, _ = obtain("charlie")
    session = APIClient()
    session.force_authenticate(member)
    response = session.post("/api/v1/auth/token/revoke/", {"token": theirs}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert with_token(theirs).get("/api/v1/proposals/").status_code == 200
    assert session.post("/api/v1/auth/token/revoke/", {"token": key}, format="json").status_code == 204
    assert_refused(key)
    response = session.post("/api/v1/auth/token/revoke/", {}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_revoking_needs_a_login(member):
    key, _ = obtain()
    response = APIClient().post("/api/v1/auth/token/revoke/", {"token": key}, format="json")
    assert response.status_code == 401
    assert with_token(key).get("/api/v1/proposals/").status_code == 200


def test_an_admin_revokes_tokens_in_the_admin_and_never_sees_a_key(member, admin_user):
    from lims.models import AuditEntry, PersonalToken

    key, _ = obtain()
    admin = Client()
    admin.force_login(admin_user)
    listing = admin.get("/admin/lims/personaltoken/")
    assert listing.status_code == 200 and "alice" in listing.content.decode() and key not in listing.content.decode()
    token = PersonalToken.objects.get()
    response = admin.post("/admin/lims/personaltoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert_refused(key)
    assert AuditEntry.objects.filter(object_id=str(token.pk), message="Personal API token revoked").exists()


def test_the_migration_hashes_plain_text_tokens_and_deletes_them(member):
    """An install upgraded from DRF's authtoken tokens: their keys keep working, hashed; the plain text goes."""
    import importlib

    from django.apps import apps

    from lims.models import PersonalToken

    migration = importlib.import_module("lims.migrations.0003_personal_tokens")
    key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp NOT NULL, user_id integer)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [key, "2025-01-02 03:04:05", member.pk])
    # The function needs only the editor's connection; a real editor cannot open inside the test's transaction.
    migration.hash_plaintext_tokens(apps, SimpleNamespace(connection=connection))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
    assert key not in every_value_in_the_database()
    assert PersonalToken.objects.get().created_at.year == 2025
    assert with_token(key).get("/api/v1/proposals/").status_code == 200
