"""Pictures where people would rather look than read, in a real browser: thumbnails in "Where's my data?" and on
a collection's page, a session's plot of best resolution per sample, and a dewar's route as a timeline.

Drives Debian's Chromium through Playwright, as tests/test_browser.py does (its fixture is reused). The images
are real PNG and JPEG files under a temporary DATA_ROOT; what the browser decoded is read back from the page
(``naturalWidth``), and the plots' geometry from the SVG the browser laid out.
"""

import datetime as dt
from io import BytesIO

import pytest
from django.utils import timezone
from PIL import Image

from samples.data.choices import ExperimentType
from samples.models import Sample
from shipping.choices import LocationKind
from shipping.models import Dewar, DewarEvent
from shipping.services import dewar_dispatch, dewar_incident, dewar_move, dewar_note
from tests import factories as f
from tests.test_browser import chromium, screenshot, sign_in  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _picture(path, size, kind="PNG", colour=(40, 90, 160)) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    path.write_bytes(out.getvalue())
    return str(path)


def _natural_width(page, selector: str) -> int:
    return page.eval_on_selector(selector, "img => img.complete ? img.naturalWidth : -1")


def test_thumbnails_in_the_catalogue_rows_and_on_the_collection_page(chromium, live_server, settings, tmp_path):  # noqa: F811
    settings.DATA_ROOT = str(tmp_path)
    proposal = f.ProposalFactory(code="mx", number="2345")
    alice = f.UserFactory(username="alice")
    f.ProposalMemberFactory(proposal=proposal, user=alice)
    group = f.collection_group(proposal=proposal, beamline=f.BeamlineFactory(name="MX-3"))
    shown = f.collection(
        group,
        file_template="shown_####.cbf",
        thumbnail_path=_picture(tmp_path / "a" / "shown_thumb.png", (96, 96)),
        snapshot_path=_picture(tmp_path / "a" / "shown_snapshot.jpg", (160, 120), "JPEG"),
    )
    gone = f.collection(group, file_template="gone_####.cbf", thumbnail_path=str(tmp_path / "a" / "gone.png"))
    none = f.collection(group, file_template="none_####.cbf")

    page = sign_in(chromium, live_server, "alice", width=1280, height=900)
    page.goto(f"{live_server.url}/data/")
    page.wait_for_load_state("networkidle")
    row = f'#catalogue-table tr[data-id="{shown.pk}"]'
    assert _natural_width(page, f"{row} img.thumb") == 96  # the file itself, decoded by the browser
    # A thumbnail whose file has gone is hidden, not a broken picture; a collection without one has none.
    assert page.is_hidden(f'#catalogue-table tr[data-id="{gone.pk}"] img.thumb')
    assert page.locator(f'#catalogue-table tr[data-id="{none.pk}"] img').count() == 0
    screenshot(page, "catalogue-thumbnails")

    page.click(f"{row} td.thumb-cell a")
    page.wait_for_url(f"**/data/{shown.pk}/")
    page.wait_for_load_state("networkidle")
    assert _natural_width(page, "#images figure:nth-of-type(1) img") == 96
    assert _natural_width(page, "#images figure:nth-of-type(2) img") == 160
    screenshot(page, "collection-pictures")


def test_a_session_plots_the_best_resolution_of_each_sample(chromium, live_server):  # noqa: F811
    proposal = f.ProposalFactory(code="mx", number="2345")
    alice = f.UserFactory(username="alice")
    f.ProposalMemberFactory(proposal=proposal, user=alice)
    mx3 = f.BeamlineFactory(name="MX-3")
    start = timezone.now() - dt.timedelta(days=3)
    session = f.SessionFactory(proposal=proposal, beamline=mx3, start=start, end=start + dt.timedelta(hours=24))
    shipment = f.shipment_tree(proposal=proposal, user=alice, samples=3, name="S")
    first, second, third = Sample.objects.filter(container__shipment=shipment).order_by("position")
    t0 = start + dt.timedelta(hours=1)
    # first: screened at 2.6 Å, then a data set at 1.8 Å (its best); second: 3.4 Å; third: nothing indexed.
    for sample, minutes, resolution, kind in (
        (first, 0, 2.6, ExperimentType.SCREENING),
        (first, 30, 1.8, ExperimentType.OSC),
        (second, 10, 3.4, ExperimentType.SCREENING),
        (third, 20, None, ExperimentType.SCREENING),
    ):
        group = f.collection_group(
            proposal=proposal, beamline=mx3, sample=sample, session=session, experiment_type=kind
        )
        f.collection(group, start_time=t0 + dt.timedelta(minutes=minutes), best_resolution=resolution)

    page = sign_in(chromium, live_server, "alice", width=1280, height=900)
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    points = page.locator("#resolution-plot a.point")
    assert points.count() == 3
    boxes = {
        int(points.nth(i).get_attribute("data-sample")): points.nth(i).locator("circle, path").bounding_box()
        for i in range(3)
    }
    # Left to right in the order the samples were first collected on; the better resolution higher up.
    assert boxes[first.pk]["x"] < boxes[second.pk]["x"] < boxes[third.pk]["x"]
    assert boxes[first.pk]["y"] < boxes[second.pk]["y"] < boxes[third.pk]["y"]
    first_point = page.locator(f'#resolution-plot a.point[data-sample="{first.pk}"]')
    assert first_point.get_attribute("data-best") == "1.8"
    assert "best 1.80 Å (2 collections)" in first_point.locator("title").text_content()
    assert page.locator(f'#resolution-plot a.point[data-sample="{third.pk}"] path').count() == 1  # ×: none yet
    assert "the best is" in page.locator("#resolution-plot figcaption").text_content()
    assert page.locator("#session-collections tbody tr").count() == 4
    screenshot(page, "session-plot")
    first_point.locator("circle").click()
    page.wait_for_url(f"**/samples/{first.pk}/")


