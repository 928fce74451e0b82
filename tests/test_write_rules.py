"""One rule per write: every write action × every persona × every surface that offers it (page, native API,
ISPyB-compatible API) gets the answer of the action's rule in ``lims.access``, the same on each surface.

An answer is "allowed" (2xx, or a page's 302 to somewhere else than the login) or "refused" (401/403/404,
a page's 302 to the login, or a 400 for a body naming what the principal cannot see); and the write is done
exactly when it is allowed: a refusal changes nothing, an "allowed" that quietly did nothing is a failure.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.shortcuts import resolve_url
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from lims import access
from lims.choices import FacilityRole, ProposalKind
from lims.models import LabContact, Session
from lims.tokens import login_tokens, principal_for_key
from samples.choices import MailinRequest
from samples.data.ingest import ingest_collections
from samples.data.models import DataCollection
from samples.models import Container, RobotAction, Sample, SampleStatusChange
from samples.services import container_assign, robot_action_create
from shipping.models import Dewar, DewarEvent, Shipment
from tests import factories as f
from tests.shipping.test_views import filled_create_form, form_fields

pytestmark = pytest.mark.django_db

PEOPLE = ["member", "outsider", "stores", "beamline_staff", "local_contact", "mailin_operator", "admin_user"]
MACHINES = ["token", "other_token"]  # the beamline's own API token, and another beamline's
PERSONAS = [*PEOPLE, "anonymous", *MACHINES]

# Who may, as lims.access and the README say it.
PROPOSAL_WRITERS = {"member", "stores", "beamline_staff", "local_contact", "mailin_operator", "admin_user"}
SCANNERS = {"stores", "beamline_staff", "admin_user"}
CHANGER_FILLERS = {"beamline_staff", "admin_user", "token"}
BEAMLINE_OPERATORS = {"beamline_staff", "local_contact", "admin_user", "token"}
INGESTERS = {"beamline_staff", "admin_user", "token"}
MAILIN_OPERATORS = {"mailin_operator", "admin_user"}


@dataclass
class Surface:
    kind: str  # "page", "api" (/api/v1/) or "ispyb" (/ispyb/api/v1/)
    method: str
    path: str
    body: Callable[[dict], dict] | None = None
    body_format: str = "json"
    writes: bool = True  # False: a page that only offers the action (the scan station, a PDF)


@dataclass
class Action:
    allowed: set[str]
    rule: Callable  # (principal, world) -> bool, through lims.access
    probe: Callable[[dict], object]  # what the write changes
    surfaces: list[Surface]


def shipment_status(w):
    return Shipment.objects.get(pk=w["shipment"]).status


def in_changer(key):
    return lambda w: Container.objects.get(pk=w[key]).beamline_id


def new_shipment(w):
    return {
        "proposal": w["proposal"],
        "name": "Grid",
        "sending_contact": w["contact"],
        "dewars": [
            {
                "name": "D1",
                "containers": [
                    {"name": "Grid-P1", "samples": [{"position": 1, "name": "g-1", "protein_acronym": "LYS"}]}
                ],
            }
        ],
    }


def new_shipment_page(w):
    return filled_create_form(w["member_client"], w["proposal_obj"], samples=[{"name": "g-1", "protein_acronym": "L"}])


def edit_page(w):
    data = form_fields(w["member_client"].get(f"/shipments/{w['shipment']}/edit/"))
    return data | {"comments": "changed"}


def card(w):
    return {
        "proposal": w["proposal"],
        "card_name": "New card",
        "name": "Alice",
        "telephone": "1",
        "email": "a@example.org",
        "lab_name": "Lab",
        "address": "Road",
    }


def scan_body(w):
    """Alice's draft dewar scanned in at the stores (confirmed with a reason: it was never marked as sent)."""
    return {"barcode": Dewar.objects.get(pk=w["dewar"]).barcode, "confirm_reason": "sweep"}


def collection(w):
    return {
        "external_id": "sweep-dc",
        "beamline": w["beamline"],
        "sample": w["sample"],
        "start_time": "2026-03-10T10:00:00Z",
        "directory": "/data/mx2345",
        "file_template": "sweep_1_####.cbf",
    }


def book(w):
    return {
        "proposalId": w["proposal"],
        "beamLineName": "ID23-1",
        "startDate": "2026-05-01 08:00:00",
        "endDate": "2026-05-02 08:00:00",
    }


def open_today(w):
    """MXCuBE's own booking at login: today's local midnight with its literal "Z", for two days."""
    today = timezone.localdate()
    return {
        "proposalId": w["proposal"],
        "beamLineName": "ID23-1",
        "startDate": f"{today:%Y-%m-%d}T00:00:00.000000Z",
        "endDate": f"{today + dt.timedelta(days=2):%Y-%m-%d}T07:59:59.000000Z",
        "scheduled": False,
    }


