"""The beamline pages: the beamline list, a sample changer's picture and its scanner form, a session's samples
by position, a sample's journey. Who may open each, what the scans do, and that a refusal writes nothing."""

import pytest
from django.urls import reverse

from lims.choices import FacilityRole
from samples.models import Container, ContainerHistory
from samples.services import container_assign, robot_action_create, sample_status_set
from shipping.models import Dewar
from tests import factories as f
from tests.queries import count_queries

pytestmark = pytest.mark.django_db


def puck_of(shipment, barcode: str) -> Container:
    """The shipment's (only) puck, given a barcode as registration would have."""
    Container.objects.filter(shipment=shipment).update(barcode=barcode)
    return Container.objects.get(shipment=shipment)


@pytest.fixture
def puck(received):
    return puck_of(received, "UP0001")


@pytest.fixture
def local_contact(db):
    return f.UserFactory(username="lc", groups=[FacilityRole.LOCAL_CONTACT])


@pytest.fixture
def session(proposal, isara):
    return f.SessionFactory(proposal=proposal, beamline=isara)


def changer_url(beamline) -> str:
    return reverse("beamline:changer", args=[beamline.name])


def assign(client, beamline, **data):
    return client.post(reverse("beamline:assign", args=[beamline.name]), data)


def nothing_written(container: Container) -> bool:
    container.refresh_from_db()
    # Rows without a beamline are its arrival at the facility with its dewar, not an assignment.
    assigned = ContainerHistory.objects.filter(container=container, beamline__isnull=False)
    return container.beamline_id is None and not assigned.exists()


# ---- who may open what


CHANGER_ACCESS = {
    "member": 403,
    "outsider": 403,
    "stores": 403,
    "local_contact": 200,
    "beamline_staff": 200,
    "admin_user": 200,
}


@pytest.mark.parametrize("persona", sorted(CHANGER_ACCESS))
@pytest.mark.parametrize("page", ["beamline:list", "beamline:changer"])
def test_changer_pages_are_for_beamline_staff_local_contacts_and_admins(client, request, isara, persona, page):
    client.force_login(request.getfixturevalue(persona))
    url = reverse(page, args=[isara.name] if page == "beamline:changer" else [])

    response = client.get(url)

    assert response.status_code == CHANGER_ACCESS[persona]
    if response.status_code == 403:
        assert b"not open to you" in response.content and b"MX-3" not in response.content


def test_the_beamline_list_shows_each_changer_and_how_full_it_is(client, beamline_staff, isara, puck):
    f.BeamlineFactory(name="MX-2", sample_changer_model="FlexHCD", puck_positions=24, positions_per_cell=3)
    f.BeamlineFactory(name="MX-0", active=False)
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    client.force_login(beamline_staff)

    html = client.get(reverse("beamline:list")).content.decode()

    assert 'data-beamline="MX-3"' in html and "ISARA" in html and "1 of 29" in html
    assert 'data-beamline="MX-2"' in html and "ESRF/EMBL FlexHCD" in html and "0 of 24" in html
    assert "MX-0" not in html
    assert f'href="{changer_url(isara)}"' in html


def test_an_unknown_beamline_is_a_404(client, beamline_staff, isara):
    client.force_login(beamline_staff)

    assert client.get(reverse("beamline:changer", args=["MX-99"])).status_code == 404


@pytest.mark.parametrize(
    "url", ["beamline:list", "beamline:changer", "beamline:session", "beamline:sample"], ids=lambda u: u
)
def test_anonymous_is_sent_to_login(client, url, isara, session, shipment):
    args = {"beamline:list": [], "beamline:changer": [isara.name], "beamline:session": [session.pk]}
    path = reverse(url, args=args.get(url, [shipment.containers.get().samples.first().pk]))

    response = client.get(path)

    assert response.status_code == 302 and response.url == f"{reverse('login')}?next={path}"


OWN_PAGE_ACCESS = {"member": 200, "outsider": 404, "stores": 200, "beamline_staff": 200, "admin_user": 200}


@pytest.mark.parametrize("persona", sorted(OWN_PAGE_ACCESS))
def test_session_and_sample_pages_are_the_proposals(client, request, persona, session, shipment):
    sample = shipment.containers.get().samples.first()
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("beamline:session", args=[session.pk])).status_code == OWN_PAGE_ACCESS[persona]
    assert client.get(reverse("beamline:sample", args=[sample.pk])).status_code == OWN_PAGE_ACCESS[persona]


