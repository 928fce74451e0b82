"""The Content-Security-Policy header (django-csp) on every response, and pages with no inline code for it to
block. tests/test_browser_csp.py runs the main pages in a browser under it."""

import importlib.util
import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import config
from samples.models import Container, Sample
from tests import factories as f

pytestmark = pytest.mark.django_db

# A value for each kind of URL parameter: real objects where the name tells which, "1" otherwise. Whatever the
# answer (a page, a 404, a 405, a redirect to the login), it carries the header.
PARAMETER_VALUES = {"name": "MX-3", "fmt": "xlsx", "kind": "pins", "app_label": "shipping"}


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def concrete(route: str) -> str:
    """A URL matching ``route`` (path converters and router regexes alike)."""
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: PARAMETER_VALUES.get(m.group(1), "1"), route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: PARAMETER_VALUES.get(m.group(1), "1"), route)
    return "/" + route.replace("^", "").replace("$", "").replace("\\", "")


ROUTES = sorted(set(walk(get_resolver().url_patterns)))


def directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_strict_policy(response, url):
    header = response.get("Content-Security-Policy")
    assert header, f"{url} ({response.status_code}) has no Content-Security-Policy header"
    policy = directives(header)
    assert policy["default-src"] == ["'self'"]
    script_src = policy.get("script-src", policy["default-src"])
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, (url, header)
    assert "'unsafe-inline'" not in policy["style-src"], (url, header)
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
    assert "*" not in " ".join(policy.get("img-src", [])), (url, header)


@pytest.fixture
def world(proposal, member, admin_user, isara, lab_contact):
    """One of each thing the pages show, by the value its pages' URLs hold."""
    shipment = f.at_facility(f.shipment_tree(proposal=proposal, user=member, samples=2, name="Alice-1"))
    sample = Sample.objects.filter(container__shipment=shipment).first()
    session = f.SessionFactory(proposal=proposal, beamline=isara)
    collection = f.collection(f.collection_group(proposal=proposal, beamline=isara, sample=sample, session=session))
    # What goes in the pages' URLs
    return {
        "proposal": proposal.pk,
        "lab_contact": lab_contact.pk,
        "shipment": shipment.pk,
        "dewar": shipment.dewars.get().pk,
        "container": Container.objects.get(shipment=shipment).pk,
        "sample": sample.pk,
        "session": session.pk,
        "collection": collection.pk,
        "beamline": isara.name,
    }


@pytest.mark.parametrize("as_admin", [True, False], ids=["admin", "anonymous"])
def test_every_route_answers_with_the_policy(client, world, admin_user, as_admin):
    if as_admin:
        client.force_login(admin_user)
    for route in ROUTES:
        url = concrete(route)
        assert_strict_policy(client.get(url), url)


# The HTML pages, each with a real object: (url name, the object in its URL, or None)
PAGES = [
    ("dashboard", None),
    ("login", None),
    ("lab_contact_list", "proposal"),
    ("lab_contact_create", "proposal"),
    ("lab_contact_edit", "lab_contact"),
    ("barcode_decode", None),
    ("shipping:create", "proposal"),
    ("shipping:detail", "shipment"),
    ("shipping:edit", "shipment"),
    ("shipping:sheet_import", "shipment"),
    ("shipping:dewar", "dewar"),
    ("shipping:where", None),
    ("stores:dashboard", None),
    ("stores:scan", None),
    ("samples:container", "container"),
    ("beamline:list", None),
    ("beamline:changer", "beamline"),
    ("beamline:session", "session"),
    ("beamline:sample", "sample"),
    ("data:catalogue", None),
    ("data:collection", "collection"),
    ("data:cart", None),
    ("mailin:queue", None),
    ("api:docs", None),
    ("api:api-root", None),
    ("admin:index", None),
    ("admin:shipping_shipment_change", "shipment"),
]
INLINE_CODE = {
    "inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    "event handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"""=\s*["']?\s*javascript:""", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
}


@pytest.mark.parametrize(("name", "obj"), PAGES, ids=[p[0] for p in PAGES])
def test_pages_carry_no_inline_code(client, world, admin_user, name, obj):
    if name != "login":
        client.force_login(admin_user)
    url = reverse(name, args=[] if obj is None else [world[obj]])

    response = client.get(url, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert_strict_policy(response, url)
    html = response.content.decode()
    found = {what: pattern.findall(html)[:3] for what, pattern in INLINE_CODE.items() if pattern.search(html)}
    if name == "api:api-root":  # DRF's browsable API: its templates write a few style="" (see lims.content_policy)
        found.pop("style attribute", None)
        assert directives(response["Content-Security-Policy"])["style-src-attr"] == ["'unsafe-inline'"]
    assert found == {}, f"{url}: {found}"


def load_settings(monkeypatch, **environ):
    """config/settings.py evaluated afresh under ``environ`` (the running settings are left alone)."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("fresh_settings", Path(config.__file__).parent / "settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_csp_report_only_sends_the_policy_without_enforcing_it(client, settings, monkeypatch):
    enforced = load_settings(monkeypatch)
    assert enforced.CONTENT_SECURITY_POLICY and not hasattr(enforced, "CONTENT_SECURITY_POLICY_REPORT_ONLY")

    trial = load_settings(monkeypatch, CSP_REPORT_ONLY="1", CSP_REPORT_URI="/csp-reports/")
    assert not hasattr(trial, "CONTENT_SECURITY_POLICY")
    settings.CONTENT_SECURITY_POLICY = None
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = trial.CONTENT_SECURITY_POLICY_REPORT_ONLY

    response = client.get(reverse("login"))

    assert "Content-Security-Policy" not in response
    policy = directives(response["Content-Security-Policy-Report-Only"])
    assert policy["script-src"] == ["'self'"] and policy["report-uri"] == ["/csp-reports/"]
