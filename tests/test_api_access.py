"""Who may call what: every API endpoint × every persona, with the exact status each must get.

Members read and write their proposal's objects; a member of another proposal ("outsider") gets 404
for them, never a 403 that would confirm they exist; facility staff read and write everything;
facility facts (beamlines, locations) are for anyone signed in; anonymous callers get 401.
The schema, its docs page and the token endpoint are open: they hold nothing of anybody's.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver

from lims.barcodes.testing import code_image, degrade, photo_jpeg
from lims.choices import FacilityRole
from samples.data.ingest import ingest_collections
from samples.services import container_assign, robot_action_create
from shipping.choices import LocationKind
from shipping.models import Dewar
from tests import factories as f
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

PERSONAS = ["member", "outsider", "stores", "beamline_staff", "admin_user", "anonymous"]

CSV = (
    "Dewar,Container,Container type,Position,Protein acronym,Sample name,Pin barcode,Space group,"
    "a,b,c,alpha,beta,gamma,Experiment kind,Required resolution,Comments\r\n"
    "Alice-1-D1,Sheet-puck,UniPuck,1,LYS,sheet-01,,,,,,,,,,,\r\n"
)


def everyone(code):
    return dict.fromkeys(PERSONAS[:-1], code) | {"anonymous": 401}


def theirs(member, outsider=404, staff=None):
    """Alice's object: the member and staff get ``member`` (or ``staff``), the outsider 404."""
    staff = member if staff is None else staff
    return {
        "member": member,
        "outsider": outsider,
        "stores": staff,
        "beamline_staff": staff,
        "admin_user": staff,
        "anonymous": 401,
    }


OPEN = dict.fromkeys(PERSONAS, 200)


def beamline_work(code, outsider=404):
    """Alice's object, but the work is the beamline's (assigning pucks, reporting the robot and statuses):
    beamline staff and admins get ``code``; the member and stores, who see the object, 403."""
    return theirs(code, outsider=outsider) | {"member": 403, "stores": 403}


# The whole changer (every proposal's pucks): beamline staff, local contacts, admins; it hides nothing.
CHANGER = beamline_work(200, outsider=403)


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


def new_shipment(w):
    return {
        "proposal": w["proposal"],
        "name": "Grid",
        "sending_contact": w["contact"],
        "dewars": [{"name": "D1", "containers": [{"name": "Grid-P1", "samples": [sample(1)]}]}],
    }


def sample(position):
    return {"position": position, "name": f"grid-{position}", "protein_acronym": "LYS"}


def replace_shipment(w):
    return {"name": "Alice-1", "dewars": [{"name": "Alice-1-D1", "containers": [{"name": "P", "samples": []}]}]}


def code_photo(w):
    image = degrade(code_image("AB12345678"), angle=30, noise=5)
    return {"image": SimpleUploadedFile("photo.jpg", photo_jpeg(image), content_type="image/jpeg")}


def upload(w):
    return {"file": SimpleUploadedFile("sheet.csv", CSV.encode(), content_type="text/csv")}


def puck_photo(w):
    """A photo without any code: a valid audit in which every pin is missing."""
    from tests.samples.puck_photos import puck_photo as draw

    return {"image": SimpleUploadedFile("puck.png", draw({}, size=200, fmt="PNG"), content_type="image/png")}


def scan_body(w):
    """Alice's dewar scanned in; her shipment is a draft, so the arrival is confirmed with a reason."""
    return {"barcode": Dewar.objects.get(pk=w["dewar"]).barcode, "confirm_reason": "grid"}


def collection(w, external_id="grid-dc-2"):
    """A collection on Alice's sample; people name the beamline (a token's is its own)."""
    return {
        "external_id": external_id,
        "beamline": w["beamline"],
        "sample": w["sample"],
        "start_time": "2026-03-10T10:00:00Z",
        "directory": "/data/mx2345",
        "file_template": "grid_1_####.cbf",
    }