def test_the_member_can_neither_open_the_changer_nor_assign_nor_unload(client, member, isara, puck, session):
    client.force_login(member)

    assert assign(client, isara, puck="UP0001", position="MX-3:07").status_code == 403
    assert nothing_written(puck)
    assert client.post(reverse("beamline:session_unload", args=[session.pk])).status_code == 403
    page = client.get(reverse("beamline:session", args=[session.pk])).content.decode()
    assert "Unload everything" not in page


def test_a_local_contact_sees_the_changer_but_does_not_fill_it(client, local_contact, beamline_staff, isara, puck):
    container_assign(container=puck, beamline=isara, position=3, user=beamline_staff)
    client.force_login(local_contact)

    html = client.get(changer_url(isara)).content.decode()

    assert "UP0001" in html and 'id="assign-form"' not in html and "Unload" not in html
    assert assign(client, isara, puck="UP0001", position="MX-3:07").status_code == 403
    assert client.post(reverse("beamline:unload", args=[isara.name]), {"container": puck.pk}).status_code == 403
    puck.refresh_from_db()
    assert puck.changer_position == 3


# ---- assigning through the page


@pytest.mark.parametrize("position", ["MX-3-SC-7", "MX-3:07", "mx-3:07", "7", "07"])
def test_scanning_a_puck_then_a_position_label_puts_it_there(client, beamline_staff, isara, puck, position):
    client.force_login(beamline_staff)

    response = assign(client, isara, puck="up0001", position=position)

    assert response.status_code == 302 and response.url == f"{changer_url(isara)}?placed=7#changer"
    puck.refresh_from_db()
    assert (puck.beamline, puck.changer_position) == (isara, 7)
    page = client.get(response.url).content.decode()
    assert "UP0001 is in MX-3:07." in page
    assert 'class="slot slot-filled slot-placed"' in page


def test_a_puck_may_be_named_and_the_position_chosen_from_the_list(client, beamline_staff, isara, received):
    puck = received.containers.get()
    client.force_login(beamline_staff)

    response = assign(client, isara, puck=puck.name, position="", slot="12")

    assert response.status_code == 302
    puck.refresh_from_db()
    assert puck.changer_position == 12


def test_a_puck_alone_asks_for_the_position_and_writes_nothing(client, beamline_staff, isara, puck):
    """Without JavaScript, the scanner's Enter after the puck submits the form: the page asks for the rest."""
    client.force_login(beamline_staff)

    response = assign(client, isara, puck="UP0001")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Puck UP0001: now scan the position" in html
    assert (
        'value="UP0001"' in html
        and 'name="position"' in html
        and "autofocus" in html.split('id="field-position"')[1][:600]
    )
    assert nothing_written(puck)


def test_a_taken_position_is_not_a_refusal_the_old_puck_is_taken_out(client, beamline_staff, isara, puck, proposal):
    other = puck_of(f.at_facility(f.shipment_tree(proposal=proposal, name="Second")), "UP0002")
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    client.force_login(beamline_staff)

    response = assign(client, isara, puck="UP0002", position="MX-3:07")

    assert response.status_code == 302
    puck.refresh_from_db()
    other.refresh_from_db()
    assert puck.beamline_id is None and other.changer_position == 7
    assert "UP0002 is in MX-3:07. UP0001 was taken out." in client.get(response.url).content.decode()


def _spine_only(beamline):
    beamline.position_types = {"1-10": ["spine"]}
    beamline.save()


def _not_received(shipment):
    Dewar.objects.filter(shipment=shipment).update(status="in_transit_to_facility")


def _booked_elsewhere(shipment):
    elsewhere = f.SessionFactory(proposal=shipment.proposal, beamline=f.BeamlineFactory(name="MX-1"))
    Dewar.objects.filter(shipment=shipment).update(session=elsewhere)


