"""One walk through the pages in a real browser: sign in, register a shipment with a dewar, a puck and three
samples through the form (its JavaScript included), mark it as sent.

Drives Debian's Chromium (installed by `make test`) through Playwright; no browser is ever downloaded.
Set SCREENSHOT_DIR to keep screenshots of the form and the shipment page (outside the repository).
"""

import os
from pathlib import Path

import pytest
from django.db import connections

from tests import factories as f

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("SKIP_BROWSER_TESTS") == "1":
            pytest.skip(f"{CHROMIUM} is missing and SKIP_BROWSER_TESTS=1")
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs it (or set SKIP_BROWSER_TESTS=1).")
    # Playwright's sync API runs an event loop in this thread; Django would refuse its ORM calls otherwise.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # ORM calls made while Playwright's loop ran opened a connection of their own context; close
            # it here, or PostgreSQL refuses to drop the test database at the end of the run.
            connections.close_all()


def sign_in(chromium, live_server, username: str, *, width: int = 1280, height: int = 900):  # noqa: F811
    """A new page of ``chromium`` at that size, signed in as ``username`` (password ``f.PASSWORD``)."""
    page = chromium.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def screenshot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_register_and_send_a_shipment(chromium, live_server):
    from playwright.sync_api import expect

    proposal = f.ProposalFactory(code="mx", number="2345", title="Alice's kinases")
    alice = f.UserFactory(username="alice")
    f.ProposalMemberFactory(proposal=proposal, user=alice)
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("link", name="New shipment").click()
    page.get_by_label("Shipment name").fill("Browser-1")
    # No card yet: "new card" is chosen and its fields are shown; the return goes to the same card.
    expect(page.locator('[data-card-for="sending_contact"]')).to_be_visible()
    page.locator("#id_sc-card_name").fill("Bench 4")
    page.locator("#id_sc-name").fill("Alice Liddell")
    page.locator("#id_sc-telephone").fill("+33 4 76 00 00 01")
    page.locator("#id_sc-email").fill("alice@lab.org")
    page.locator("#id_sc-lab_name").fill("Kinase lab")
    page.locator("#id_sc-address").fill("1 Lab Road\nGrenoble")
    page.get_by_label("Return courier", exact=True).fill("DHL")

    dewar = page.locator("[data-dewar]").first
    dewar.get_by_label("Dewar name").fill("Dewar-A")
    puck = dewar.locator("[data-puck]").first
    puck.get_by_label("Puck name").fill("Puck-A")
    # The grid follows the puck type: a SPINE puck has 10 positions.
    puck.get_by_label("Type", exact=True).select_option("spine")
    expect(puck.locator("tbody.pos")).to_have_count(10)
    # A second puck appears with its own grid, and goes again.
    dewar.get_by_role("button", name="+ Add puck").click()
    expect(dewar.locator("[data-puck]")).to_have_count(2)
    expect(dewar.locator("[data-puck]").nth(1).locator("tbody.pos")).to_have_count(16)
    dewar.locator("[data-puck]").nth(1).get_by_role("button", name="Remove puck").click()
    expect(dewar.locator("[data-puck]")).to_have_count(1)

    for position, name in ((1, "lys-01"), (2, "lys-02"), (3, "thau-01")):
        row = puck.locator(f'tbody.pos[data-position="{position}"]')
        row.get_by_label("Sample name", exact=True).fill(name)
        row.get_by_label("Protein acronym", exact=True).fill("THAU" if name.startswith("thau") else "LYS")
    row = puck.locator('tbody.pos[data-position="1"]')
    row.get_by_label("Space group", exact=True).fill("P43212")
    row.get_by_role("button", name="⋯").click()
    row.get_by_label("Aimed multiplicity").fill("7")
    screenshot(page, "shipment-form")

    page.get_by_role("button", name="Save shipment").click()
    expect(page.get_by_text("Shipment Browser-1 saved.")).to_be_visible()
    expect(page.locator("#shipment-status")).to_have_text("Draft")
    expect(page.get_by_role("cell", name="thau-01")).to_be_visible()

    page.get_by_role("button", name="Mark as sent").click()
    expect(page.locator("#shipment-status")).to_have_text("Sent to facility")
    screenshot(page, "shipment-page")
