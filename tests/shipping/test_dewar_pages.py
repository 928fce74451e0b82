"""The dewar page (card and timeline), "where is my dewar", and the courier tracking links they show."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from config import settings as lims_settings
from shipping import services
from shipping.choices import LocationKind
from shipping.services.dewars import (
    dewar_dispatch,
    dewar_incident,
    dewar_move,
    dewar_note,
    dewar_receive,
    dewar_return_confirmed,
)
from shipping.tracking import tracking_url
from tests import factories as f
from tests.queries import count_queries

pytestmark = pytest.mark.django_db


# --- tracking links ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("courier", "expected"),
    [
        ("DHL", "https://www.dhl.com/en/express/tracking.html?AWB=1234567890"),
        ("dhl", "https://www.dhl.com/en/express/tracking.html?AWB=1234567890"),
        ("FedEx", "https://www.fedex.com/fedextrack/?trknbr=1234567890"),
        (" FEDEX ", "https://www.fedex.com/fedextrack/?trknbr=1234567890"),
        ("UPS", "https://www.ups.com/track?tracknum=1234567890"),
        (
            "tnt",
            "https://www.tnt.com/express/en_gc/site/shipping-tools/tracking.html?searchType=con&cons=1234567890",
        ),
    ],
)
def test_each_known_courier_has_a_tracking_link(courier, expected):
    assert tracking_url(courier, "1234567890") == expected


@pytest.mark.parametrize(("courier", "number"), [("Pigeon post", "123"), ("", "123"), ("DHL", ""), (None, None)])
def test_no_link_for_an_unknown_courier_or_a_missing_number(courier, number):
    assert tracking_url(courier, number) is None


def test_the_tracking_number_is_url_encoded_whole():
    assert tracking_url("UPS", " 1Z 99/&x=1 ") == "https://www.ups.com/track?tracknum=1Z%2099%2F%26x%3D1"


def test_the_templates_come_from_the_setting(settings):
    settings.COURIER_TRACKING_URLS = {"Chronopost": "https://chrono.example/t/{tracking}"}
    assert tracking_url("CHRONOPOST", "XY1") == "https://chrono.example/t/XY1"
    assert tracking_url("DHL", "XY1") is None


def test_the_environment_adds_replaces_and_removes_couriers(monkeypatch):
    monkeypatch.setenv(
        "COURIER_TRACKING_URLS", '{"Chronopost": "https://chrono.example/{tracking}", "UPS": "", "DHL": null}'
    )
    urls = lims_settings._courier_tracking_urls()
    assert urls["Chronopost"] == "https://chrono.example/{tracking}"
    assert "UPS" not in urls and "DHL" not in urls
    assert urls["FedEx"] == lims_settings.DEFAULT_COURIER_TRACKING_URLS["FedEx"]


@pytest.mark.parametrize("value", ["not json", '["a list"]', '{"DHL": "https://dhl.example/no-placeholder"}'])
def test_a_bad_environment_value_is_refused_at_start(monkeypatch, value):
    monkeypatch.setenv("COURIER_TRACKING_URLS", value)
    with pytest.raises(ImproperlyConfigured, match="COURIER_TRACKING_URLS"):
        lims_settings._courier_tracking_urls()


# --- a dewar that travelled ----------------------------------------------------------------------------------


@pytest.fixture
def places(db):
    return {
        "stores": f.LocationFactory(name="MX stores", kind=LocationKind.STORES),
        "beamline": f.LocationFactory(name="ID23-1 hutch", kind=LocationKind.BEAMLINE),
    }


@pytest.fixture
def travelled(member, stores, shipment, places):
    """Alice's dewar: sent with UPS, received, moved, noted, damaged, dispatched home with DHL."""
    stores.first_name, stores.last_name = "Sam", "Storekeeper"
    stores.save()
    dewar = shipment.dewars.get()
    dewar.courier_to_facility, dewar.tracking_to_facility = "UPS", "1Z999AA10123456784"
    dewar.save()
    services.shipment_send(shipment=shipment, user=member)
    dewar_receive(dewar=dewar, user=stores)
    dewar_move(dewar=dewar, user=stores, location=places["beamline"])
    dewar_note(dewar=dewar, user=stores, note="LN2 topped up")
    dewar_incident(dewar=dewar, user=stores, incident="damaged", note="Lid cracked")
    dewar_dispatch(dewar=dewar, user=stores, courier="DHL", tracking_number="JD0123456789")
    dewar.refresh_from_db()
    return dewar


