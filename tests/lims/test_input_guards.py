"""Input built to crash a worker is bad input: too deep a JSON nesting and an oversized body answer 400/413 in
the API's error shape on every endpoint (anonymous ones included), never a 500 or Django's HTML page."""

import json
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from lims.api import parsers

NESTED = "[" * 100_000
API_PREFIXES = ("api/v1/", "ispyb/api/v1/")


def api_paths() -> list[str]:
    """Every URL of the two APIs, with 1 for each id in it."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            route = str(p.pattern).lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
            route = re.sub(r"\(\?P<\w+>[^)]*\)|<(\w+:)?\w+>", "1", route)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern) and (prefix + route).startswith(API_PREFIXES):
                found.append("/" + prefix + route)

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


def client_for(user) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def assert_json_error(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"] and body["code"]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", [None, "admin_user", "member"])
def test_deeply_nested_json_is_never_a_server_error(request, persona):
    client = client_for(request.getfixturevalue(persona) if persona else None)
    paths = api_paths()
    assert {"/api/v1/auth/token/", "/api/v1/shipments/", "/ispyb/api/v1/auth/login"} <= set(paths)
    for path in paths:
        for method in (client.post, client.put, client.patch):
            response = method(path, NESTED, content_type="application/json")
            assert response.status_code < 500, (path, response.status_code, response.content[:200])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/auth/token/", "/api/v1/shipments/", "/api/v1/lab-contacts/", "/api/v1/barcodes/check/"]
)
def test_deeply_nested_json_answers_400_in_the_error_shape(member, path):
    for client in (client_for(None), client_for(member)):
        response = client.post(path, NESTED, content_type="application/json")
        if path.startswith("/api/") and client is not None and response.status_code == 401:
            continue  # anonymous on an endpoint that needs a login: refused before the body is read
        assert_json_error(response, 400)
        assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_the_ispyb_api_refuses_deep_json_without_orjson_too(monkeypatch):
    # orjson refuses deep nesting itself; the standard library's parser (the fallback) raises RecursionError,
    # which the shared loader must turn into bad JSON as well.
    monkeypatch.setattr(parsers, "_loads", json.loads)
    response = client_for(None).post("/ispyb/api/v1/auth/login", NESTED, content_type="application/json")
    assert_json_error(response, 400)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/api/v1/shipments/", "/ispyb/api/v1/auth/login"])
@pytest.mark.parametrize("kind", ["json", "form"])
def test_an_oversized_body_answers_413_in_the_error_shape(settings, member, path, kind):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = "x" * 20_000
    for client in (client_for(None), client_for(member)):
        if kind == "json":
            response = client.post(path, json.dumps({"name": big}), content_type="application/json")
        else:
            response = client.post(path, {"name": big})
        if response.status_code == 401:
            continue  # anonymous where a login is needed: refused before the body is read
        assert_json_error(response, 413)
        assert response.json()["code"] == "too_large" and "MB" in response.json()["detail"]


@pytest.mark.django_db
def test_too_many_fields_answers_400_in_the_error_shape(settings, member):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = client_for(member).post("/api/v1/shipments/", {f"f{i}": "x" for i in range(20)})
    assert_json_error(response, 400)
    assert response.json()["code"] == "too_many_fields"
