"""Failed password logins are limited (django-axes, ``lims.logins``) on the sign-in page, the API's token
endpoint and the ISPyB-compatible login: per username and address, lifted by the admin, a command or
the cool-off, answered 429 in the API error shape and with a message on the page."""

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests import factories as f

LIMIT = 3
WRONG = "not-the-password"
LOCKED = "Too many failed sign-ins"


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=30)


def page_login(client, password, username="alice", **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def token_login(client, password, username="alice", **extra):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, content_type="application/json", **extra
    )


def ispyb_login(client, **data):
    return client.post(
        "/ispyb/api/v1/auth/login", json.dumps({"plugin": "lims", **data}), content_type="application/json"
    )


def fail(login, client, times=LIMIT, **extra):
    for _ in range(times):
        login(client, WRONG, **extra)


def assert_locked_out_json(response):
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "locked_out" and LOCKED in body["detail"]
    assert body.keys() == {"detail", "code"}
    assert response["Retry-After"] == "1800"


def test_the_sign_in_page_refuses_the_right_password_once_locked_out_and_says_why(member):
    client = Client()
    fail(page_login, client)
    response = page_login(client, f.PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode() and "try again in 30 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still signed out


def test_the_token_endpoint_answers_429_json_once_locked_out(member):
    client = Client()
    fail(token_login, client)
    assert_locked_out_json(token_login(client, f.PASSWORD))


def test_the_ispyb_login_answers_429_json_once_locked_out(member):
    client = Client()
    for _ in range(LIMIT - 1):
        assert ispyb_login(client, login="alice", password=WRONG).status_code == 401
    assert_locked_out_json(ispyb_login(client, login="alice", password=WRONG))  # the failure that locks
    assert_locked_out_json(ispyb_login(client, login="alice", password=f.PASSWORD))


def test_failures_count_across_the_three_logins(member):
    client = Client()
    page_login(client, WRONG)
    token_login(client, WRONG)
    ispyb_login(client, login="alice", password=WRONG)
    assert_locked_out_json(token_login(client, f.PASSWORD))


def test_a_valid_beamline_token_logs_in_to_ispyb_uncounted_even_when_its_login_is_locked_out(isara):
    from axes.models import AccessAttempt

    key = f.api_token(isara)
    client = Client()
    for _ in range(LIMIT):
        ispyb_login(client, login="mxcube", password=WRONG)
    assert_locked_out_json(ispyb_login(client, login="mxcube", password=WRONG))
    failures = AccessAttempt.objects.get(username="mxcube").failures_since_start
    for _ in range(LIMIT + 1):
        assert ispyb_login(client, login="mxcube", token=key).status_code == 200
    assert AccessAttempt.objects.get(username="mxcube").failures_since_start == failures


def test_the_lock_is_per_username_and_address(member, outsider):
    client = Client()
    fail(token_login, client, REMOTE_ADDR="10.0.0.1")
    assert_locked_out_json(token_login(client, f.PASSWORD, REMOTE_ADDR="10.0.0.1"))
    assert token_login(client, f.PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 200  # alice elsewhere
    assert token_login(client, f.PASSWORD, username="charlie", REMOTE_ADDR="10.0.0.1").status_code == 200


def test_a_successful_login_clears_the_failures(member):
    from axes.models import AccessAttempt

    client = Client()
    for login in (page_login, token_login):
        fail(login, client, times=LIMIT - 1)
        assert AccessAttempt.objects.get(username="alice").failures_since_start == LIMIT - 1
        assert login(client, f.PASSWORD).status_code in (200, 302)
        assert not AccessAttempt.objects.filter(username="alice").exists()
    for _ in range(LIMIT - 1):
        ispyb_login(client, login="alice", password=WRONG)
    assert ispyb_login(client, login="alice", password=f.PASSWORD).status_code == 200
    assert not AccessAttempt.objects.filter(username="alice").exists()


def test_the_admin_lists_the_lockout_and_deleting_it_lifts_it(member, admin_user):
    from axes.models import AccessAttempt

    client = Client()
    fail(token_login, client)
    attempt = AccessAttempt.objects.get(username="alice")
    admin = Client()
    admin.force_login(admin_user)
    listing = admin.get("/admin/axes/accessattempt/?locked_out=yes")
    assert listing.status_code == 200 and "alice" in listing.content.decode()
    response = admin.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert token_login(client, f.PASSWORD).status_code == 200


def test_the_axes_reset_command_lifts_a_lockout(member):
    client = Client()
    fail(page_login, client)
    assert page_login(client, f.PASSWORD).status_code == 429
    call_command("axes_reset_username", "alice")
    assert page_login(client, f.PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(member):
    from axes.models import AccessAttempt

    client = Client()
    for _ in range(LIMIT):
        ispyb_login(client, login="alice", password=WRONG)
    assert_locked_out_json(ispyb_login(client, login="alice", password=f.PASSWORD))
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=31))
    assert ispyb_login(client, login="alice", password=f.PASSWORD).status_code == 200
