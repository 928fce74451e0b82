"""The LDAP login (lims.identity.ldap, settings from lims.identity.ldap_settings), against a real OpenLDAP
server (tests/ldap_server.py: Debian's slapd on a loopback port, a throwaway directory).

Each test builds its settings from a fake environment through ``ldap_settings.configure``, the path
settings.py takes in production, and applies them with pytest-django's ``settings`` fixture."""

import json
import threading

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils.html import escape

from lims.choices import FacilityRole
from lims.identity import ldap_settings
from lims.identity.ldap import UNREACHABLE_MESSAGE as UNREACHABLE
from lims.models import AuditEntry
from tests import factories as f
from tests.ldap_server import PASSWORD, ldap_server_fixture  # noqa: F401 (registers the ldap_server fixture)
from tests.test_browser import chromium  # noqa: F401 (the fixture)

User = get_user_model()
WRONG = "not-the-password"
BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
UNREACHABLE_MESSAGE = escape(UNREACHABLE)  # as the page shows it
WRONG_PASSWORD_PAGE = "Please enter a correct username and password"


def fake_env(values: dict):
    """settings.py's ``env``: a variable's value, unset and empty both meaning the default."""
    return lambda name, default="": values.get(name) or default


def configured(values: dict, backends=BACKENDS) -> dict:
    ns = {"AUTHENTICATION_BACKENDS": list(backends)}
    ldap_settings.configure(ns, fake_env(values))
    return ns


def use_ldap(settings, server, **overrides) -> dict:
    """The facility's LDAP settings as ``LDAP_*`` variables would give them, applied to the test's settings."""
    values = {
        "LDAP_SERVER_URI": server.uri,
        "LDAP_BIND_DN": server.admin_dn,
        "LDAP_BIND_PASSWORD": server.admin_password,
        "LDAP_USER_SEARCH_BASE": server.users_dn,
        "LDAP_USER_SEARCH_FILTER": "(uid=%(user)s)",
        "LDAP_GROUP_SEARCH_BASE": server.groups_dn,
        "LDAP_GROUP_TYPE": "groupOfNames",
        # A DN written with spaces, as people copy them, and a group named by its cn.
        "LDAP_ROLE_MAP": f"cn=mx-stores, {server.groups_dn}:stores; mx-staff:beamline staff",
        "LDAP_TIMEOUT": "2",
        **overrides,
    }
    ns = configured(
        {key: value for key, value in values.items() if value is not None}, settings.AUTHENTICATION_BACKENDS
    )
    for key, value in ns.items():
        setattr(settings, key, value)
    return ns


def page_login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def token_login(username, password):
    return Client().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, content_type="application/json"
    )