def nxmx_upload(w):
    import tempfile
    from pathlib import Path

    from tests.samples.data.test_nxmx import write_nxmx

    with tempfile.TemporaryDirectory() as folder:
        data = write_nxmx(Path(folder) / "grid_master.h5").read_bytes()
    master = SimpleUploadedFile("grid_master.h5", data, content_type="application/x-hdf5")
    return {"file": master, "directory": "/data/mx2345", "beamline": w["beamline"], "sample": w["sample"]}


# Ingest (pipelines' work) hides nothing: whoever is not beamline staff or an admin gets 403.
INGEST = theirs(201, outsider=403) | {"member": 403, "stores": 403}


# (name, method, path, body(world) or None, body format, expected status per persona)
ENDPOINTS = [
    ("api root", "get", "/api/v1/", None, None, everyone(200)),
    ("schema", "get", "/api/v1/schema/", None, None, OPEN),
    ("docs", "get", "/api/v1/docs/", None, None, OPEN),
    ("proposal list", "get", "/api/v1/proposals/", None, None, everyone(200)),
    ("proposal", "get", "/api/v1/proposals/{proposal}/", None, None, theirs(200)),
    ("session list", "get", "/api/v1/sessions/", None, None, everyone(200)),
    ("session", "get", "/api/v1/sessions/{session}/", None, None, theirs(200)),
    ("beamline list", "get", "/api/v1/beamlines/", None, None, everyone(200)),
    ("beamline", "get", "/api/v1/beamlines/{beamline}/", None, None, everyone(200)),
    ("location list", "get", "/api/v1/locations/", None, None, everyone(200)),
    ("location", "get", "/api/v1/locations/{location}/", None, None, everyone(200)),
    ("protein list", "get", "/api/v1/proteins/", None, None, everyone(200)),
    ("protein", "get", "/api/v1/proteins/{protein}/", None, None, theirs(200)),
    ("lab contact list", "get", "/api/v1/lab-contacts/", None, None, everyone(200)),
    ("lab contact", "get", "/api/v1/lab-contacts/{contact}/", None, None, theirs(200)),
    # The outsider names Alice's proposal in the body: a field error, as for a proposal that does not exist.
    ("lab contact create", "post", "/api/v1/lab-contacts/", card, "json", theirs(201, outsider=400)),
    ("lab contact put", "put", "/api/v1/lab-contacts/{contact}/", card, "json", theirs(200)),
    ("lab contact patch", "patch", "/api/v1/lab-contacts/{contact}/", lambda w: {"fax": "2"}, "json", theirs(200)),
    ("lab contact delete", "delete", "/api/v1/lab-contacts/{contact}/", None, None, everyone(405)),
    ("shipment list", "get", "/api/v1/shipments/", None, None, everyone(200)),
    ("shipment", "get", "/api/v1/shipments/{shipment}/", None, None, theirs(200)),
    ("shipment create", "post", "/api/v1/shipments/", new_shipment, "json", theirs(201, outsider=400)),
    ("shipment put", "put", "/api/v1/shipments/{shipment}/", replace_shipment, "json", theirs(200)),
    ("shipment patch", "patch", "/api/v1/shipments/{shipment}/", lambda w: {"comments": "x"}, "json", theirs(200)),
    ("shipment delete", "delete", "/api/v1/shipments/{shipment}/", None, None, everyone(405)),
    ("shipment send", "post", "/api/v1/shipments/{shipment}/send/", None, None, theirs(200)),
    ("shipment cancel", "post", "/api/v1/shipments/{shipment}/cancel/", None, None, theirs(200)),
    ("shipment import", "post", "/api/v1/shipments/{shipment}/import/", upload, "multipart", theirs(200)),
    ("sheet template", "get", "/api/v1/shipments/sample-sheet-template/", None, None, everyone(200)),
    ("shipment sheet", "get", "/api/v1/shipments/{shipment}/sheet/", None, None, theirs(200)),
    ("barcode decode", "post", "/api/v1/barcodes/decode/", code_photo, "multipart", everyone(200)),
    (
        "barcode check",
        "post",
        "/api/v1/barcodes/check/",
        lambda w: {"kind": "pin", "code": "AB12345678"},
        "json",
        everyone(200),
    ),
    ("container", "get", "/api/v1/containers/{container}/", None, None, theirs(200)),
    ("container audit", "post", "/api/v1/containers/{container}/audit/", puck_photo, "multipart", theirs(200)),
    ("container audits", "get", "/api/v1/containers/{container}/audits/", None, None, theirs(200)),
    ("dewar labels", "get", "/api/v1/shipments/{shipment}/labels/dewars/", None, None, theirs(200)),
    ("puck labels", "get", "/api/v1/shipments/{shipment}/labels/pucks/", None, None, theirs(200)),
    ("pin labels", "get", "/api/v1/shipments/{shipment}/labels/pins/", None, None, theirs(200)),
    ("transport history", "get", "/api/v1/shipments/{shipment}/transport-history/", None, None, theirs(200)),
    # Location barcode sheets are for stores, beamline staff and admins; they hide nothing, so others get 403.
    (
        "location labels",
        "get",
        "/api/v1/locations/labels/",
        None,
        None,
        theirs(200, outsider=403) | {"member": 403},
    ),
    # Scans are for stores, beamline staff and admins; the endpoint hides nothing, so members get 403.
    ("scan list", "get", "/api/v1/scans/", None, None, theirs(200, outsider=403) | {"member": 403}),
    ("scan", "post", "/api/v1/scans/", scan_body, "json", theirs(201, outsider=403) | {"member": 403}),
    ("scan lookup", "get", "/api/v1/scans/lookup/", scan_body, None, theirs(200, outsider=403) | {"member": 403}),
    ("dewar", "get", "/api/v1/dewars/{dewar}/", None, None, theirs(200)),
    ("dewar history", "get", "/api/v1/dewars/{dewar}/history/", None, None, theirs(200)),
    # The beamline: changers, samples with their positions, assignments, robot actions, statuses.
    ("beamline changer", "get", "/api/v1/beamlines/{beamline}/changer/", None, None, CHANGER),
    # Members see their own samples in the changer; the outsider an empty list.
    ("beamline samples", "get", "/api/v1/beamlines/{beamline}/samples/", None, None, everyone(200)),
    ("session samples", "get", "/api/v1/sessions/{session}/samples/", None, None, theirs(200)),
    ("session unload", "post", "/api/v1/sessions/{session}/unload/", None, None, beamline_work(200)),
    ("container list", "get", "/api/v1/containers/", None, None, everyone(200)),
    (
        "container assign",
        "post",
        "/api/v1/containers/{free_container}/assign/",
        lambda w: {"beamline": w["beamline"], "position": 7},
        "json",
        beamline_work(200),
    ),
    (
        "container unassign",
        "post",
        "/api/v1/containers/{loaded_container}/unassign/",
        None,
        None,
        beamline_work(200),
    ),
    ("sample list", "get", "/api/v1/samples/", None, None, everyone(200)),
    ("sample", "get", "/api/v1/samples/{sample}/", None, None, theirs(200)),
    ("sample history", "get", "/api/v1/samples/{sample}/history/", None, None, theirs(200)),
    (
        "sample status",
        "post",
        "/api/v1/samples/{sample}/status/",
        lambda w: {"status": "loaded"},
        "json",
        beamline_work(201),
    ),
    ("robot action list", "get", "/api/v1/robot-actions/", None, None, everyone(200)),
    ("robot action", "get", "/api/v1/robot-actions/{robot_action}/", None, None, theirs(200)),
    # Reporting hides nothing: whoever is not beamline staff, a local contact or an admin gets 403.
    (
        "robot action create",
        "post",
        "/api/v1/robot-actions/",
        lambda w: {"action_type": "LOAD", "beamline": w["beamline"], "sample": w["sample"]},
        "json",
        beamline_work(201, outsider=403),
    ),
    (
        "robot action complete",
        "patch",
        "/api/v1/robot-actions/{robot_action}/",
        lambda w: {"status": "SUCCESS"},
        "json",
        beamline_work(200),
    ),
    # Data: members read their proposals' collections; pipelines, beamline staff and admins write them.
    ("data collection list", "get", "/api/v1/data-collections/", None, None, everyone(200)),
    ("data collection", "get", "/api/v1/data-collections/{data_collection}/", None, None, theirs(200)),
    ("data collection create", "post", "/api/v1/data-collections/", collection, "json", INGEST),
    (
        "data collection update",
        "patch",
        "/api/v1/data-collections/by-external-id/{dc_external_id}/",
        lambda w: {"beamline": w["beamline"], "number_of_images": 3600, "status": "successful"},
        "json",
        INGEST | {"beamline_staff": 200, "admin_user": 200},
    ),
    ("data collection nxmx", "post", "/api/v1/data-collections/nxmx/", nxmx_upload, "multipart", INGEST),
    (
        "screening result create",
        "post",
        "/api/v1/screening-results/",
        lambda w: {"data_collection": w["data_collection"], "program": "EDNA", "estimated_resolution": 2.1},
        "json",
        INGEST,
    ),
    (
        "processing result create",
        "post",
        "/api/v1/processing-results/",
        lambda w: {"data_collection": w["data_collection"], "program": "autoPROC", "shells": [{"shell": "overall"}]},
        "json",
        INGEST,
    ),
    (
        "token",
        "post",
        "/api/v1/auth/token/",
        lambda w: {"username": "alice", "password": f.PASSWORD},
        "json",
        OPEN,
    ),
    # One's own tokens only: a key that is nobody's (or another's) is a 404 for everyone signed in.
    ("token revoke", "post", "/api/v1/auth/token/revoke/", lambda w: {"token": "limsp_nobodys"}, "json", everyone(404)),
]


