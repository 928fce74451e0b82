"""The stores pages: who may open them, the dashboard's buckets and its query count, the scan station page,
and a shipment whose status follows its dewars through a whole journey."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from samples.models import Sample
from shipping.choices import DewarStatus, ShipmentStatus
from shipping.models import Shipment
from shipping.services import (
    dewar_dispatch,
    dewar_incident,
    dewar_move,
    dewar_receive,
    dewar_return_confirmed,
    shipment_send,
)
from shipping.stores import stores_overview
from tests import factories as f
from tests.queries import count_queries

pytestmark = pytest.mark.django_db

PAGES = ["stores:dashboard", "stores:scan"]


def sent_shipment(proposal, member, name, dewars=1, **fields):
    shipment = f.shipment_tree(proposal=proposal, user=member, dewars=dewars, name=name, **fields)
    shipment_send(shipment=shipment, user=member)
    return shipment


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("persona", "expected"),
    [("stores", 200), ("beamline_staff", 200), ("admin_user", 200), ("member", 403), ("outsider", 403)],
)
def test_who_may_open_the_stores_pages(client, request, page, persona, expected):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse(page)).status_code == expected


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_is_sent_to_login(client, page):
    response = client.get(reverse(page))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_nav_links_the_stores_pages_for_stores_only(client, stores, member):
    client.force_login(stores)
    assert reverse("stores:scan") in client.get(reverse("dashboard")).content.decode()
    client.force_login(member)
    assert reverse("stores:scan") not in client.get(reverse("dashboard")).content.decode()


def test_the_scan_station_page_has_its_input_script_and_api_urls(client, stores):
    client.force_login(stores)

    html = client.get(reverse("stores:scan")).content.decode()

    assert 'id="scan-input"' in html
    assert "js/scan-station.js" in html
    assert "/api/v1/scans/lookup/" in html and "/api/v1/barcodes/decode/" in html
    assert "csrfmiddlewaretoken" in html


@pytest.fixture
def journey(proposal, member, stores, stores_location, beamline_location):
    """Dewars in every bucket, built through the services (the way the stores will have made them)."""
    today = timezone.localdate()
    ended = f.SessionFactory(
        proposal=proposal, start=timezone.now() - dt.timedelta(days=3), end=timezone.now() - dt.timedelta(days=2)
    )
    long_ago = f.SessionFactory(
        proposal=proposal, start=timezone.now() - dt.timedelta(days=30), end=timezone.now() - dt.timedelta(days=29)
    )
    late = sent_shipment(proposal, member, "Late", expected_arrival=today - dt.timedelta(days=3))
    soon = sent_shipment(proposal, member, "Soon", expected_arrival=today + dt.timedelta(days=2))
    here = sent_shipment(proposal, member, "Here", dewars=3)
    d_here, d_waiting, d_forgotten = here.dewars.order_by("id")
    for dewar, session in ((d_waiting, ended), (d_forgotten, long_ago)):
        dewar.session = session
        dewar.save(update_fields=["session"])
    for dewar in (d_here, d_waiting, d_forgotten):
        dewar_receive(dewar=dewar, user=stores)
    dewar_move(dewar=d_here, user=stores, location=beamline_location)
    dewar_incident(dewar=d_here, user=stores, incident="damaged", note="cracked lid")
    returned = sent_shipment(proposal, member, "Home")
    home = returned.dewars.get()
    dewar_receive(dewar=home, user=stores)
    dewar_incident(dewar=home, user=stores, incident="other", note="fixed")
    dewar_dispatch(dewar=home, user=stores, courier="DHL", tracking_number="1")
    dewar_return_confirmed(dewar=home, user=stores)
    return {
        "late": late.dewars.get(),
        "soon": soon.dewars.get(),
        "here": d_here,
        "waiting": d_waiting,
        "forgotten": d_forgotten,
        "home": home,
    }


def test_the_dashboard_sorts_dewars_into_buckets(journey):
    overview = stores_overview()
    names = {k: d.pk for k, d in journey.items()}

    assert [d.pk for d in overview.expected] == [names["late"], names["soon"]]  # by expected arrival
    by_location = {str(loc): [d.pk for d in dewars] for loc, dewars in overview.by_location}
    assert by_location == {"Beamline MX-3": [names["here"]], "Stores": [names["waiting"], names["forgotten"]]}
    assert [d.pk for d in overview.waiting] == [names["forgotten"], names["waiting"]]  # longest waiting first
    overdue = {o.dewar.pk: o.reason for o in overview.overdue}
    assert set(overdue) == {names["late"], names["forgotten"]}
    assert "3 days late" in overdue[names["late"]]
    # An incident on a dewar back home is closed; the open one shows its note.
    assert [(d.pk, d.last_incident) for d in overview.incidents] == [(names["here"], "Damaged: cracked lid")]


def test_the_dashboard_page_links_each_dewar_to_its_page(client, stores, journey):
    client.force_login(stores)

    html = client.get(reverse("stores:dashboard")).content.decode()

    for key in ("late", "soon", "here", "waiting", "forgotten"):
        assert reverse("shipping:dewar", args=[journey[key].pk]) in html
    assert reverse("shipping:dewar", args=[journey["home"].pk]) not in html
    assert "cracked lid" in html


def dashboard_queries(client) -> int:
    with count_queries() as ctx:
        assert client.get(reverse("stores:dashboard")).status_code == 200
    return len(ctx.captured_queries)


def test_the_dashboard_costs_the_same_queries_for_one_dewar_or_many(
    client, proposal, member, stores, stores_location, beamline_location
):
    client.force_login(stores)
    first = sent_shipment(proposal, member, "One")
    dewar_receive(dewar=first.dewars.get(), user=stores)
    one = dashboard_queries(client)

    start = timezone.now() - dt.timedelta(days=21)
    session = f.SessionFactory(proposal=proposal, start=start, end=start + dt.timedelta(days=1))
    for n in range(4):
        shipment = sent_shipment(proposal, member, f"Many-{n}", dewars=3, expected_arrival=timezone.localdate())
        for dewar in list(shipment.dewars.all())[:2]:
            dewar.session = session
            dewar.save(update_fields=["session"])
            dewar_receive(dewar=dewar, user=stores, location=beamline_location if n % 2 else None)
            dewar_incident(dewar=dewar, user=stores, incident="damaged")
    many = dashboard_queries(client)

    # session, user, roles; expected, here (with sessions and locations), incidents (with their last note)
    assert one == many
    assert many <= 6


def test_the_shipment_follows_its_dewars_through_a_whole_journey(
    proposal, member, stores, stores_location, beamline_location
):
    shipment = sent_shipment(proposal, member, "Journey", dewars=2, samples=2)
    first, second = shipment.dewars.order_by("id")

    def status():
        return Shipment.objects.get(pk=shipment.pk).status

    assert status() == ShipmentStatus.SENT
    dewar_receive(dewar=first, user=stores)
    assert status() == ShipmentStatus.AT_FACILITY
    dewar_receive(dewar=second, user=stores)
    dewar_move(dewar=first, user=stores, location=beamline_location)
    assert status() == ShipmentStatus.PROCESSING
    dewar_move(dewar=first, user=stores, location=stores_location)
    assert status() == ShipmentStatus.AT_FACILITY
    dewar_dispatch(dewar=first, user=stores, courier="DHL", tracking_number="A1")
    assert status() == ShipmentStatus.AT_FACILITY  # one dewar is still here
    dewar_dispatch(dewar=second, user=stores, courier="DHL", tracking_number="A2")
    assert status() == ShipmentStatus.RETURNED
    dewar_return_confirmed(dewar=first, user=stores)
    assert status() == ShipmentStatus.RETURNED
    assert not Sample.objects.filter(container__shipment=shipment, retired_at__isnull=False).exists()
    dewar_return_confirmed(dewar=second, user=stores)

    assert status() == ShipmentStatus.CLOSED
    assert set(shipment.dewars.values_list("status", flat=True)) == {DewarStatus.RETURNED}
    assert Sample.objects.filter(container__shipment=shipment).count() == 4
    assert not Sample.objects.filter(container__shipment=shipment, retired_at__isnull=True).exists()