def page(client, user, dewar):
    client.force_login(user)
    return client.get(reverse("shipping:dewar", args=[dewar.pk]))


def test_the_dewar_page_shows_the_card(client, member, travelled):
    html = page(client, member, travelled).content.decode()

    assert travelled.barcode in html and travelled.name in html
    assert "1 of 1" in html
    assert reverse("shipping:detail", args=[travelled.shipment_id]) in html
    assert "mx2345" in html
    assert "In transit to user" in html
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in html
    assert 'href="https://www.dhl.com/en/express/tracking.html?AWB=JD0123456789"' in html
    assert reverse("shipping:transport_pdf", args=[travelled.shipment_id]) in html


def test_the_timeline_lists_every_step_with_the_incident_highlighted(client, member, travelled, settings):
    response = page(client, member, travelled)
    html = response.content.decode()
    events = list(response.context["events"])

    assert [e.get_status_display() for e in events] == [
        "In transit to facility",
        "At facility",
        "At beamline / processing",
        "At beamline / processing",
        "At beamline / processing",
        "In transit to user",
    ]
    for text in ("MX stores", "ID23-1 hutch", "Sam Storekeeper", "LN2 topped up", "Damaged: Lid cracked"):
        assert text in html
    assert html.count('class="event event-incident incident"') == 1
    assert "Times in Europe/Paris" in html


def test_the_timeline_is_in_the_facility_time_zone(client, member, travelled, settings):
    from django.utils import timezone

    settings.TIME_ZONE = "Asia/Tokyo"
    first = travelled.events.order_by("at").first()
    html = page(client, member, travelled).content.decode()
    assert timezone.localtime(first.at, timezone.get_fixed_timezone(9 * 60)).strftime("%Y-%m-%d %H:%M") in html


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("member", 200), ("outsider", 404), ("stores", 200), ("beamline_staff", 200), ("admin_user", 200)],
)
def test_the_dewar_page_is_for_the_proposal_and_staff(request, client, shipment, persona, expected):
    assert page(client, request.getfixturevalue(persona), shipment.dewars.get()).status_code == expected


def test_anonymous_is_sent_to_sign_in_from_the_dewar_page(client, shipment):
    response = client.get(reverse("shipping:dewar", args=[shipment.dewars.get().pk]))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_an_unknown_dewar_is_a_404(client, member):
    client.force_login(member)
    assert client.get("/shipments/dewars/987654/").status_code == 404


def test_the_shipment_page_links_each_dewar_and_its_tracking(client, member, travelled):
    client.force_login(member)
    html = client.get(reverse("shipping:detail", args=[travelled.shipment_id])).content.decode()
    assert reverse("shipping:dewar", args=[travelled.pk]) in html
    assert 'href="https://www.dhl.com/en/express/tracking.html?AWB=JD0123456789"' in html


def queries_of(client, url) -> int:
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_dewar_page_takes_as_many_queries_for_many_events(client, member, stores, shipment, places):
    services.shipment_send(shipment=shipment, user=member)
    dewar = shipment.dewars.get()
    dewar_receive(dewar=dewar, user=stores)
    client.force_login(member)
    url = reverse("shipping:dewar", args=[dewar.pk])
    few = queries_of(client, url)
    for n in range(20):
        dewar_note(dewar=dewar, user=f.UserFactory(), note=f"note {n}")
    dewar_move(dewar=dewar, user=stores, location=places["beamline"])
    assert queries_of(client, url) == few
    # session, user, dewar with its card, the events with location and user
    assert few <= 5