@pytest.mark.parametrize(
    ("setup", "data", "field", "message"),
    [
        (None, {"puck": "UP9999", "position": "MX-3:07"}, "puck", "No puck has the code UP9999."),
        (None, {"puck": "MX-3:07", "position": ""}, "puck", "MX-3:07 is a position: scan the puck first."),
        (None, {"puck": "UP0001", "position": "MX-3:30"}, "position", "MX-3 has no position 30"),
        (None, {"puck": "UP0001", "position": "LOC-STORES"}, "position", "LOC-STORES is not a position of MX-3."),
        (_spine_only, {"puck": "UP0001", "position": "MX-3:07"}, "position", "MX-3:07 takes spine, not a UniPuck"),
        (_not_received, {"puck": "UP0001", "position": "7"}, "puck", "receive it at the facility first"),
        (_booked_elsewhere, {"puck": "UP0001", "position": "7"}, "puck", "booked for a session on MX-1, not on MX-3"),
    ],
    ids=["unknown puck", "position first", "no such position", "not a position", "wrong type", "dewar away", "booked"],
)
def test_each_refusal_is_shown_beside_its_field_and_nothing_is_written(
    client, beamline_staff, isara, puck, received, setup, data, field, message
):
    if setup is _spine_only:
        setup(isara)
    elif setup is not None:
        setup(received)
    client.force_login(beamline_staff)

    response = assign(client, isara, **data)

    assert response.status_code == 400
    html = response.content.decode()
    errors = html.split(f'id="{field}-errors"')[1].split("</ul>")[0]
    assert message in errors
    assert nothing_written(puck)


def test_a_position_of_another_beamline_is_named(client, beamline_staff, isara, puck):
    f.BeamlineFactory(name="MX-2", sample_changer_model="FlexHCD", puck_positions=24, positions_per_cell=3)
    client.force_login(beamline_staff)

    response = assign(client, isara, puck="UP0001", position="MX-2:3:2")

    assert response.status_code == 400
    assert "MX-2:3:2 is a position of MX-2, not of MX-3." in response.content.decode()
    assert nothing_written(puck)


def test_flexhcd_positions_are_scanned_as_cell_and_puck(client, beamline_staff, puck):
    flex = f.BeamlineFactory(
        name="MX-2", sample_changer_model="FlexHCD", puck_positions=24, positions_per_cell=3,
        accepted_container_types=["unipuck"],
    )  # fmt: skip
    client.force_login(beamline_staff)

    assert assign(client, flex, puck="UP0001", position="MX-2:3:2").status_code == 302
    puck.refresh_from_db()
    assert puck.changer_position == 8
    assert assign(client, flex, puck="UP0001", position="4:1").status_code == 302
    puck.refresh_from_db()
    assert puck.changer_position == 10


# ---- unloading


def test_unload_one_puck(client, beamline_staff, isara, puck):
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    client.force_login(beamline_staff)

    response = client.post(reverse("beamline:unload", args=[isara.name]), {"container": puck.pk}, follow=True)

    puck.refresh_from_db()
    assert puck.beamline_id is None and puck.status == "unloaded"
    assert "UP0001 was taken out of MX-3:07." in response.content.decode()
    assert ContainerHistory.objects.filter(container=puck, beamline=isara).count() == 2


def test_unloading_a_puck_that_is_gone_already_changes_nothing(client, beamline_staff, isara, puck):
    client.force_login(beamline_staff)

    response = client.post(reverse("beamline:unload", args=[isara.name]), {"container": puck.pk}, follow=True)

    assert "no longer in MX-3" in response.content.decode()
    assert nothing_written(puck)


def test_unload_everything_of_a_session_after_confirming(client, beamline_staff, isara, puck, session, outsider):
    theirs = puck_of(f.at_facility(f.shipment_tree(proposal=outsider.proposals.get(), name="Theirs")), "UP0009")
    container_assign(container=puck, beamline=isara, position=1, user=beamline_staff)
    container_assign(container=theirs, beamline=isara, position=2, user=beamline_staff)
    client.force_login(beamline_staff)
    url = reverse("beamline:session_unload", args=[session.pk])

    session_page = client.get(reverse("beamline:session", args=[session.pk])).content.decode()
    assert f'href="{url}"' in session_page
    confirm = client.get(url).content.decode()
    assert "Unload everything of this session?" in confirm and "UP0001" in confirm and "UP0009" not in confirm
    puck.refresh_from_db()
    assert puck.changer_position == 1  # asking is not doing

    response = client.post(url, follow=True)

    assert "1 puck taken out of MX-3: UP0001." in response.content.decode()
    puck.refresh_from_db()
    theirs.refresh_from_db()
    assert puck.beamline_id is None and theirs.changer_position == 2


