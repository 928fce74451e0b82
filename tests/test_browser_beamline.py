"""The sample changer page in a real browser, driven as a keyboard-wedge scanner drives it: the scanner types
a puck's code + Enter, then a position's label + Enter, into whatever has the focus. Then the sample page
tells the assignment in the sample's journey.

Drives Debian's Chromium through Playwright, as tests/test_browser.py does (its fixture is reused).
"""

import pytest

from lims.choices import FacilityRole
from samples.models import Container
from tests import factories as f
from tests.test_browser import chromium, screenshot, sign_in  # noqa: F401 (the fixture)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_scan_a_puck_into_the_changer_then_read_the_journey(chromium, live_server):  # noqa: F811
    from playwright.sync_api import expect

    proposal = f.ProposalFactory(code="mx", number="2345", title="Alice's kinases")
    shipment = f.at_facility(f.shipment_tree(proposal=proposal, name="Alice-1", samples=3))
    Container.objects.filter(shipment=shipment).update(barcode="UP0001")
    puck = Container.objects.get(shipment=shipment)
    sample = puck.samples.order_by("position").first()
    f.BeamlineFactory(
        name="MX-3", sample_changer_model="ISARA", puck_positions=29, accepted_container_types=["unipuck"]
    )
    f.UserFactory(username="blstaff", groups=[FacilityRole.BEAMLINE_STAFF])

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("blstaff")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/beamlines/MX-3/")

    puck_input = page.locator("#id_puck")
    expect(puck_input).to_be_focused()
    expect(page.locator("#slot-7")).to_contain_text("empty")

    # A click on the page does not lose the scanner's focus.
    page.locator("h1").click()
    expect(puck_input).to_be_focused()

    # The scanner: the puck's code + Enter; the page waits for the position.
    page.keyboard.type("UP0001")
    page.keyboard.press("Enter")
    expect(page.locator("#assign-feedback")).to_contain_text("Puck UP0001: now scan the position")
    expect(page.locator("#id_position")).to_be_focused()

    # The position's label + Enter: the puck is in the picture.
    page.keyboard.type("MX-3:07")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("UP0001 is in MX-3:07.")
    tile = page.locator("#slot-7")
    expect(tile).to_contain_text("UP0001")
    expect(tile).to_contain_text("mx2345")
    expect(tile).to_contain_text("3 samples")
    expect(page.locator("#id_puck")).to_be_focused()
    screenshot(page, "changer")

    puck.refresh_from_db()
    assert puck.changer_position == 7

    # The puck's page links the sample's page, where the journey tells the assignment.
    tile.get_by_role("link", name="UP0001").click()
    page.get_by_role("link", name=sample.name).click()
    expect(page.locator("#where-now")).to_contain_text("MX-3:07")
    expect(page.locator("#journey-assignments")).to_contain_text("Into MX-3:07")
    expect(page.get_by_role("heading", name="Data collections")).to_be_visible()
    screenshot(page, "sample-journey")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_after_a_refusal_the_scans_clear_and_the_next_puck_goes_to_the_puck_field(chromium, live_server):  # noqa: F811
    """A refused position (the changer has no position 99) leaves both fields empty with the focus on the puck,
    so the next scans (a puck, then a position) make a clean assignment, not "UP0001MX-3:99"."""
    from playwright.sync_api import expect

    proposal = f.ProposalFactory(code="mx", number="2346")
    shipment = f.at_facility(f.shipment_tree(proposal=proposal, name="Bob-1", samples=2))
    Container.objects.filter(shipment=shipment).update(barcode="UP0002")
    f.BeamlineFactory(
        name="MX-3", sample_changer_model="ISARA", puck_positions=29, accepted_container_types=["unipuck"]
    )
    f.UserFactory(username="blstaff", groups=[FacilityRole.BEAMLINE_STAFF])

    page = sign_in(chromium, live_server, "blstaff")
    page.goto(f"{live_server.url}/beamlines/MX-3/")

    for code in ("UP0002", "MX-3:99"):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    expect(page.locator("#position-errors")).to_be_visible()
    expect(page.locator("#assign-feedback")).to_contain_text("Not done: UP0002 → MX-3:99")
    expect(page.locator("#id_puck")).to_have_value("")
    expect(page.locator("#id_position")).to_have_value("")
    expect(page.locator("#id_puck")).to_be_focused()
    screenshot(page, "changer-refused")

    for code in ("UP0002", "MX-3:09"):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("UP0002 is in MX-3:09.")
    assert Container.objects.get(barcode="UP0002").changer_position == 9