def mxcube_collection(w):
    """A collection as MXCuBE stores it (its "old style" dictionary), on the world's sample and session."""
    return {
        "sessionId": w["session"],
        "sample_reference": {"blSampleId": w["sample"]},
        "fileinfo": {"directory": "/data/mx2345", "template": "mx_1_%05d.cbf", "prefix": "mx", "run_number": 1},
        "oscillation_sequence": [{"start": 0, "range": 0.1, "number_of_images": 3600, "exposure_time": 0.01}],
        "experiment_type": "OSC",
        "status": "Running",
        "collection_start_time": "2026-03-10 10:00:00",
    }


ACTIONS = {
    "register shipment": Action(
        PROPOSAL_WRITERS,
        lambda p, w: access.may_write_proposal(p, w["proposal_obj"]),
        lambda w: Shipment.objects.count(),
        [
            Surface("page", "post", "/shipments/new/{proposal}/", new_shipment_page, "form"),
            Surface("api", "post", "/api/v1/shipments/", new_shipment),
        ],
    ),
    "edit shipment": Action(
        PROPOSAL_WRITERS,
        lambda p, w: access.may_write_proposal(p, w["proposal_obj"]),
        lambda w: Shipment.objects.get(pk=w["shipment"]).comments,
        [
            Surface("page", "post", "/shipments/{shipment}/edit/", edit_page, "form"),
            Surface("api", "patch", "/api/v1/shipments/{shipment}/", lambda w: {"comments": "changed"}),
        ],
    ),
    "mark shipment sent": Action(
        PROPOSAL_WRITERS,
        lambda p, w: access.may_write_proposal(p, w["proposal_obj"]),
        shipment_status,
        [
            Surface("page", "post", "/shipments/{shipment}/send/"),
            Surface("api", "post", "/api/v1/shipments/{shipment}/send/"),
        ],
    ),
    "cancel shipment": Action(
        PROPOSAL_WRITERS,
        lambda p, w: access.may_write_proposal(p, w["proposal_obj"]),
        shipment_status,
        [
            Surface("page", "post", "/shipments/{shipment}/cancel/"),
            Surface("api", "post", "/api/v1/shipments/{shipment}/cancel/"),
        ],
    ),
    "write lab contact": Action(
        PROPOSAL_WRITERS,
        lambda p, w: access.may_write_proposal(p, w["proposal_obj"]),
        lambda w: LabContact.objects.count(),
        [
            Surface("page", "post", "/proposals/{proposal}/contacts/new/", card, "form"),
            Surface("api", "post", "/api/v1/lab-contacts/", card),
        ],
    ),
    "scan dewar": Action(
        SCANNERS,
        lambda p, w: access.may_scan(p),
        lambda w: DewarEvent.objects.count(),
        [
            Surface("page", "get", "/stores/scan/", writes=False),
            Surface("api", "post", "/api/v1/scans/", scan_body),
        ],
    ),
    "print location labels": Action(
        SCANNERS,
        lambda p, w: access.may_print_location_labels(p),
        lambda w: None,
        [
            Surface("page", "get", "/shipments/locations/labels/", writes=False),
            Surface("api", "get", "/api/v1/locations/labels/", writes=False),
        ],
    ),
    "assign puck": Action(
        CHANGER_FILLERS,
        lambda p, w: access.may_fill_changer(p, w["beamline"]),
        in_changer("free_container"),
        [
            Surface(
                "page", "post", "/beamlines/ID23-1/assign/", lambda w: {"puck": w["free_name"], "slot": "7"}, "form"
            ),
            Surface(
                "api",
                "post",
                "/api/v1/containers/{free_container}/assign/",
                lambda w: {"beamline": w["beamline"], "position": 7},
            ),
        ],
    ),
    "take puck out": Action(
        CHANGER_FILLERS,
        lambda p, w: access.may_fill_changer(p, w["beamline"]),
        in_changer("loaded_container"),
        [
            Surface(
                "page", "post", "/beamlines/ID23-1/unload/", lambda w: {"container": w["loaded_container"]}, "form"
            ),
            Surface("api", "post", "/api/v1/containers/{loaded_container}/unassign/"),
        ],
    ),
    "unload session": Action(
        CHANGER_FILLERS,
        lambda p, w: access.may_fill_changer(p, w["beamline"]),
        in_changer("loaded_container"),
        [
            Surface("page", "post", "/sessions/{session}/unload/"),
            Surface("api", "post", "/api/v1/sessions/{session}/unload/"),
        ],
    ),
    "report robot action": Action(
        BEAMLINE_OPERATORS,
        lambda p, w: access.may_report_robot_action(p, w["beamline"]),
        lambda w: RobotAction.objects.count(),
        [
            Surface(
                "api",
                "post",
                "/api/v1/robot-actions/",
                lambda w: {"action_type": "LOAD", "session": w["session"], "sample": w["sample"]},
            ),
            Surface(
                "ispyb",
                "post",
                "/ispyb/api/v1/events/robot-action",
                lambda w: {"actionType": "LOAD", "sessionId": w["session"], "blSampleId": w["sample"]},
            ),
        ],
    ),
    "complete robot action": Action(
        BEAMLINE_OPERATORS,
        lambda p, w: access.may_report_robot_action(p, w["beamline"]),
        lambda w: RobotAction.objects.get(pk=w["robot_action"]).status,
        [
            Surface("api", "patch", "/api/v1/robot-actions/{robot_action}/", lambda w: {"status": "SUCCESS"}),
            Surface("ispyb", "patch", "/ispyb/api/v1/robot-actions/{robot_action}", lambda w: {"status": "SUCCESS"}),
        ],
    ),
    "set sample status": Action(
        BEAMLINE_OPERATORS,
        lambda p, w: access.may_set_sample_status(p, w["beamline"]),
        lambda w: SampleStatusChange.objects.count(),
        [
            Surface("api", "post", "/api/v1/samples/{sample}/status/", lambda w: {"status": "loaded"}),
            Surface("ispyb", "patch", "/ispyb/api/v1/samples/{sample}", lambda w: {"blSampleStatus": "LOADED"}),
        ],
    ),
    "book session": Action(
        CHANGER_FILLERS,
        lambda p, w: access.may_book_session(p, w["beamline"]),
        lambda w: Session.objects.count(),
        [Surface("ispyb", "post", "/ispyb/api/v1/sessions", book)],
    ),
    "open today's session": Action(
        CHANGER_FILLERS | {"member"},
        lambda p, w: access.may_open_session_today(p, w["proposal_obj"], w["beamline"]),
        lambda w: Session.objects.count(),
        [Surface("ispyb", "post", "/ispyb/api/v1/sessions", open_today)],
    ),
    "ingest collection": Action(
        INGESTERS,
        # A token writes its own beamline's data: the ingest service refuses another beamline's.
        lambda p, w: access.may_ingest(p) and getattr(p, "beamline_id", w["beamline"]) == w["beamline"],
        lambda w: DataCollection.objects.count(),
        [
            Surface("api", "post", "/api/v1/data-collections/", collection),
            Surface("ispyb", "post", "/ispyb/api/v1/datacollections/datacollection", mxcube_collection),
        ],
    ),
    "flag collection": Action(
        PROPOSAL_WRITERS,
        lambda p, w: access.may_annotate_collections(p) and access.may_write_proposal(p, w["proposal_obj"]),
        lambda w: DataCollection.objects.get(pk=w["data_collection"]).flags,
        [
            Surface(
                "page",
                "post",
                "/data/bulk/",
                lambda w: {"ids": [w["data_collection"]], "action": "flag", "flag": 8},
                "form",
            )
        ],
    ),
    "set mail-in state": Action(
        MAILIN_OPERATORS,
        lambda p, w: access.may_operate_mailin(p),
        lambda w: Sample.objects.get(pk=w["mailin_sample"]).mailin_state,
        [Surface("page", "post", "/mailin/samples/{mailin_sample}/state/", lambda w: {"state": "screened"}, "form")],
    ),
}