# ---- what the pages show


def test_the_picture_shows_each_puck_and_each_empty_position(client, beamline_staff, isara, puck):
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    client.force_login(beamline_staff)

    html = client.get(changer_url(isara)).content.decode()

    assert html.count('class="slot ') == 29
    tile = html.split('id="slot-7"')[1].split("</li>")[0]
    assert "UP0001" in tile and "mx2345" in tile and "3 samples" in tile
    assert f'href="{reverse("samples:container", args=[puck.pk])}"' in tile
    assert f'name="container" value="{puck.pk}"' in tile
    empty = html.split('id="slot-8"')[1].split("</li>")[0]
    assert "slot-empty" in html.split('id="slot-8"')[0][-80:] and "empty" in empty and "takes UniPuck" in empty
    assert 'data-code="MX-3:08"' in html.split('id="slot-8"')[1][:200]
    assert "js/changer.js" in html and "css/changer.css" in html


def test_a_flexhcd_changer_is_drawn_by_cells(client, beamline_staff):
    flex = f.BeamlineFactory(
        name="MX-2", sample_changer_model="FlexHCD", puck_positions=24, positions_per_cell=3,
        accepted_container_types=["spine"], position_types={"22-24": ["unipuck"]},
    )  # fmt: skip
    client.force_login(beamline_staff)

    html = client.get(changer_url(flex)).content.decode()

    assert html.count("data-cell=") == 8 and "Cell 8" in html
    cell_3 = html.split('data-cell="3"')[1].split("data-cell=")[0]
    assert [f'data-address="3:{p}"' in cell_3 for p in (1, 2, 3)] == [True] * 3
    assert "takes UniPuck" in html.split('id="slot-23"')[1].split("</li>")[0]
    assert "takes SPINE" in html.split('id="slot-1"')[1].split("</li>")[0]


def test_the_changer_page_query_count_does_not_grow_with_its_pucks(client, beamline_staff, isara, proposal):
    """Five queries however full the changer: the session, the user, the beamline, the user's roles, and the
    changer's contents (pucks with their proposals and sample counts, in one query)."""
    client.force_login(beamline_staff)

    def queries_with(count: int) -> int:
        for i in range(Container.objects.filter(beamline=isara).count(), count):
            shipment = f.at_facility(f.shipment_tree(proposal=proposal, name=f"Q{i}", samples=2))
            container_assign(container=shipment.containers.get(), beamline=isara, position=i + 1, user=beamline_staff)
        with count_queries() as queries:
            assert client.get(changer_url(isara)).status_code == 200
        return len(queries)

    assert queries_with(1) == queries_with(6) == 5


def test_the_session_page_lists_its_samples_by_position(client, member, beamline_staff, isara, puck, session, outsider):
    theirs = puck_of(f.at_facility(f.shipment_tree(proposal=outsider.proposals.get(), name="Theirs")), "UP0009")
    container_assign(container=puck, beamline=isara, position=5, user=beamline_staff)
    container_assign(container=theirs, beamline=isara, position=2, user=beamline_staff)
    session.local_contact = f.UserFactory(username="lc", first_name="Lisa", last_name="Contact")
    session.save()
    client.force_login(member)

    html = client.get(reverse("beamline:session", args=[session.pk])).content.decode()

    assert "mx2345" in html and "MX-3" in html and "Lisa Contact" in html
    assert "MX-3:05" in html and "UP0009" not in html and "Theirs" not in html
    names = [s.name for s in puck.samples.order_by("position")]
    assert [html.index(n) for n in names] == sorted(html.index(n) for n in names)
    for sample in puck.samples.all():
        assert f'href="{reverse("beamline:sample", args=[sample.pk])}"' in html