def ispyb_login(**data):
    return Client().post(
        "/ispyb/api/v1/auth/login", json.dumps({"plugin": "lims", **data}), content_type="application/json"
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def roles(username) -> set[str]:
    user = User.objects.get(username=username)
    return set(user.groups.filter(name__in=FacilityRole.values).values_list("name", flat=True))


# Settings.


def test_without_a_server_uri_nothing_changes():
    ns = configured({"LDAP_USER_SEARCH_BASE": "ou=people,dc=facility,dc=test"})
    assert ns == {"AUTHENTICATION_BACKENDS": BACKENDS}


def test_the_running_settings_have_no_ldap_backend_when_unconfigured(settings, monkeypatch):
    from config import settings as lims_settings

    for name in ("LDAP_SERVER_URI", "LDAP_USER_SEARCH_BASE"):
        monkeypatch.delenv(name, raising=False)
    ns = {"AUTHENTICATION_BACKENDS": list(BACKENDS)}
    ldap_settings.configure(ns, lims_settings.env)
    assert ns == {"AUTHENTICATION_BACKENDS": BACKENDS}
    assert ldap_settings.BACKEND not in settings.AUTHENTICATION_BACKENDS


def test_the_ldap_backend_comes_after_axes_and_the_local_accounts():
    ns = configured({"LDAP_SERVER_URI": "ldap://ldap.example.org", "LDAP_USER_SEARCH_BASE": "ou=people,dc=x"})
    assert ns["AUTHENTICATION_BACKENDS"] == [*BACKENDS, ldap_settings.BACKEND]
    assert ns["AUTH_LDAP_CACHE_TIMEOUT"] == 0  # group lookups are not cached unless asked
    assert ns["AUTH_LDAP_BIND_AS_AUTHENTICATING_USER"]  # anonymous: the user's entry is read as the user
    # Without ModelBackend in the list, it is put back: local accounts (the admin) keep signing in.
    ns = configured(
        {"LDAP_SERVER_URI": "ldap://ldap.example.org", "LDAP_USER_DN_TEMPLATE": "uid=%(user)s,dc=x"},
        ["axes.backends.AxesStandaloneBackend"],
    )
    assert ns["AUTHENTICATION_BACKENDS"] == [*BACKENDS, ldap_settings.BACKEND]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "LDAP_USER_SEARCH_BASE"),
        ({"LDAP_USER_SEARCH_BASE": "dc=x", "LDAP_USER_SEARCH_FILTER": "(uid=bob)"}, "%(user)s"),
        ({"LDAP_USER_DN_TEMPLATE": "uid=bob,dc=x"}, "%(user)s"),
        ({"LDAP_USER_SEARCH_BASE": "dc=x", "LDAP_ROLE_MAP": "cn=a:stores"}, "LDAP_GROUP_SEARCH_BASE"),
        ({"LDAP_USER_SEARCH_BASE": "dc=x", "LDAP_REQUIRE_GROUP": "cn=a"}, "LDAP_GROUP_SEARCH_BASE"),
        ({"LDAP_USER_SEARCH_BASE": "dc=x", "LDAP_GROUP_SEARCH_BASE": "dc=x", "LDAP_GROUP_TYPE": "unix"}, "unix"),
        ({"LDAP_USER_SEARCH_BASE": "dc=x", "LDAP_TIMEOUT": "soon"}, "LDAP_TIMEOUT"),
        ({"LDAP_USER_SEARCH_BASE": "dc=x", "LDAP_START_TLS": "maybe"}, "LDAP_START_TLS"),
    ],
)
def test_a_bad_configuration_stops_the_start_saying_what_to_set(values, message):
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")):
        configured({"LDAP_SERVER_URI": "ldap://ldap.example.org", **values})


def test_a_role_map_naming_no_facility_role_stops_the_start():
    values = {
        "LDAP_SERVER_URI": "ldap://ldap.example.org",
        "LDAP_USER_SEARCH_BASE": "dc=x",
        "LDAP_GROUP_SEARCH_BASE": "dc=x",
    }
    with pytest.raises(ImproperlyConfigured, match="LDAP_ROLE_MAP entry .*superuser"):
        configured({**values, "LDAP_ROLE_MAP": "cn=mx-stores,ou=groups,dc=facility,dc=test:superuser"})
    ns = configured({**values, "LDAP_ROLE_MAP": "cn=mx-stores,ou=groups,dc=facility,dc=test:stores"})
    assert ns["LIMS_LDAP_ROLE_MAP"] == "cn=mx-stores,ou=groups,dc=facility,dc=test:stores"


# Signing in.


@pytest.mark.django_db
def test_an_ldap_user_signs_in_on_the_page_and_is_created_from_the_directory(settings, ldap_server):
    use_ldap(settings, ldap_server)
    client = Client()

    response = page_login(client, "ada", PASSWORD)

    assert response.status_code == 302 and signed_in(client), response.content.decode()[:2000]
    ada = User.objects.get(username="ada")
    assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "ada@facility.test")
    assert not ada.has_usable_password()  # the password lives in the directory only
    assert roles("ada") == {FacilityRole.STORES, FacilityRole.BEAMLINE_STAFF}
    assert client.get("/").status_code == 200  # the session's user is found again