@pytest.fixture
def world(proposal, member, shipment, lab_contact):
    """Alice's objects, one of each kind, by the name the paths use.

    Besides her draft shipment, a second one at the facility: one puck in position 5 of the beamline's
    sample changer (with a robot action and a data collection on its first sample), one free to assign.
    """
    beamline = f.BeamlineFactory(name="ID23-1")
    at_facility = f.at_facility(f.shipment_tree(proposal=proposal, user=member, pucks=2, samples=2, name="Alice-2"))
    loaded, free = at_facility.containers.order_by("id")
    staff = f.UserFactory(username="grid-staff", groups=[FacilityRole.BEAMLINE_STAFF])
    container_assign(container=loaded, beamline=beamline, position=5, user=staff)
    sample = loaded.samples.order_by("position").first()
    robot_action = robot_action_create(by=staff, action_type="LOAD", beamline=beamline, sample=sample)
    (data_collection,) = ingest_collections(
        principal=staff, items=[collection({"beamline": beamline.pk, "sample": sample.pk}, "grid-dc-1")]
    )
    return {
        "data_collection": data_collection.pk,
        "dc_external_id": data_collection.external_id,
        "loaded_container": loaded.pk,
        "free_container": free.pk,
        "sample": sample.pk,
        "robot_action": robot_action.pk,
        "proposal": proposal.pk,
        "shipment": shipment.pk,
        "container": shipment.containers.get().pk,
        "contact": lab_contact.pk,
        "session": f.SessionFactory(proposal=proposal, beamline=beamline).pk,
        "protein": shipment.proposal.proteins.get(acronym="LYS").pk,
        "beamline": beamline.pk,
        "location": f.LocationFactory(name="Stores", kind=LocationKind.STORES).pk,
        "dewar": shipment.dewars.get().pk,
    }


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("method", "path", "body", "body_format", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in ENDPOINTS],
)
def test_access(request, world, persona, method, path, body, body_format, expected):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    client = api_as(user)
    kwargs = {"format": body_format} if body_format else {}
    data = body(world) if body else None
    response = getattr(client, method)(path.format(**world), data, **kwargs)

    assert response.status_code == expected[persona], getattr(response, "data", response.content)
    if response.status_code >= 400:
        body_json = response.json()
        assert isinstance(body_json["detail"], str) and isinstance(body_json["code"], str)
    if response.status_code == 404:
        assert response.json()["code"] == "not_found"
    if response.status_code == 401:
        assert response.json()["code"] == "not_authenticated"