# --- where is my dewar ----------------------------------------------------------------------------------------


def where(client, user):
    client.force_login(user)
    return client.get(reverse("shipping:where"))


def test_where_lists_the_dewars_on_their_way_or_at_the_facility(client, member, stores, proposal, places):
    away = f.shipment_tree(proposal=proposal, user=member, dewars=2, name="Away")
    services.shipment_send(shipment=away, user=member)
    received, travelling = away.dewars.order_by("id")
    dewar_receive(dewar=received, user=stores)
    dewar_incident(dewar=received, user=stores, incident="missing_contents", note="Puck 3")
    draft = f.shipment_tree(proposal=proposal, user=member, name="Draft")  # still in the lab
    home = f.shipment_tree(proposal=proposal, user=member, name="Home")
    services.shipment_send(shipment=home, user=member)
    back = home.dewars.get()
    dewar_receive(dewar=back, user=stores)
    dewar_dispatch(dewar=back, user=stores, courier="DHL", tracking_number="1")
    dewar_return_confirmed(dewar=back, user=member)

    response = where(client, member)
    html = response.content.decode()

    assert [d.pk for d in response.context["dewars"]] == [received.pk, travelling.pk]
    assert reverse("shipping:dewar", args=[received.pk]) in html
    assert "MX stores" in html
    assert "Missing contents: Puck 3" in html  # the last step
    assert draft.dewars.get().name not in html and back.name not in html


def test_where_shows_the_tracking_link_of_the_journey_under_way(client, member, stores, shipment, places):
    dewar = shipment.dewars.get()
    dewar.courier_to_facility, dewar.tracking_to_facility = "FedEx", "IN-1"
    dewar.save()
    services.shipment_send(shipment=shipment, user=member)
    assert 'href="https://www.fedex.com/fedextrack/?trknbr=IN-1"' in where(client, member).content.decode()
    dewar_receive(dewar=dewar, user=stores)
    dewar_dispatch(dewar=dewar, user=stores, courier="TNT", tracking_number="OUT-2")
    html = where(client, member).content.decode()
    assert "cons=OUT-2" in html and "trknbr=IN-1" not in html


def test_where_shows_nothing_of_another_proposal(client, member, outsider, shipment):
    services.shipment_send(shipment=shipment, user=member)
    response = where(client, outsider)
    assert response.status_code == 200
    assert list(response.context["dewars"]) == []
    assert shipment.dewars.get().barcode not in response.content.decode()


@pytest.mark.parametrize("persona", ["stores", "admin_user"])
def test_staff_may_open_where_and_see_their_own_proposals_only(request, client, member, shipment, persona):
    services.shipment_send(shipment=shipment, user=member)
    response = where(client, request.getfixturevalue(persona))
    assert response.status_code == 200
    assert list(response.context["dewars"]) == []


def test_anonymous_is_sent_to_sign_in_from_where(client):
    response = client.get(reverse("shipping:where"))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_where_takes_as_many_queries_for_one_dewar_as_for_many(client, member, stores, proposal, places):
    one = f.shipment_tree(proposal=proposal, user=member, name="One")
    services.shipment_send(shipment=one, user=member)
    client.force_login(member)
    url = reverse("shipping:where")
    single = queries_of(client, url)
    many = f.shipment_tree(proposal=proposal, user=member, dewars=6, name="Many")
    services.shipment_send(shipment=many, user=member)
    for dewar in many.dewars.all()[:3]:
        dewar_receive(dewar=dewar, user=stores)
        dewar_note(dewar=dewar, user=f.UserFactory(), note="checked")
    assert queries_of(client, url) == single
