"""OpenID Connect sign-in in a real browser (Debian's Chromium, through Playwright) against a real provider
process on loopback (``oidc-provider-mock``): the "Sign in with …" button beside the password form, the
provider's own authorization form, the way back; the account made at the first sign-in and found again at
the next with its facility roles set anew; a refusal at the provider; the button hidden when unconfigured
or turned off; a personal token made on the "API tokens" page logging in to MXCuBE's ISPyB-compatible login.

The settings are built from variables by ``lims.identity.oidc_settings.configure``, as production builds them
(tests/lims/test_oidc.py's ``use_oidc``).
"""

import pytest
import requests
from django.contrib.auth import get_user_model

from lims.choices import FacilityRole
from tests import factories as f
from tests.lims.test_oidc import ROLE_MAP, provider, use_oidc  # noqa: F401 (the provider fixture)
from tests.test_browser import chromium  # noqa: F401 (the fixture)
from tests.test_browser_csp import watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUTTON = "Sign in with Umbrella ID"


@pytest.fixture
def oidc(settings, provider, live_server):  # noqa: F811
    """OIDC configured for the live server, a client registered at the provider for its callback."""
    client_id, secret = provider.register(f"{live_server.url}/oidc/callback/")
    values = {
        "OIDC_ISSUER": provider.url,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": secret,
        "OIDC_PROVIDER_NAME": "Umbrella ID",
        "OIDC_ROLE_MAP": ROLE_MAP,
    }
    use_oidc(settings, values)
    return values


def new_page(chromium):  # noqa: F811
    page = chromium.new_page(viewport={"width": 1280, "height": 900})  # a browser context of its own
    page.set_default_timeout(15_000)
    page.route("https://**/*", lambda route: route.abort())  # the provider's page asks a CDN for its CSS
    return page


def at_provider(page, live_server, *, next_path: str = ""):
    """The sign-in page, its button, and the provider's authorization form."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/login/" + (f"?next={next_path}" if next_path else ""))
    expect(page.get_by_label("User name")).to_be_visible()  # the password form is still there
    page.get_by_role("link", name=BUTTON).click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()


def sign_in_at_provider(page, live_server, sub: str, **kwargs) -> None:
    at_provider(page, live_server, **kwargs)
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def facility_roles(username: str) -> set[str]:
    user = get_user_model().objects.get(username=username)
    return set(user.groups.filter(name__in=FacilityRole.values).values_list("name", flat=True))


def test_first_and_next_sign_in_then_a_personal_token_for_mxcubes_login(chromium, live_server, provider, oidc):  # noqa: F811
    from playwright.sync_api import expect

    provider.set_user(
        "8c2d-ada",
        preferred_username="ada",
        email="ada@lab.example",
        given_name="Ada",
        family_name="Lovelace",
        groups=["mx-staff", "mx-stores", "physics-dept"],
    )
    page = new_page(chromium)
    problems = watch(page)
    sign_in_at_provider(page, live_server, "8c2d-ada", next_path="/account/tokens/")
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()  # back where the person was going
    expect(page.locator(".who-name")).to_have_text("Ada Lovelace")
    ada = get_user_model().objects.get(username="ada")
    assert (ada.email, ada.has_usable_password()) == ("ada@lab.example", False)
    assert facility_roles("ada") == {FacilityRole.BEAMLINE_STAFF, FacilityRole.STORES}

    # Ada has no password here: a personal token is her way to MXCuBE's login.
    page.get_by_role("button", name="New token").click()
    key = page.locator("#new-token-key").input_value()
    assert key.startswith("limsp_")
    expect(page.locator("#tokens tbody tr")).to_have_count(1)
    root = f"{live_server.url}/ispyb/api/v1"
    login = requests.post(f"{root}/auth/login", json={"plugin": "lims", "login": "ada", "token": key}, timeout=30)
    assert login.status_code == 200, login.text
    me = requests.get(f"{root}/user/current", headers={"Authorization": f"Bearer {login.json()['token']}"}, timeout=30)
    assert me.status_code == 200 and "Lovelace" in me.text
    refused = requests.post(f"{root}/auth/login", json={"plugin": "lims", "login": "ada", "token": "x"}, timeout=30)
    assert refused.status_code == 401
    assert problems == []  # no script blocked by the pages' Content-Security-Policy
    page.context.close()

    # The next sign-in (another browser): the same account, its roles as the groups now say.
    provider.set_user("8c2d-ada", preferred_username="ada", email="ada@lab.example", groups=["mx-staff"])
    page = new_page(chromium)
    sign_in_at_provider(page, live_server, "8c2d-ada")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert get_user_model().objects.filter(username="ada").count() == 1
    assert facility_roles("ada") == {FacilityRole.BEAMLINE_STAFF}
    page.context.close()


def test_a_refusal_at_the_provider_and_the_password_form_beside_the_button(chromium, live_server, oidc):  # noqa: F811
    from playwright.sync_api import expect

    page = new_page(chromium)
    at_provider(page, live_server)
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_text("The sign-in with Umbrella ID was cancelled or refused")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert not get_user_model().objects.exists()

    f.UserFactory(username="alice")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.context.close()


def test_no_button_when_unconfigured_or_turned_off(chromium, live_server, settings, provider):  # noqa: F811
    from playwright.sync_api import expect

    page = new_page(chromium)
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in with")).to_have_count(0)

    values = {"OIDC_ISSUER": provider.url, "OIDC_CLIENT_ID": "lims", "OIDC_CLIENT_SECRET": "s", "OIDC_BUTTON": "0"}
    use_oidc(settings, values)
    page.reload()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in with")).to_have_count(0)

    use_oidc(settings, {**values, "OIDC_BUTTON": "1"})
    page.reload()
    expect(page.get_by_role("link", name=f"Sign in with {settings.FACILITY_NAME}")).to_be_visible()
    page.context.close()