def test_every_api_route_is_in_the_grid():
    """A new endpoint must join the grid above, with the status each persona must get."""
    (api,) = [p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/"]
    routes = {re.sub(r"\(\?P<\w+>[^)]*\)", "{id}", str(p.pattern)).strip("^$") for p in api.url_patterns}
    grid = {re.sub(r"\{\w+\}", "{id}", path.removeprefix("/api/v1/")) for _, _, path, *_ in ENDPOINTS}
    assert routes - grid == set()


def test_the_local_contact_role_is_facility_staff_too(proposal, shipment):
    local_contact = f.UserFactory(username="lc", groups=[FacilityRole.LOCAL_CONTACT])
    assert api_as(local_contact).get(f"/api/v1/shipments/{shipment.pk}/").status_code == 200


# The beamline's API token (MXCuBE, a pipeline) as a persona: a machine acting on its own beamline (the world's
# ID23-1). It reads and works that beamline's changer, sessions, samples, robot actions and collections (the
# rules of lims.access for tokens), ingests; it sees no proposal, shipment, dewar, lab contact or protein
# (another's object is a 404, a write naming one a 400, as for an outsider), scans nothing and prints no
# location sheets (403). The open endpoints are open to it too.
TOKEN = {
    # 200
    "api root": 200,
    "barcode check": 200,
    "barcode decode": 200,
    "beamline": 200,
    "beamline changer": 200,
    "beamline list": 200,
    "beamline samples": 200,
    "container list": 200,
    "container unassign": 200,
    "data collection": 200,
    "data collection list": 200,
    "data collection update": 200,
    "docs": 200,
    "lab contact list": 200,
    "location": 200,
    "location list": 200,
    "proposal list": 200,
    "protein list": 200,
    "robot action": 200,
    "robot action complete": 200,
    "robot action list": 200,
    "sample": 200,
    "sample history": 200,
    "sample list": 200,
    "schema": 200,
    "session": 200,
    "session list": 200,
    "session samples": 200,
    "session unload": 200,
    "sheet template": 200,
    "shipment list": 200,
    "token": 200,
    # 201
    "data collection create": 201,
    "data collection nxmx": 201,
    "processing result create": 201,
    "robot action create": 201,
    "sample status": 201,
    "screening result create": 201,
    # 400
    "lab contact create": 400,
    "shipment create": 400,
    # 403
    "location labels": 403,
    "scan": 403,
    "scan list": 403,
    "scan lookup": 403,
    # 404
    "container": 404,
    "container assign": 404,
    "container audit": 404,
    "container audits": 404,
    "dewar": 404,
    "dewar history": 404,
    "dewar labels": 404,
    "lab contact": 404,
    "lab contact patch": 404,
    "lab contact put": 404,
    "pin labels": 404,
    "proposal": 404,
    "protein": 404,
    "puck labels": 404,
    "shipment": 404,
    "shipment cancel": 404,
    "shipment import": 404,
    "shipment patch": 404,
    "shipment put": 404,
    "shipment send": 404,
    "shipment sheet": 404,
    "token revoke": 404,
    "transport history": 404,
    # 405
    "lab contact delete": 405,
    "shipment delete": 405,
}


@pytest.mark.parametrize(
    ("method", "path", "body", "body_format", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in ENDPOINTS],
)
def test_access_of_a_beamline_token(request, world, method, path, body, body_format, expected):
    from rest_framework.test import APIClient

    from lims.models import Beamline

    name = request.node.callspec.id
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {f.api_token(Beamline.objects.get(pk=world['beamline']))}")
    kwargs = {"format": body_format} if body_format else {}
    response = getattr(client, method)(path.format(**world), body(world) if body else None, **kwargs)

    assert response.status_code == TOKEN[name], getattr(response, "data", response.content)
    if response.status_code >= 400:
        assert isinstance(response.json()["detail"], str) and isinstance(response.json()["code"], str)


def test_every_endpoint_says_what_a_token_gets():
    assert set(TOKEN) == {case[0] for case in ENDPOINTS}
