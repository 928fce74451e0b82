"""Layout in a real browser: what must fit the screens the facility's people use (a 1024 px tablet)."""

import pytest

from lims.choices import FacilityRole
from tests import factories as f
from tests.test_browser import chromium, screenshot, sign_in  # noqa: F401 (the fixture)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_staff_navigation_fits_one_row_at_1024_px_and_its_groups_open(chromium, live_server):  # noqa: F811
    from playwright.sync_api import expect

    f.UserFactory(username="everyone", first_name="Maximilian", last_name="Oppenheimer-Schwarz",
                  groups=[FacilityRole.ADMIN, FacilityRole.STORES, FacilityRole.BEAMLINE_STAFF,
                          FacilityRole.MAILIN_OPERATOR])  # fmt: skip
    page = sign_in(chromium, live_server, "everyone", width=1024, height=768)

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


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_wide_table_is_reachable_and_scrolls_by_keyboard(chromium, live_server):  # noqa: F811
    """On a narrow screen the shipment's sample table scrolls sideways: Tab reaches it, the arrows scroll it."""
    from playwright.sync_api import expect

    from samples.models import Sample

    proposal = f.ProposalFactory(code="mx", number="2347")
    alice = f.UserFactory(username="alice")
    f.ProposalMemberFactory(proposal=proposal, user=alice)
    shipment = f.shipment_tree(proposal=proposal, user=alice, name="Wide-1", samples=2)
    Sample.objects.filter(container__shipment=shipment).update(
        smiles="C" * 120, comments="A long comment that makes the row wide " * 3
    )
    page = sign_in(chromium, live_server, "alice", width=700, height=800)
    page.goto(f"{live_server.url}/shipments/{shipment.pk}/")

    # The widest of the scrolling tables (the samples' plan and comments make it wide).
    wide = page.locator(".table-wrap[tabindex='0']")
    expect(wide.first).to_have_attribute("role", "region")
    overflow = wide.evaluate_all("els => els.map(el => el.scrollWidth - el.clientWidth)")
    table = wide.nth(overflow.index(max(overflow)))
    table.focus()
    expect(table).to_be_focused()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    # Chromium scrolls smoothly: wait for the scroll rather than read it at once.
    page.wait_for_function("el => el.scrollLeft > 0", arg=table.element_handle(), timeout=5_000)
