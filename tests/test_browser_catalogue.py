"""Where's my data in a real browser: Alice filters her collections by status, sorts them by best resolution,
goes to the next page and back, groups them by sample and opens one; its page shows the sample and the results.

Drives Debian's Chromium through Playwright, as tests/test_browser.py does (its fixture is reused).
"""

import datetime as dt

import pytest

from samples.data.choices import CollectionStatus, ExperimentType, Flag
from samples.data.models import ScreeningResult
from samples.models import Sample
from tests import factories as f
from tests.test_browser import chromium, screenshot  # noqa: F401 (the fixture)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_filter_sort_page_and_open_a_collection(chromium, live_server):  # noqa: F811
    from playwright.sync_api import expect

    proposal = f.ProposalFactory(code="mx", number="2345", title="Alice's kinases")
    alice = f.UserFactory(username="alice")
    f.ProposalMemberFactory(proposal=proposal, user=alice)
    shipment = f.shipment_tree(proposal=proposal, user=alice, samples=2, name="Alice-1")
    s1, s2 = Sample.objects.filter(container__shipment=shipment).order_by("position")
    mx3 = f.BeamlineFactory(name="MX-3")
    g1 = f.collection_group(proposal=proposal, beamline=mx3, sample=s1)
    g2 = f.collection_group(proposal=proposal, beamline=mx3, sample=s2, experiment_type=ExperimentType.SCREENING)
    t0 = dt.datetime(2025, 6, 1, 10, 0, tzinfo=dt.UTC)
    for i in range(60):
        f.collection(
            g1 if i % 2 else g2,
            start_time=t0 - dt.timedelta(minutes=i),
            best_resolution=1.0 + i / 10,
            status=CollectionStatus.FAILED if i % 3 == 0 else CollectionStatus.SUCCESSFUL,
            file_template=f"kin_{i:02d}_####.cbf",
        )
    best = f.collection(g1, start_time=t0 - dt.timedelta(days=1), best_resolution=0.9, file_template="kin_best.h5")
    ScreeningResult.objects.create(data_collection=best, program="EDNA", indexing_success=True, space_group="P1")

    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/data/")
    expect(page.locator("#result-count")).to_have_text("61 collections")

    # Filter: successful only, 25 a page.
    page.locator("#filters").get_by_label("Successful").check()
    page.locator("select[name=n]").select_option("25")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator("#result-count")).to_have_text("41 collections")
    assert "status=successful" in page.url

    # Sort by best resolution (best first), then the next page and back.
    page.locator('th a[data-column="best_resolution"]').click()
    expect(page.locator('th[aria-sort="ascending"]')).to_contain_text("Best res.")
    rows = page.locator("#catalogue-table tbody tr")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("kin_best.h5")
    page.locator("#next-page").click()
    expect(rows).to_have_count(16)
    expect(page.locator("#catalogue-table")).not_to_contain_text("kin_best.h5")
    page.locator("#previous-page").click()
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("kin_best.h5")
    screenshot(page, "catalogue")

    # Group by sample, then open the best collection from its row.
    page.locator("#group-toggle").click()
    expect(page.locator("tr.group-head").first).to_contain_text("Sample")
    page.goto(page.url)  # the URL holds the whole view: reloading shows the same
    expect(page.locator("tr.group-head").first).to_be_visible()
    page.locator("tr", has_text="kin_best.h5").locator("a.open").click()
    expect(page.locator("h1")).to_contain_text("kin_best.h5")
    expect(page.locator("#collection-sample")).to_contain_text(s1.name)
    expect(page.locator("#screenings")).to_contain_text("EDNA")
    screenshot(page, "collection")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_resolution_flags_and_tags_are_in_view_at_1280_px(chromium, live_server):  # noqa: F811
    """The columns people look for first need no sideways scrolling on a 1280 px screen."""
    from tests.test_browser import sign_in

    proposal = f.ProposalFactory(code="mx", number="2348")
    alice = f.UserFactory(username="alice")
    f.ProposalMemberFactory(proposal=proposal, user=alice)
    shipment = f.shipment_tree(proposal=proposal, user=alice, samples=1, name="Alice-2")
    sample = Sample.objects.get(container__shipment=shipment)
    group = f.collection_group(
        proposal=proposal,
        beamline=f.BeamlineFactory(name="MX-3"),
        sample=sample,
        experiment_type=ExperimentType.SCREENING,  # the longest type: "Screening (characterisation)"
    )
    collection = f.collection(
        group,
        best_resolution=1.25,
        file_template="a_rather_long_file_template_####.cbf",
        thumbnail_path="gone/thumb.png",
        tags=["ligand-soak"],
    )
    collection.flags = Flag.BAD
    collection.save(update_fields=["flags"])

    page = sign_in(chromium, live_server, "alice", width=1280, height=900)
    page.goto(f"{live_server.url}/data/")
    table = page.locator("#catalogue-table")
    for column in ("best_resolution", "flags", "tags"):
        box = table.locator(f'th[data-key="{column}"]').bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1280, (column, box)
    pill = table.locator("td .pill", has_text="ligand-soak").bounding_box()
    assert pill is not None and pill["x"] + pill["width"] <= 1280, pill