@pytest.fixture
def world(proposal, member, shipment, lab_contact, stores_location):
    """Alice's draft shipment; a second one at the facility with one puck in position 5 of ID23-1's changer
    (a robot action and a collection on its first sample) and one free to assign, its dewar booked on her
    session on ID23-1; a mail-in proposal's sample waiting at the facility; the personas' principals."""
    beamline = f.BeamlineFactory(name="ID23-1")
    f.BeamlineFactory(name="ID30A-1")
    session = f.SessionFactory(proposal=proposal, beamline=beamline)
    at_facility = f.at_facility(
        f.shipment_tree(proposal=proposal, user=member, pucks=2, samples=2, name="Alice-2"), location=stores_location
    )
    at_facility.dewars.update(session=session)  # its pucks are the beamline's, and its token's, to load
    loaded, free = at_facility.containers.order_by("id")
    staff = f.UserFactory(username="sweep-staff", groups=[FacilityRole.BEAMLINE_STAFF])
    container_assign(container=loaded, beamline=beamline, position=5, user=staff)
    sample = loaded.samples.order_by("position").first()
    robot_action = robot_action_create(by=staff, action_type="LOAD", beamline=beamline, sample=sample)
    (data_collection,) = ingest_collections(
        principal=staff, items=[collection({"beamline": beamline.pk, "sample": sample.pk}) | {"external_id": "dc-1"}]
    )
    acme = f.ProposalFactory(code="in", number="0042", kind=ProposalKind.INDUSTRIAL, mail_in=True)
    mailin = f.at_facility(f.shipment_tree(proposal=acme, name="Acme-1"), location=stores_location)
    Sample.objects.filter(container__shipment=mailin).update(mailin_request=MailinRequest.SCREEN)
    member_client = Client()
    member_client.force_login(member)
    return {
        "proposal": proposal.pk,
        "proposal_obj": proposal,
        "member_client": member_client,
        "shipment": shipment.pk,
        "dewar": shipment.dewars.get().pk,
        "contact": lab_contact.pk,
        "beamline": beamline.pk,
        "session": session.pk,
        "loaded_container": loaded.pk,
        "free_container": free.pk,
        "free_name": free.name,
        "sample": sample.pk,
        "robot_action": robot_action.pk,
        "data_collection": data_collection.pk,
        "mailin_sample": Sample.objects.filter(container__shipment=mailin).first().pk,
        "tokens": {
            "token": f.api_token(beamline, name="MXCuBE ID23-1"),
            "other_token": f.api_token(f.BeamlineFactory(name="ID30A-1"), name="MXCuBE ID30A-1"),
        },
    }