def test_the_sample_page_shows_its_fields_where_it_is_and_its_journey(client, member, beamline_staff, isara, puck):
    sample = puck.samples.order_by("position").first()
    sample.space_group = "P212121"
    sample.required_resolution = 1.8
    sample.save()
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    robot_action_create(by=beamline_staff, action_type="LOAD", status="SUCCESS", beamline=isara, sample=sample,
                        container_location="7", message="Mounted without trouble")  # fmt: skip
    sample_status_set(sample=sample, by=beamline_staff, status="loaded", detail="LOADED")
    client.force_login(member)

    html = client.get(reverse("beamline:sample", args=[sample.pk])).content.decode()

    assert "P212121" in html and "1.8" in html and "Required resolution (Å)" in html
    assert "In the sample changer at" in html.split('id="where-now"')[1][:200] and "MX-3:07" in html
    shipment = html.split('id="journey-shipment"')[1][:400]
    assert reverse("shipping:detail", args=[puck.shipment_id]) in shipment
    transport = html.split('id="journey-transport"')[1].split("</table>")[0]
    assert "At facility" in transport and "Stores" in transport
    assert "Into MX-3:07" in html.split('id="journey-assignments"')[1].split("</table>")[0]
    robot = html.split('id="journey-robot"')[1].split("</table>")[0]
    assert "Load" in robot and "Success" in robot and "Mounted without trouble" in robot
    status = html.split('id="journey-status"')[1].split("</table>")[0]
    assert "In sample changer → <strong>Loaded</strong>" in status and "LOADED" in status
    collections = html.split('id="data-collections"')[1].split("</section>")[0]
    assert "Data collections" in collections and "None yet" in collections


def test_the_sample_page_says_where_the_dewar_is_when_not_in_a_changer(client, member, puck):
    client.force_login(member)

    html = client.get(reverse("beamline:sample", args=[puck.samples.first().pk])).content.decode()

    assert "at Stores" in html.split('id="where-now"')[1][:400]
    assert "Its puck has not been in a sample changer yet." in html


def test_the_puck_page_links_its_samples_to_their_pages(client, member, shipment):
    puck = shipment.containers.get()
    client.force_login(member)

    html = client.get(reverse("samples:container", args=[puck.pk])).content.decode()

    for sample in puck.samples.all():
        assert f'href="{reverse("beamline:sample", args=[sample.pk])}"' in html


def _nav_knows_changers() -> bool:
    from django.test import RequestFactory

    from lims.context_processors import facility

    return "MAY_SEE_CHANGERS" in facility(RequestFactory().get("/"))


@pytest.mark.skipif(not _nav_knows_changers(), reason="lims.context_processors.facility has no MAY_SEE_CHANGERS yet")
def test_the_nav_shows_beamlines_to_who_may_see_changers(client, member, beamline_staff):
    link = f'href="{reverse("beamline:list")}"'
    client.force_login(beamline_staff)
    assert link in client.get(reverse("dashboard")).content.decode()
    client.force_login(member)
    assert link not in client.get(reverse("dashboard")).content.decode()


# ---- a past session


def test_a_past_session_shows_what_was_loaded_during_it_and_offers_no_unload(
    client, beamline_staff, isara, received, proposal
):
    import datetime as dt

    from django.utils import timezone

    from samples.models import ContainerHistory
    from samples.services import container_assign, container_unassign

    puck = received.containers.get()
    now = timezone.now()
    past = f.SessionFactory(proposal=proposal, beamline=isara, start=now - dt.timedelta(days=2), end=now)
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    container_unassign(container=puck, user=beamline_staff)
    # Its stay in the changer was during the session; today it is loaded again elsewhere in the changer.
    ContainerHistory.objects.filter(container=puck).update(at=now - dt.timedelta(days=1))
    past.end = now - dt.timedelta(hours=1)
    past.save(update_fields=["end"])
    other = f.ContainerFactory(dewar=received.dewars.get(), name="Today", barcode=None)
    container_assign(container=other, beamline=isara, position=9, user=beamline_staff)
    client.force_login(beamline_staff)

    html = client.get(reverse("beamline:session", args=[past.pk])).content.decode()

    assert "Loaded during the session" in html and "MX-3:07" in html and puck.name in html
    assert "MX-3:09" not in html and "Today" not in html
    assert "Unload everything" not in html
    response = client.post(reverse("beamline:session_unload", args=[past.pk]), follow=True)
    assert "The session ended" in response.content.decode()
    other.refresh_from_db()
    assert other.changer_position == 9
    assert staff_api_unload(beamline_staff, past).status_code == 409


def staff_api_unload(user, session):
    from tests.conftest import api_as

    return api_as(user).post(f"/api/v1/sessions/{session.pk}/unload/")