def test_a_dewars_route_is_drawn_as_a_timeline(chromium, live_server):  # noqa: F811
    proposal = f.ProposalFactory(code="mx", number="2345")
    alice = f.UserFactory(username="alice")
    f.ProposalMemberFactory(proposal=proposal, user=alice)
    shipment = f.at_facility(f.shipment_tree(proposal=proposal, user=alice, name="Route"))
    dewar = Dewar.objects.get(shipment=shipment)
    stores = f.UserFactory(username="stores-2", groups=["stores"])
    beamline_place = f.LocationFactory(name="Beamline MX-3 hutch", kind=LocationKind.BEAMLINE, barcode="LOC-MX3")
    dewar_move(dewar=dewar, user=stores, location=beamline_place)
    dewar_note(dewar=Dewar.objects.get(pk=dewar.pk), user=stores, note="Topped up with nitrogen")
    dewar_incident(dewar=Dewar.objects.get(pk=dewar.pk), user=stores, incident="damaged", note="Lid hinge cracked")
    dewar_dispatch(dewar=Dewar.objects.get(pk=dewar.pk), user=stores, courier="FedEx", tracking_number="FX1")
    # As it would have happened: sent a week ago, two days on the road, a day in stores, ...
    now = timezone.now()
    hours_ago = [7 * 24, 5 * 24, 4 * 24, 4 * 24 - 2, 4 * 24 - 3, 2 * 24]
    events = list(DewarEvent.objects.filter(dewar=dewar).order_by("at", "id"))
    assert len(events) == len(hours_ago)
    for event, hours in zip(events, hours_ago, strict=True):
        DewarEvent.objects.filter(pk=event.pk).update(at=now - dt.timedelta(hours=hours))

    page = sign_in(chromium, live_server, "alice", width=1280, height=900)
    page.goto(f"{live_server.url}/shipments/dewars/{dewar.pk}/")
    stations = page.locator("#route g.station")
    statuses = [stations.nth(i).get_attribute("data-status") for i in range(stations.count())]
    assert statuses == ["in_transit_to_facility", "at_facility", "at_beamline", "in_transit_to_user"]
    xs = [stations.nth(i).locator("circle").bounding_box()["x"] for i in range(stations.count())]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    # Two days on the road to the facility read longer than a day in stores.
    assert xs[1] - xs[0] > xs[2] - xs[1]
    assert "current" in (stations.nth(3).get_attribute("class") or "")
    # Still on its way back: a dashed leg on to now, "so far".
    ongoing = page.locator("#route g.leg.ongoing")
    assert ongoing.count() == 1 and "2 d so far" in ongoing.text_content()
    assert "Lid hinge cracked" in page.locator("#route g.mark-incident title").text_content()
    assert page.locator("#route g.mark-note").count() == 1
    # The whole route is on screen at 1280 px, every label inside the drawing.
    svg = page.locator("#route svg").bounding_box()
    assert svg["x"] >= 0 and svg["x"] + svg["width"] <= 1280
    for text in page.locator("#route svg text").all():
        box = text.bounding_box()
        assert box["x"] >= svg["x"] and box["x"] + box["width"] <= svg["x"] + svg["width"], text.text_content()
    screenshot(page, "dewar-route")