@pytest.fixture
def local_contact(db):
    return f.UserFactory(username="lc", groups=[FacilityRole.LOCAL_CONTACT])


@pytest.fixture
def mailin_operator(db):
    return f.UserFactory(username="op", groups=[FacilityRole.MAILIN_OPERATOR])


def principal_of(request, world, persona):
    if persona == "anonymous":
        return AnonymousUser()
    if persona in MACHINES:
        return principal_for_key(world["tokens"][persona])
    return request.getfixturevalue(persona)


def call(surface: Surface, world: dict, persona: str, principal):
    path = surface.path.format(**world)
    data = surface.body(world) if surface.body else None
    if surface.kind == "page":
        client = Client()
        if persona != "anonymous":
            client.force_login(principal)
        return getattr(client, surface.method)(path, data or {})
    if surface.kind == "api":
        client = APIClient()
        if persona in MACHINES:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['tokens'][persona]}")
        elif persona != "anonymous":
            client.force_authenticate(principal)
        return getattr(client, surface.method)(path, data, format=surface.body_format)
    headers = {}
    if persona in MACHINES:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world['tokens'][persona]}"
    elif persona != "anonymous":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {login_tokens(principal)['token']}"
    return getattr(Client(), surface.method)(path, data or {}, content_type="application/json", **headers)


def answer(response) -> str:
    code = response.status_code
    if code == 302:
        return "refused" if response["Location"].startswith(resolve_url(settings.LOGIN_URL)) else "allowed"
    if 200 <= code < 300:
        return "allowed"
    if code in (400, 401, 403, 404):
        return "refused"
    return f"unexpected {code}"


CASES = [
    pytest.param(name, surface, persona, id=f"{name}-{surface.kind}-{persona}")
    for name, action in ACTIONS.items()
    for surface in action.surfaces
    # Pages sign people in; a machine's token is no way into them.
    for persona in (PEOPLE + ["anonymous"] if surface.kind == "page" else PERSONAS)
]


@pytest.mark.parametrize(("name", "surface", "persona"), CASES)
def test_every_surface_answers_what_the_rule_says(request, world, name, surface, persona):
    action = ACTIONS[name]
    principal = principal_of(request, world, persona)
    expected = "allowed" if persona in action.allowed else "refused"
    assert ("allowed" if action.rule(principal, world) else "refused") == expected, f"lims.access on {name}"
    before = action.probe(world)

    response = call(surface, world, persona, principal)

    body = response.content[:300]
    assert answer(response) == expected, f"{surface.method.upper()} {surface.path}: {response.status_code} {body!r}"
    if surface.writes:
        assert (action.probe(world) != before) == (expected == "allowed"), "written exactly when allowed"
    if surface.kind != "page" and response.status_code >= 400:
        assert set(response.json()) >= {"detail", "code"}


def test_every_action_of_lims_rules_is_swept():
    """A new rule joins the sweep (or says here why it has no write of its own)."""
    not_writes = {"may_see_changer"}  # a read: tests/test_api_access.py and test_pages_access.py sweep it
    defined = {name for name in dir(access) if name.startswith("may_")}
    swept = {
        "may_write_proposal",
        "may_scan",
        "may_print_location_labels",
        "may_fill_changer",
        "may_report_robot_action",
        "may_set_sample_status",
        "may_book_session",
        "may_open_session_today",
        "may_ingest",
        "may_annotate_collections",
        "may_operate_mailin",
        "may_correct_sent_shipment",
    }
    assert defined - not_writes == swept
