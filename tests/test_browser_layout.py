"""Layout in a real browser: what must fit the screens the facility's people use (a 1024 px tablet)."""

import pytest

from lims.choices import FacilityRole
from tests import factories as f
from tests.test_browser import chromium, screenshot  # noqa: F401 (the fixture)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_staff_navigation_fits_one_row_at_1024_px_and_its_groups_open(chromium, live_server):  # noqa: F811
    from playwright.sync_api import expect

    f.UserFactory(username="everyone", first_name="Maximilian", last_name="Oppenheimer-Schwarz",
                  groups=[FacilityRole.ADMIN, FacilityRole.STORES, FacilityRole.BEAMLINE_STAFF,
                          FacilityRole.MAILIN_OPERATOR])  # fmt: skip
    page = chromium.new_page(viewport={"width": 1024, "height": 768})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("everyone")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    screenshot(page, "nav-1024")
    items = page.locator(".topnav > *")
    boxes = [items.nth(i).bounding_box() for i in range(items.count())]
    middles = [box["y"] + box["height"] / 2 for box in boxes]
    assert max(middles) - min(middles) < 10, f"the navigation wraps: item middles at {middles}"

    page.locator("#nav-facility summary").click()
    menu = page.locator("#nav-facility .navmenu")
    for name in ("Stores", "Scan station", "Beamlines", "Mail-in queue"):
        expect(menu.get_by_role("link", name=name)).to_be_visible()
    menu.get_by_role("link", name="Beamlines").click()
    expect(page.locator("h1")).to_contain_text("Beamlines")

    page.locator("#nav-account summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("User name")).to_be_visible()