@pytest.mark.django_db
def test_roles_follow_the_ldap_groups_at_each_login(settings, ldap_server):
    use_ldap(settings, ldap_server)
    assert signed_in_as("ada") and roles("ada") == {FacilityRole.STORES, FacilityRole.BEAMLINE_STAFF}
    assert signed_in_as("grace") and roles("grace") == set()

    ada = User.objects.get(username="ada")
    ada.groups.add(Group.objects.create(name="reading club"))  # no facility role: never touched
    ldap_server.remove_member("mx-stores", "ada")
    ldap_server.add_member("mx-stores", "grace")

    assert signed_in_as("ada") and roles("ada") == {FacilityRole.BEAMLINE_STAFF}
    assert signed_in_as("grace") and roles("grace") == {FacilityRole.STORES}
    assert ada.groups.filter(name="reading club").exists()
    assert AuditEntry.objects.filter(object_id=str(ada.pk), message__contains="role stores removed").exists()


def signed_in_as(username) -> bool:
    client = Client()
    page_login(client, username, PASSWORD)
    return signed_in(client)


@pytest.mark.django_db
def test_posix_groups_grant_roles_too(settings, ldap_server):
    use_ldap(
        settings,
        ldap_server,
        LDAP_GROUP_SEARCH_BASE=ldap_server.posix_groups_dn,
        LDAP_GROUP_TYPE="posixGroup",
        LDAP_ROLE_MAP="mx-admins:admin",
    )
    assert signed_in_as("ada") and roles("ada") == {FacilityRole.ADMIN}


@pytest.mark.django_db
def test_a_direct_dn_template_and_an_anonymous_bind_work(settings, ldap_server):
    use_ldap(
        settings,
        ldap_server,
        LDAP_BIND_DN=None,
        LDAP_BIND_PASSWORD=None,
        LDAP_USER_SEARCH_BASE=None,
        LDAP_USER_DN_TEMPLATE=f"uid=%(user)s,{ldap_server.users_dn}",
    )
    assert signed_in_as("ada")
    ada = User.objects.get(username="ada")
    assert ada.email == "ada@facility.test" and roles("ada") == {FacilityRole.STORES, FacilityRole.BEAMLINE_STAFF}


@pytest.mark.django_db
def test_the_required_group_keeps_others_out(settings, ldap_server):
    use_ldap(settings, ldap_server, LDAP_REQUIRE_GROUP=ldap_server.group_dn("mx-users"))
    assert signed_in_as("grace")
    assert not signed_in_as("alan")
    assert not User.objects.filter(username="alan").exists()


@pytest.mark.django_db
def test_a_wrong_ldap_password_is_refused_and_counted_until_the_user_is_locked_out(settings, ldap_server):
    use_ldap(settings, ldap_server)
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()

    response = page_login(client, "ada", WRONG)
    assert response.status_code == 200 and not signed_in(client)
    assert WRONG_PASSWORD_PAGE in response.content.decode()
    assert AccessAttempt.objects.get(username="ada").failures_since_start == 1
    page_login(client, "ada", WRONG)
    page_login(client, "ada", WRONG)

    response = page_login(client, "ada", PASSWORD)  # the right password, too late
    assert response.status_code == 429 and not signed_in(client)
    assert "Too many failed sign-ins" in response.content.decode()
    assert token_login("ada", PASSWORD).status_code == 429
    assert ispyb_login(login="ada", password=PASSWORD).status_code == 429


