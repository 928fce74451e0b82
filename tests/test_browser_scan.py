"""The scan station in a real browser, driven as a keyboard-wedge scanner drives it: the scanner types the
code into whatever has the focus and presses Enter. Receive a dewar, move it to a beamline by scanning the
location, then read the steps on the dewar page.

Drives Debian's Chromium through Playwright, as tests/test_browser.py does (its fixture is reused).
"""

import pytest
from django.utils import timezone

from lims.choices import FacilityRole
from shipping.choices import DewarStatus, LocationKind
from shipping.models import Dewar
from shipping.services import shipment_send
from tests import factories as f
from tests.test_browser import chromium, screenshot  # noqa: F401 (the fixture)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_scan_a_dewar_in_then_to_a_beamline(chromium, live_server):  # noqa: F811
    from playwright.sync_api import expect

    proposal = f.ProposalFactory(code="mx", number="2345", title="Alice's kinases")
    alice = f.UserFactory(username="alice")
    f.ProposalMemberFactory(proposal=proposal, user=alice)
    shipment = f.shipment_tree(proposal=proposal, user=alice, name="Scan-1")
    shipment_send(shipment=shipment, user=alice)
    dewar = shipment.dewars.get()
    session = f.SessionFactory(proposal=proposal)
    Dewar.objects.filter(pk=dewar.pk).update(session=session)
    f.LocationFactory(name="Stores", kind=LocationKind.STORES, barcode="LOC-STORES")
    f.LocationFactory(name="Beamline MX-3", kind=LocationKind.BEAMLINE, barcode="LOC-MX-3")
    f.UserFactory(username="stores", groups=["stores"])

    page = chromium.new_page(viewport={"width": 1024, "height": 768})  # a tablet
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("stores")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#nav-facility summary").click()  # the facility's pages are grouped in the top bar
    page.get_by_role("link", name="Scan station").click()

    scan_input = page.locator("#scan-input")
    expect(scan_input).to_be_focused()
    feedback = page.locator("#scan-feedback")

    # The scanner types the dewar's code and Enter: the card, and receiving offered.
    page.keyboard.type(dewar.barcode)
    page.keyboard.press("Enter")
    expect(page.locator("#card-barcode")).to_have_text(dewar.barcode)
    expect(page.locator("#card-proposal")).to_contain_text("mx2345")
    expect(page.locator("#card-shipment")).to_have_text("Scan-1")
    expect(page.locator("#card-safety")).to_have_text("Green")  # the label, as everywhere else
    expect(page.locator("#next-action")).to_have_text("Receive (Enter)")
    expect(scan_input).to_be_focused()
    # Times as everywhere else: the facility's zone, "2026-12-06 14:05".
    expect(page.locator("#card-session")).to_contain_text(f"{timezone.localtime(session.start):%Y-%m-%d %H:%M}")

    # Enter confirms.
    page.keyboard.press("Enter")
    expect(feedback).to_contain_text(f"{dewar.barcode} received at Stores")
    expect(feedback).to_have_attribute("data-state", "ok")
    expect(page.locator("#card-location")).to_have_text("Stores")
    # Just arrived: nothing is offered on Enter (least of all Dispatch); it waits for a location.
    expect(page.locator("#next-action")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(page.locator("#dispatch-form")).to_be_hidden()
    expect(page.locator("#recent-scans li").first).to_contain_text(f"{timezone.localtime():%H:}")

    # A click elsewhere does not lose the scanner's focus.
    page.locator("h1").click()
    expect(scan_input).to_be_focused()

    # The location's code moves it there.
    page.keyboard.type("loc-mx-3")
    page.keyboard.press("Enter")
    expect(feedback).to_contain_text(f"{dewar.barcode} moved to Beamline MX-3")
    expect(page.locator("#card-status")).to_have_text("At beamline / processing")
    expect(page.locator("#recent-scans li")).to_have_count(2)

    # An unknown code: amber, and nothing changes.
    page.keyboard.type("DS999999")
    page.keyboard.press("Enter")
    expect(feedback).to_have_attribute("data-state", "unknown")
    expect(feedback).to_contain_text("No dewar has the barcode DS999999")
    # ... and the dewar scanned before is disarmed: Enter does not open Dispatch for it.
    expect(page.locator("#scan-card")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(page.locator("#dispatch-form")).to_be_hidden()
    screenshot(page, "scan-station")

    # The recent scans come back from the server after a reload.
    page.reload()
    expect(page.locator("#recent-scans li")).to_have_count(2)

    assert Dewar.objects.get(pk=dewar.pk).status == DewarStatus.AT_BEAMLINE
    page.goto(f"{live_server.url}/shipments/dewars/{dewar.pk}/")
    timeline = page.locator("#timeline")
    expect(timeline.locator("tr.event")).to_have_count(3)  # sent, received, moved
    expect(timeline).to_contain_text("Beamline MX-3")
    expect(timeline).to_contain_text("Stores")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_dispatch_refused_for_a_loaded_puck_offers_unload_and_dispatch(chromium, live_server):  # noqa: F811
    from playwright.sync_api import expect

    from samples.models import Container
    from samples.services import container_assign

    proposal = f.ProposalFactory(code="mx", number="2345")
    shipment = f.at_facility(f.shipment_tree(proposal=proposal, name="Scan-2"))
    dewar = shipment.dewars.get()
    isara = f.BeamlineFactory(name="MX-3", accepted_container_types=["unipuck"])
    staff = f.UserFactory(username="blstaff", groups=[FacilityRole.BEAMLINE_STAFF])
    puck = shipment.containers.get()
    container_assign(container=puck, beamline=isara, position=7, user=staff)

    page = chromium.new_page(viewport={"width": 1024, "height": 768})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("blstaff")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/stores/scan/")
    feedback = page.locator("#scan-feedback")
    expect(page.locator("#scan-input")).to_be_focused()

    page.keyboard.type(dewar.barcode)
    page.keyboard.press("Enter")
    expect(page.locator("#next-action")).to_have_text("Dispatch (Enter)")
    page.keyboard.press("Enter")
    page.locator("#dispatch-courier").fill("DHL")
    page.locator("#dispatch-tracking").fill("1234")
    page.locator("#dispatch-form").get_by_role("button", name="Dispatch").click()

    expect(feedback).to_have_attribute("data-state", "refused")
    expect(feedback).to_contain_text("MX-3:07")
    page.get_by_role("button", name="Unload and dispatch").click()
    expect(feedback).to_have_attribute("data-state", "ok")
    expect(feedback).to_contain_text("Unloaded")
    expect(page.locator("#card-status")).to_have_text("In transit to user")

    assert Dewar.objects.get(pk=dewar.pk).status == DewarStatus.IN_TRANSIT_TO_USER
    assert Container.objects.get(pk=puck.pk).beamline_id is None
