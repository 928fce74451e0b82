"""OpenID Connect sign-in (``lims.identity.oidc``) against a real provider process on loopback
(``oidc-provider-mock``, in a thread): settings built from variables as production builds them, the code
flow run by Django's test client and plain HTTP to the provider's authorization form, the personal tokens
that people without a password use for MXCuBE's login. The same flow in a real browser:
tests/test_browser_oidc.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from lims.choices import FacilityRole
from lims.identity import oidc, oidc_settings
from tests import factories as f
from tests.mxcube.conftest import mxcube_python  # noqa: F401 (the fixture: MXCuBE's client in its own venv)

CALLBACK = "/oidc/callback/"
ROLE_MAP = "mx-staff:beamline staff;mx-stores:stores;MX-Admins:admin;mx-admins:beamline staff"


def fake_env(values: dict):
    """settings.py's ``env``: unset and empty both mean the default."""
    return lambda name, default="": values.get(name) or default


@dataclass
class Provider:
    url: str

    def register(self, redirect_uri: str, method: str = "client_secret_post") -> tuple[str, str]:
        """A confidential client registered for ``redirect_uri`` (dynamic registration): (id, secret)."""
        answer = requests.post(
            f"{self.url}/oauth2/clients",
            json={"redirect_uris": [redirect_uri], "token_endpoint_auth_method": method},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["client_id"], answer.json()["client_secret"]

    def set_user(self, sub: str, **claims) -> None:
        """What the provider says about ``sub`` from now on."""
        answer = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert answer.status_code == 204, answer.text


@pytest.fixture
def provider():
    """A real OpenID provider on a free loopback port, for this test only."""
    from oidc_provider_mock import run_server_in_thread

    oidc._discovered.clear()
    with run_server_in_thread(port=0, require_client_registration=True, require_nonce=True) as server:
        yield Provider(f"http://localhost:{server.server_port}")
    oidc._discovered.clear()


def use_oidc(settings, values: dict) -> dict:
    """Apply what ``oidc_settings.configure`` makes of these variables to the running settings."""
    ns = {"AUTHENTICATION_BACKENDS": list(settings.AUTHENTICATION_BACKENDS), "FACILITY_NAME": settings.FACILITY_NAME}
    oidc_settings.configure(ns, fake_env(values))
    for name, value in ns.items():
        setattr(settings, name, value)
    return ns


@pytest.fixture
def configure_oidc(settings, provider):
    """Settings for ``provider``, with a client registered for the given site; returns the variables."""

    def configure(site: str = "http://testserver", method: str = "client_secret_post", **extra) -> dict:
        client_id, secret = provider.register(f"{site}{CALLBACK}", method)
        values = {"OIDC_ISSUER": provider.url, "OIDC_CLIENT_ID": client_id, "OIDC_CLIENT_SECRET": secret, **extra}
        use_oidc(settings, values)
        return values

    return configure


def sign_in(client: Client, sub: str, *, action: str = "authorize", next_url: str = ""):
    """Click the button, answer the provider's form (as the person ``sub``, or deny), come back."""
    start = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content
    authorize = start["Location"]
    assert urlsplit(authorize).path == "/oauth2/authorize", authorize
    form = {"action": "deny"} if action == "deny" else {"sub": sub}
    answer = requests.post(authorize, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == CALLBACK
    return client.get(back.path, parse_qs(back.query))


def user_office_account(**fields):
    """An account as the user-office feed makes them: no password of its own."""
    user = f.UserFactory(**fields)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


def page_messages(client: Client) -> list[str]:
    response = client.get("/login/")
    return [str(m) for m in response.context["messages"]]


# Settings, as production builds them.


def test_nothing_is_configured_without_an_issuer():
    ns = {"AUTHENTICATION_BACKENDS": ["x"]}
    oidc_settings.configure(ns, fake_env({"OIDC_CLIENT_ID": "lims", "OIDC_CLIENT_SECRET": "s"}))
    assert ns == {"AUTHENTICATION_BACKENDS": ["x"]}


def test_the_variables_make_the_settings():
    ns = {
        "AUTHENTICATION_BACKENDS": ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
    }
    env = {
        "OIDC_ISSUER": "https://sso.example.org/realms/mx/",
        "OIDC_CLIENT_ID": "lims",
        "OIDC_CLIENT_SECRET": "s3cret",
        "OIDC_TOKEN_ENDPOINT": "https://sso.example.org/token",
        "OIDC_USERNAME_CLAIM": "uid",
        "OIDC_BUTTON": "0",
        "OIDC_VERIFY_SSL": "/etc/ssl/facility-ca.pem",
        "OIDC_ROLE_MAP": "mx-staff:beamline staff",
    }
    oidc_settings.configure(ns, fake_env(env))
    assert ns["OIDC_ENABLED"] and ns["OIDC_ISSUER"] == "https://sso.example.org/realms/mx"
    assert ns["OIDC_DISCOVERY_URL"] == "https://sso.example.org/realms/mx/.well-known/openid-configuration"
    assert ns["OIDC_OP_TOKEN_ENDPOINT"] == "https://sso.example.org/token"
    assert ns["OIDC_OP_AUTHORIZATION_ENDPOINT"] == ""  # read from discovery at the first sign-in
    assert (ns["OIDC_RP_CLIENT_ID"], ns["OIDC_RP_CLIENT_SECRET"]) == ("lims", "s3cret")
    assert ns["OIDC_RP_SCOPES"] == "openid email profile" and ns["OIDC_RP_SIGN_ALGO"] == "RS256"
    assert ns["OIDC_USERNAME_CLAIM"] == "uid" and ns["OIDC_GROUPS_CLAIM"] == "groups"
    assert ns["OIDC_BUTTON"] is False and ns["OIDC_CREATE_USER"] is True and ns["OIDC_MATCH_EMAIL"] is False
    assert ns["OIDC_VERIFY_SSL"] == "/etc/ssl/facility-ca.pem" and ns["OIDC_USE_PKCE"] is True
    assert ns["AUTHENTICATION_BACKENDS"] == [
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.ModelBackend",
        "lims.identity.oidc.OIDCBackend",
    ]


@pytest.mark.parametrize(
    "env, words",
    [
        ({"OIDC_CLIENT_ID": "lims"}, "OIDC_CLIENT_SECRET"),
        ({"OIDC_CLIENT_ID": "lims", "OIDC_CLIENT_SECRET": "s", "OIDC_BUTTON": "maybe"}, "OIDC_BUTTON"),
        (
            {"OIDC_CLIENT_ID": "lims", "OIDC_CLIENT_SECRET": "s", "OIDC_TOKEN_ENDPOINT": "sso/token"},
            "OIDC_TOKEN_ENDPOINT",
        ),
        ({"OIDC_CLIENT_ID": "lims", "OIDC_CLIENT_SECRET": "s", "OIDC_SCOPES": "email"}, "openid"),
    ],
)
def test_a_half_or_wrong_configuration_is_refused_at_start_up(env, words):
    with pytest.raises(ImproperlyConfigured, match=words):
        oidc_settings.configure({}, fake_env({"OIDC_ISSUER": "https://sso.example.org", **env}))


def test_a_role_map_naming_no_facility_role_stops_the_start():
    env = {"OIDC_ISSUER": "https://sso.example.org", "OIDC_CLIENT_ID": "lims", "OIDC_CLIENT_SECRET": "s"}
    with pytest.raises(ImproperlyConfigured, match="OIDC_ROLE_MAP entry 'mx-boss:overlord'"):
        oidc_settings.configure({}, fake_env({**env, "OIDC_ROLE_MAP": "mx-staff:beamline staff;mx-boss:overlord"}))
    ns = {}
    oidc_settings.configure(ns, fake_env({**env, "OIDC_ROLE_MAP": "mx-staff:beamline staff"}))
    assert ns["OIDC_ROLE_MAP"] == "mx-staff:beamline staff"


# The button.


@pytest.mark.django_db
def test_no_button_and_no_oidc_pages_when_unconfigured(client):
    page = client.get("/login/")
    assert page.status_code == 200 and b"Sign in with" not in page.content
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get(CALLBACK, {"code": "x", "state": "y"}).status_code == 404


@pytest.mark.django_db
def test_the_button_names_the_provider_or_the_facility_and_can_be_turned_off(client, settings):
    env = {"OIDC_ISSUER": "http://localhost:9", "OIDC_CLIENT_ID": "lims", "OIDC_CLIENT_SECRET": "s"}
    use_oidc(settings, env)
    assert f"Sign in with {settings.FACILITY_NAME}</a>" in client.get("/login/?next=/pucks/").content.decode()
    assert 'href="/oidc/authenticate/?next=/pucks/"' in client.get("/login/?next=/pucks/").content.decode()
    use_oidc(settings, {**env, "OIDC_PROVIDER_NAME": "Umbrella ID"})
    assert "Sign in with Umbrella ID</a>" in client.get("/login/").content.decode()
    use_oidc(settings, {**env, "OIDC_BUTTON": "0"})
    assert b"Sign in with" not in client.get("/login/").content


@pytest.mark.django_db
def test_a_provider_that_is_down_gives_a_message_and_passwords_still_work(client, settings):
    use_oidc(settings, {"OIDC_ISSUER": "http://127.0.0.1:9", "OIDC_CLIENT_ID": "lims", "OIDC_CLIENT_SECRET": "s"})
    f.UserFactory(username="alice")
    answer = client.get("/oidc/authenticate/?next=/pucks/")
    assert answer.status_code == 302 and answer["Location"] == "/login/?next=%2Fpucks%2F"
    assert any("not possible just now" in m for m in page_messages(client))
    signed_in = client.post("/login/", {"username": "alice", "password": f.PASSWORD})
    assert signed_in.status_code == 302 and client.get("/").status_code == 200


# The code flow, against the provider.


@pytest.mark.django_db
def test_the_first_sign_in_creates_the_account_with_its_name_e_mail_and_mapped_roles(configure_oidc, provider):
    from lims.models import AuditEntry

    configure_oidc(OIDC_ROLE_MAP=ROLE_MAP)
    provider.set_user(
        "f81d4fae",
        preferred_username="ada",
        email="ada@lab.example",
        given_name="Ada",
        family_name="Lovelace",
        groups=["mx-staff", "MX-ADMINS", "physics-dept"],
    )
    client = Client()
    answer = sign_in(client, "f81d4fae", next_url="/pucks/")
    assert answer.status_code == 302 and answer["Location"] == "/pucks/"
    ada = get_user_model().objects.get(username="ada")
    assert (ada.email, ada.first_name, ada.last_name) == ("ada@lab.example", "Ada", "Lovelace")
    assert not ada.has_usable_password()
    assert set(ada.groups.values_list("name", flat=True)) == {FacilityRole.BEAMLINE_STAFF, FacilityRole.ADMIN}
    assert int(client.session["_auth_user_id"]) == ada.pk
    assert client.get("/").status_code == 200
    created = AuditEntry.objects.get(object_id=str(ada.pk), message__startswith="account created")
    assert "password" not in json.dumps(created.changes)


@pytest.mark.django_db
def test_the_next_sign_in_finds_the_same_account_and_sets_its_roles_again(configure_oidc, provider):
    configure_oidc(OIDC_ROLE_MAP=ROLE_MAP)
    provider.set_user("f81d4fae", preferred_username="ada", email="ada@lab.example", groups=["mx-staff", "mx-stores"])
    sign_in(Client(), "f81d4fae")
    ada = get_user_model().objects.get(username="ada")
    ada.groups.add(Group.objects.get_or_create(name=FacilityRole.MAILIN_OPERATOR)[0])  # by hand, in the admin
    ada.groups.add(Group.objects.get_or_create(name="book club")[0])  # no facility role: never touched

    provider.set_user(
        "f81d4fae", preferred_username="ada", email="ada@new.example", name="Ada King", groups=["mx-stores"]
    )
    answer = sign_in(Client(), "f81d4fae")
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert get_user_model().objects.filter(username="ada").count() == 1
    ada.refresh_from_db()
    assert set(ada.groups.values_list("name", flat=True)) == {FacilityRole.STORES, "book club"}
    assert (ada.email, ada.first_name, ada.last_name) == ("ada@new.example", "Ada", "King")


@pytest.mark.django_db
def test_a_provider_without_a_groups_claim_leaves_the_roles_alone(configure_oidc, provider):
    configure_oidc(OIDC_ROLE_MAP=ROLE_MAP)
    user_office_account(username="blstaff", groups=[FacilityRole.BEAMLINE_STAFF])
    provider.set_user("s-1", preferred_username="blstaff")
    assert sign_in(Client(), "s-1")["Location"] == "/"
    assert list(get_user_model().objects.get(username="blstaff").groups.values_list("name", flat=True)) == [
        FacilityRole.BEAMLINE_STAFF
    ]


@pytest.mark.django_db
def test_without_a_role_map_the_roles_are_left_alone(configure_oidc, provider):
    configure_oidc()
    user_office_account(username="stores", groups=[FacilityRole.STORES])
    provider.set_user("s-2", preferred_username="stores", groups=[])
    assert sign_in(Client(), "s-2")["Location"] == "/"
    assert get_user_model().objects.get(username="stores").groups.filter(name=FacilityRole.STORES).exists()


@pytest.mark.django_db
def test_an_existing_account_is_matched_by_user_name(configure_oidc, provider):
    configure_oidc(OIDC_USERNAME_CLAIM="uid")
    alice = user_office_account(username="Alice")
    provider.set_user("x-9", uid="alice", preferred_username="somebody-else")
    client = Client()
    sign_in(client, "x-9")
    assert int(client.session["_auth_user_id"]) == alice.pk
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db
def test_a_local_account_is_not_signed_into_by_the_provider_unless_allowed(settings, configure_oidc, provider):
    values = configure_oidc()
    admin = f.UserFactory(username="admin", is_staff=True, is_superuser=True)  # createsuperuser's
    provider.set_user("umbrella-1", preferred_username="admin")  # a name anybody may pick at some providers
    client = Client()
    assert sign_in(client, "umbrella-1")["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert any("has a password of its own" in m for m in page_messages(client))

    use_oidc(settings, {**values, "OIDC_MATCH_LOCAL_ACCOUNTS": "1"})  # the provider owns the user names
    client = Client()
    sign_in(client, "umbrella-1")
    assert int(client.session["_auth_user_id"]) == admin.pk
    admin.refresh_from_db()
    assert admin.check_password(f.PASSWORD)  # the local password still works too


@pytest.mark.django_db
def test_e_mail_matching_is_off_unless_asked_and_then_only_for_a_verified_address(settings, configure_oidc, provider):
    values = configure_oidc()
    alice = user_office_account(username="alice", email="alice@lab.example")
    provider.set_user("u-1", preferred_username="a.liddell", email="alice@lab.example", email_verified=True)
    client = Client()
    sign_in(client, "u-1")
    assert int(client.session["_auth_user_id"]) != alice.pk  # a new account "a.liddell"
    get_user_model().objects.filter(username="a.liddell").delete()

    use_oidc(settings, {**values, "OIDC_MATCH_EMAIL": "1"})
    provider.set_user("u-1", preferred_username="a.liddell", email="alice@lab.example", email_verified=False)
    client = Client()
    sign_in(client, "u-1")
    assert int(client.session["_auth_user_id"]) != alice.pk
    get_user_model().objects.filter(username="a.liddell").delete()

    provider.set_user("u-1", preferred_username="a.liddell", email="alice@lab.example", email_verified=True)
    client = Client()
    sign_in(client, "u-1")
    assert int(client.session["_auth_user_id"]) == alice.pk


@pytest.mark.django_db
def test_with_account_creation_off_an_unknown_person_is_told(configure_oidc, provider):
    configure_oidc(OIDC_CREATE_USERS="0")
    provider.set_user("u-2", preferred_username="mallory")
    client = Client()
    answer = sign_in(client, "u-2")
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert any("no account for mallory" in m for m in page_messages(client))
    assert not get_user_model().objects.filter(username="mallory").exists()


@pytest.mark.django_db
def test_a_disabled_account_is_refused_and_its_open_sessions_end(configure_oidc, provider):
    configure_oidc()
    provider.set_user("u-3", preferred_username="bob")
    signed_in = Client()
    sign_in(signed_in, "u-3")
    assert signed_in.get("/").status_code == 200
    get_user_model().objects.filter(username="bob").update(is_active=False)
    assert signed_in.get("/").status_code == 302  # the session's user is no longer found

    client = Client()
    sign_in(client, "u-3")
    assert "_auth_user_id" not in client.session
    assert any("disabled" in m for m in page_messages(client))


@pytest.mark.django_db
def test_a_refusal_at_the_provider_comes_back_to_the_sign_in_page_with_a_message(configure_oidc, provider):
    configure_oidc()
    client = Client()
    answer = sign_in(client, "", action="deny", next_url="/pucks/")
    assert answer.status_code == 302 and answer["Location"] == "/login/?next=%2Fpucks%2F"
    assert "_auth_user_id" not in client.session
    assert any("cancelled or refused" in m for m in page_messages(client))


@pytest.mark.django_db
def test_a_provider_error_shows_its_code_never_its_free_text(configure_oidc, provider):
    configure_oidc()
    client = Client()
    client.get("/oidc/authenticate/")
    client.get(CALLBACK, {"error": "server_error", "error_description": "Call +1 555 0100 to unlock"})
    [message] = page_messages(client)
    assert "server_error" in message and "555" not in message


@pytest.mark.django_db
def test_a_used_or_foreign_callback_is_refused_with_a_message(configure_oidc, provider):
    configure_oidc()
    provider.set_user("u-4", preferred_username="carol")
    client = Client()
    start = client.get("/oidc/authenticate/")
    back = urlsplit(
        requests.post(start["Location"], data={"sub": "u-4"}, allow_redirects=False, timeout=10).headers["Location"]
    )
    query = parse_qs(back.query)
    assert client.get(CALLBACK, query)["Location"] == "/"
    client.logout()
    again = client.get(CALLBACK, query)  # the state was used: a replay
    assert again.status_code == 302 and again["Location"].startswith("/login/")
    stranger = Client()  # another browser that never started this sign-in
    assert stranger.get(CALLBACK, query)["Location"].startswith("/login/")
    assert "_auth_user_id" not in stranger.session


@pytest.mark.django_db
def test_a_wrong_client_secret_is_a_message_not_a_500(settings, configure_oidc, provider):
    values = configure_oidc()
    use_oidc(settings, {**values, "OIDC_CLIENT_SECRET": "not-the-secret"})
    provider.set_user("u-5", preferred_username="dave")
    client = Client()
    answer = sign_in(client, "u-5")
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    assert any("did not complete the sign-in" in m for m in page_messages(client))


@pytest.mark.django_db
def test_discovery_naming_another_issuer_is_refused(settings, configure_oidc, provider):
    values = configure_oidc()
    use_oidc(settings, {**values, "OIDC_ISSUER": provider.url.replace("localhost", "127.0.0.1"),
                        "OIDC_DISCOVERY_URL": f"{provider.url}/.well-known/openid-configuration"})  # fmt: skip
    client = Client()
    assert client.get("/oidc/authenticate/")["Location"] == "/login/"
    assert any("not possible just now" in m for m in page_messages(client))


@pytest.mark.django_db
def test_basic_client_authentication_and_endpoints_given_without_discovery(configure_oidc, provider):
    configure_oidc(
        method="client_secret_basic",
        OIDC_TOKEN_BASIC_AUTH="1",
        OIDC_DISCOVERY_URL="http://127.0.0.1:9/nowhere",
        OIDC_AUTHORIZATION_ENDPOINT=f"{provider.url}/oauth2/authorize",
        OIDC_TOKEN_ENDPOINT=f"{provider.url}/oauth2/token",
        OIDC_USERINFO_ENDPOINT=f"{provider.url}/userinfo",
        OIDC_JWKS_URI=f"{provider.url}/jwks",
    )
    provider.set_user("u-6", preferred_username="erin")
    client = Client()
    assert sign_in(client, "u-6")["Location"] == "/"
    assert get_user_model().objects.filter(username="erin").exists()


# Personal tokens: the way to MXCuBE and the API for people with no password here.


def ispyb_login(client: Client, **data):
    return client.post(
        "/ispyb/api/v1/auth/login", json.dumps({"plugin": "lims", **data}), content_type="application/json"
    )


def new_token(client: Client) -> str:
    page = client.post("/account/tokens/", {"create": "1"})
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    return page.context["new_key"]


@pytest.mark.django_db
def test_an_oidc_user_makes_a_personal_token_and_logs_in_to_the_ispyb_login_with_it(configure_oidc, provider):
    configure_oidc()
    provider.set_user("u-7", preferred_username="frank", given_name="Frank", family_name="Oppen")
    browser = Client()
    sign_in(browser, "u-7")
    key = new_token(browser)
    assert key.startswith("limsp_")
    assert key not in browser.get("/account/tokens/").content.decode()  # shown once

    api = Client()
    assert ispyb_login(api, login="frank", password="").status_code == 401  # no password here
    answer = ispyb_login(api, login="frank", token=key)
    assert answer.status_code == 200, answer.content
    tokens = answer.json()
    me = api.get("/ispyb/api/v1/user/current", HTTP_AUTHORIZATION=f"Bearer {tokens['token']}")
    assert me.status_code == 200 and "Oppen" in me.content.decode()
    assert ispyb_login(api, login="frank", password=key).status_code == 200  # the field MXCuBE's form may use
    assert ispyb_login(api, login="someone-else", token=key).status_code == 401

    # Revoked: the key, the bearer token and the refresh token it got all stop at once.
    from lims.models import PersonalToken

    token = PersonalToken.objects.get(user__username="frank")
    assert browser.post("/account/tokens/", {"revoke": str(token.pk)}).status_code == 302
    assert ispyb_login(api, login="frank", token=key).status_code == 401
    assert api.get("/ispyb/api/v1/user/current", HTTP_AUTHORIZATION=f"Bearer {tokens['token']}").status_code == 401
    refresh = api.post(
        "/ispyb/api/v1/auth/refresh",
        json.dumps({"refreshToken": tokens["refreshToken"]}),
        content_type="application/json",
    )
    assert refresh.status_code == 401


@pytest.mark.django_db
def test_the_token_page_lists_and_revokes_only_ones_own_tokens(client, member, outsider):
    from lims.tokens import personal_token_create

    theirs, _ = personal_token_create(user=outsider)
    client.force_login(member)
    key = new_token(client)
    page = client.get("/account/tokens/").content.decode()
    assert key[:12] in page and theirs.prefix not in page
    assert client.post("/account/tokens/", {"revoke": str(theirs.pk)}).status_code == 404
    assert client.post("/account/tokens/", {"revoke": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert Client().get("/account/tokens/").status_code == 302  # signed-in people only


@pytest.mark.django_db
def test_refused_sign_ins_are_not_counted_as_failed_passwords(settings, configure_oidc, provider):
    """The callback is no password to guess: django-axes must not lock out an address (a facility's NAT)
    after a few people were refused there."""
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    configure_oidc(OIDC_CREATE_USERS="0")
    provider.set_user("u-8", preferred_username="nobody")
    for _ in range(3):
        assert sign_in(Client(), "u-8")["Location"] == "/login/"
    assert not AccessAttempt.objects.exists()
    user_office_account(username="alice")
    provider.set_user("u-9", preferred_username="alice")
    client = Client()
    assert sign_in(client, "u-9")["Location"] == "/"
    assert client.get("/").status_code == 200


MXCUBE_LOGIN = """
import json, sys
from mxcubecore.HardwareObjects.abstract.PyISPyBDataAdapter import PyISPyBDataAdapter
from mxcubecore.HardwareObjects.abstract.PyISPyBRestClient import PyISPyBRestClient

args = json.load(sys.stdin)
out = {}
for name, key in (("live", args["key"]), ("wrong", "limsp_not-a-key")):
    client = PyISPyBRestClient(args["root"])
    try:
        client.authenticate(args["login"], key)
    except Exception as exc:  # the client raises on a 401
        out[name] = {"raised": type(exc).__name__}
        continue
    adapter = PyISPyBDataAdapter(client, "MX-3")
    out[name] = {
        "user": adapter.get_current_user_data(),
        "proposals": [p.model_dump(mode="json") for p in adapter.get_proposals()],
    }
print(json.dumps(out))
"""


@pytest.mark.mxcube_client
@pytest.mark.django_db(transaction=True)
def test_mxcubes_own_client_logs_in_with_an_oidc_users_personal_token(
    mxcube_python,  # noqa: F811 (the fixture)
    live_server,
    configure_oidc,
    provider,
):
    """MXCuBE's py-ispyb client (mxcubecore, in its venv: tests/mxcube/conftest.py), as a person who signs in
    with OpenID Connect and so has no password here."""
    import os
    import subprocess

    from django.conf import settings

    configure_oidc()
    provider.set_user("u-10", preferred_username="grace", given_name="Grace", family_name="Hopper")
    browser = Client()
    sign_in(browser, "u-10")
    grace = get_user_model().objects.get(username="grace")
    proposal = f.ProposalFactory(code="mx", number="4242", title="Grace's compilers")
    f.ProposalMemberFactory(proposal=proposal, user=grace)
    key = new_token(browser)

    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTHON", "DJANGO"))}
    env.update(TZ=settings.TIME_ZONE, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    run = subprocess.run(
        [str(mxcube_python), "-I", "-c", MXCUBE_LOGIN],
        input=json.dumps({"root": f"{live_server.url}/ispyb/api/v1/", "login": "grace", "key": key}),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    out = json.loads(run.stdout)
    assert "Hopper" in json.dumps(out["live"]["user"])
    assert [(p["code"], p["number"]) for p in out["live"]["proposals"]] == [("MX", "4242")]
    assert "raised" in out["wrong"]