@pytest.mark.django_db
def test_the_api_token_endpoint_takes_the_ldap_password(settings, ldap_server):
    use_ldap(settings, ldap_server)
    response = token_login("ada", PASSWORD)
    assert response.status_code == 200, response.content
    key = response.json()["token"]
    proposals = Client().get("/api/v1/proposals/", HTTP_AUTHORIZATION=f"Token {key}")
    assert proposals.status_code == 200
    assert token_login("ada", WRONG).status_code in (400, 401)


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["password", "token"])  # MXCuBE's client sends the password as "token"
def test_the_ispyb_login_takes_the_ldap_password(settings, ldap_server, field):
    use_ldap(settings, ldap_server)
    response = ispyb_login(login="ada", **{field: PASSWORD})
    assert response.status_code == 200, response.content
    bearer = response.json()["token"]
    current = Client().get("/ispyb/api/v1/user/current", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert current.status_code == 200, current.content
    assert current.json()["login"] == "ada" and current.json()["givenName"] == "Ada"
    assert ispyb_login(login="ada", **{field: WRONG}).status_code == 401


@pytest.mark.django_db
def test_local_accounts_still_sign_in_and_are_never_taken_over_by_the_directory(settings, ldap_server):
    use_ldap(settings, ldap_server)
    f.UserFactory(username="admin", is_staff=True, is_superuser=True)
    alan = f.UserFactory(username="alan", first_name="Local", last_name="Alan")  # alan is in LDAP too

    client = Client()
    assert page_login(client, "admin", f.PASSWORD).status_code == 302 and signed_in(client)
    assert token_login("admin", f.PASSWORD).status_code == 200
    assert signed_in_as_local("alan")
    # The directory's alan does not get the local alan's account (nor rename it).
    assert not signed_in_as("alan")
    alan.refresh_from_db()
    assert (alan.first_name, alan.last_name) == ("Local", "Alan")


def signed_in_as_local(username) -> bool:
    client = Client()
    page_login(client, username, f.PASSWORD)
    return signed_in(client)


# An unreachable directory.


@pytest.mark.django_db
def test_a_stopped_directory_refuses_ldap_logins_clearly_and_local_accounts_still_sign_in(settings, ldap_server):
    use_ldap(settings, ldap_server)
    assert signed_in_as("ada")
    f.UserFactory(username="admin", is_staff=True, is_superuser=True)
    ldap_server.stop()

    client = Client()
    response = page_login(client, "ada", PASSWORD)
    assert response.status_code == 200 and not signed_in(client)
    page = response.content.decode()
    assert UNREACHABLE_MESSAGE in page and WRONG_PASSWORD_PAGE in page
    assert token_login("ada", PASSWORD).status_code in (400, 401)
    assert ispyb_login(login="ada", password=PASSWORD).status_code == 401
    assert signed_in_as_local("admin")
    assert token_login("admin", f.PASSWORD).status_code == 200


@pytest.mark.django_db
def test_a_hung_directory_refuses_the_login_after_the_timeout_instead_of_holding_it(settings, ldap_server):
    """slapd frozen (SIGSTOP) still accepts connections but never answers. A watchdog thaws it later: a
    login that waited for the directory instead of timing out would then succeed, and the test fail."""
    use_ldap(settings, ldap_server, LDAP_TIMEOUT="1")
    f.UserFactory(username="admin", is_staff=True, is_superuser=True)
    ldap_server.pause()
    watchdog = threading.Timer(60, ldap_server.resume)
    watchdog.start()
    try:
        client = Client()
        response = page_login(client, "ada", PASSWORD)
        assert response.status_code == 200 and not signed_in(client)
        assert UNREACHABLE_MESSAGE in response.content.decode()
        assert ispyb_login(login="ada", token=PASSWORD).status_code == 401
        assert signed_in_as_local("admin")
    finally:
        watchdog.cancel()
        ldap_server.resume()
    assert signed_in_as("ada")  # thawed: the same login works


@pytest.mark.django_db
def test_start_tls_never_falls_back_to_a_plain_connection(settings, ldap_server):
    use_ldap(settings, ldap_server, LDAP_START_TLS="on")  # the test server offers no TLS
    client = Client()
    response = page_login(client, "ada", PASSWORD)
    assert response.status_code == 200 and not signed_in(client)
    assert UNREACHABLE_MESSAGE in response.content.decode()


# In a browser.


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_directory_user_signs_in_in_a_browser(chromium, live_server, settings, ldap_server):  # noqa: F811
    from playwright.sync_api import expect

    use_ldap(settings, ldap_server)
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert roles("ada") == {FacilityRole.STORES, FacilityRole.BEAMLINE_STAFF}

    ldap_server.stop()
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_contain_text("user directory (LDAP) cannot be reached")
