"""The main pages in a real browser under the site's Content-Security-Policy: each answers with the header, its
scripts run (each page is driven far enough to show it), and the browser reports no violation: no "Refused to
execute inline script", no securitypolicyviolation event, no uncaught script error.

Drives Debian's Chromium through Playwright, as tests/test_browser.py does (its fixture is reused).
"""

import re

import pytest

from lims.barcodes import datamatrix
from samples.models import Container, Sample
from shipping.services import shipment_send
from tests import factories as f
from tests.test_browser import chromium  # noqa: F401 (the fixture)

# Every violation the page sees, whoever caused it, reaches the console with this prefix (see watch()).
EVENT_PREFIX = "securitypolicyviolation:"
REPORT_VIOLATIONS = f"""
document.addEventListener("securitypolicyviolation", (e) => {{
  console.error("{EVENT_PREFIX} " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline") +
                " in " + e.sourceFile + ":" + e.lineNumber);
}});
"""


def watch(page) -> list[str]:
    """The CSP violations and script errors of ``page`` from now on, as the browser tells them."""
    problems = []
    # Init scripts are injected by the browser itself (DevTools protocol), so the policy does not block them.
    page.add_init_script(REPORT_VIOLATIONS)

    def on_console(message):
        text = message.text
        if text.startswith(EVENT_PREFIX) or "Content Security Policy" in text or text.startswith("Refused to"):
            problems.append(f"{page.url}: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: script error: {error}"))
    return problems


def policy_problem(response) -> str | None:
    """What is wrong with the page's Content-Security-Policy header, or None."""
    header = response.header_value("content-security-policy")
    if not header:
        return f"{response.url}: no Content-Security-Policy header"
    directives = {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}
    script_src = directives.get("script-src", directives.get("default-src", []))
    if "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src:
        return f"{response.url}: script-src allows inline code: {header}"
    return None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_main_pages_run_under_the_content_security_policy(chromium, live_server, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    proposal = f.ProposalFactory(code="mx", number="2345", title="Alice's kinases")
    admin = f.UserFactory(username="admin", is_staff=True, is_superuser=True, groups=["admin"])
    f.ProposalMemberFactory(proposal=proposal, user=admin)
    at_facility = f.at_facility(f.shipment_tree(proposal=proposal, user=admin, samples=3, name="Alice-1"))
    Container.objects.filter(shipment=at_facility).update(barcode="UP0001")
    sent = f.shipment_tree(proposal=proposal, user=admin, name="Alice-2")
    shipment_send(shipment=sent, user=admin)
    dewar = sent.dewars.get()
    mx3 = f.BeamlineFactory(
        name="MX-3", sample_changer_model="ISARA", puck_positions=29, accepted_container_types=["unipuck"]
    )
    sample = Sample.objects.filter(container__shipment=at_facility).order_by("position").first()
    f.collection(f.collection_group(proposal=proposal, beamline=mx3, sample=sample), file_template="kin_####.cbf")
    photo = tmp_path / "pin.png"
    photo.write_bytes(datamatrix.png("ABC1234567"))

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    problems = watch(page)

    def visit(path: str):
        response = page.goto(f"{live_server.url}{path}")
        problem = policy_problem(response)
        if problem:
            problems.append(problem)
        return response

    try:
        visit("/login/")
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill(f.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        visit("/")

        # The shipment form: its script builds the puck grids from <template>s.
        visit(f"/shipments/new/{proposal.pk}/")
        puck = page.locator("[data-dewar] [data-puck]").first
        puck.get_by_label("Type", exact=True).select_option("spine")
        expect(puck.locator("tbody.pos")).to_have_count(10)
        page.locator("[data-dewar]").first.get_by_role("button", name="+ Add puck").click()
        expect(page.locator("[data-dewar] [data-puck]")).to_have_count(2)

        # The scan station: the scanner types a dewar's code and Enter; the script asks the API and shows the card.
        visit("/stores/scan/")
        expect(page.locator("#scan-input")).to_be_focused()
        page.keyboard.type(dewar.barcode)
        page.keyboard.press("Enter")
        expect(page.locator("#card-barcode")).to_have_text(dewar.barcode)

        # The sample changer: a puck's code + Enter, and the script waits for the position.
        visit("/beamlines/MX-3/")
        expect(page.locator("#id_puck")).to_be_focused()
        page.keyboard.type("UP0001")
        page.keyboard.press("Enter")
        expect(page.locator("#assign-feedback")).to_contain_text("Puck UP0001: now scan the position")

        # The catalogue and the cart.
        visit("/data/")
        expect(page.locator("#result-count")).to_have_text("1 collection")
        page.locator("[data-select-all]").check()
        expect(page.locator('input[name="ids"]').first).to_be_checked()
        visit("/data/cart/")

        # The decode page: a photo (the phone's camera gives a file too), shown back as a data: image under the marks.
        visit("/barcodes/decode/")
        page.locator("#id_image").set_input_files(str(photo))
        page.get_by_role("button", name="Decode").click()
        expect(page.locator(".decode-codes")).to_contain_text("ABC1234567")
        expect(page.locator(".decode-photo image")).to_have_attribute("href", re.compile(r"^data:image/jpeg;base64,"))

        # The puck page (its diagram's styles), the API docs (Swagger UI from the sidecar assets) and the admin.
        visit(f"/pucks/{Container.objects.get(barcode='UP0001').pk}/")
        visit("/api/v1/docs/")
        operation = page.locator(".opblock").first
        expect(operation).to_be_visible()
        operation.locator(".opblock-summary").click()
        expect(operation.locator(".opblock-body")).to_be_visible()
        visit("/api/v1/shipments/")  # the browsable API
        expect(page.locator(".response-info")).to_contain_text("Alice-1")
        visit("/admin/")
        visit(f"/admin/shipping/shipment/{sent.pk}/change/")
        expect(page.locator("#shipment_form")).to_be_visible()

    except AssertionError as failure:
        # A script the policy blocked usually shows first as a page that does not work: say what was blocked.
        raise AssertionError(f"{failure}\nCSP problems seen so far:\n" + "\n".join(problems)) from None

    assert problems == [], "\n".join(problems)
