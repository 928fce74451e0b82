"""Puck audit: geometry, orientation (puck code or ring search), comparison, the puck page and the API.

Photos are drawn by ``puck_photos.puck_photo``: each pin's DataMatrix at its geometric position, the
puck turned, JPEG with noise and blur. They stay at 900×900 or less so that the suite stays fast.
"""

import math
import time
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageOps

from lims.barcodes import decode
from lims.barcodes.decode import DecodeError, FoundCode
from lims.models import AuditEntry
from samples import puck_audit as audit
from samples.models import PuckAudit
from samples.puck_audit import (
    LAYOUTS,
    TOLERANCE,
    AuditUnsupported,
    Frame,
    assign,
    fit_concentric,
    layout_for,
    orient,
    puck_audit,
)
from tests import factories as f
from tests.conftest import api_as

from .puck_photos import puck_photo

UNIPUCK, SPINE = LAYOUTS["unipuck"], LAYOUTS["spine"]


@pytest.fixture(autouse=True)
def ample_time(monkeypatch):
    """Time enough for every region even on a busy machine: "missing" must not turn "unread" under load.

    (An empty hole's region is searched to the end in about 100 ms; the tests of "unread" take the time away.)
    """
    monkeypatch.setattr(audit, "AUDIT_DECODE_BUDGET_MS", 5000)
    monkeypatch.setattr(audit, "REGION_TIMEOUT_MS", 2000)


def pin(prefix: str, position: int) -> str:
    return f"{prefix}{position:08d}"


def refuse(*args, **kwargs):
    raise AssertionError("should not run")


# --- geometry -------------------------------------------------------------------------------------------


def test_unipuck_positions_1_to_5_are_on_the_inner_ring_and_6_to_16_on_the_outer():
    rings = {p.number: p.ring for p in UNIPUCK.positions}

    assert [n for n, ring in rings.items() if ring == 0] == [1, 2, 3, 4, 5]
    assert [n for n, ring in rings.items() if ring == 1] == list(range(6, 17))
    inner, outer = (
        {p.radius for p in UNIPUCK.positions if p.ring == 0},
        {p.radius for p in UNIPUCK.positions if p.ring == 1},
    )
    assert len(inner) == len(outer) == 1 and inner.pop() < 0.5 < outer.pop() == 1.0


def test_positions_1_and_6_point_at_the_key_and_the_numbers_run_anticlockwise():
    # Key at the top of the photo (rotation 90°): anticlockwise from the top runs to the left.
    frame = Frame(cx=500, cy=500, scale=300, rotation=math.pi / 2)
    point = {p.number: frame.point(p) for p in UNIPUCK.positions}

    for key_position in (1, 6):
        assert point[key_position][0] == pytest.approx(500) and point[key_position][1] < 500
    assert point[2][0] < 500 and point[7][0] < 500  # next ones: to the left (anticlockwise)
    assert point[5][0] > 500 and point[16][0] > 500  # last ones: to the right, back at the key
    assert math.degrees(UNIPUCK.positions[1].angle) == pytest.approx(72)
    assert math.degrees(UNIPUCK.positions[6].angle) == pytest.approx(360 / 11)


def test_a_spine_puck_has_ten_positions_on_one_ring_36_degrees_apart():
    assert [p.number for p in SPINE.positions] == list(range(1, 11))
    assert {p.ring for p in SPINE.positions} == {0}
    assert [round(math.degrees(p.angle)) for p in SPINE.positions] == list(range(0, 360, 36))


def test_other_containers_have_no_geometry():
    with pytest.raises(AuditUnsupported):
        layout_for("other")


def test_the_concentric_fit_finds_the_centre_of_two_rings():
    frame = Frame(cx=321, cy=654, scale=200, rotation=1.0)
    points = [frame.point(p) for p in UNIPUCK.positions if p.number in (1, 3, 7, 9, 12, 15)]
    rings = [0, 0, 1, 1, 1, 1]

    cx, cy, radii = fit_concentric(points, rings, 2)

    assert (cx, cy) == (pytest.approx(321), pytest.approx(654))
    assert radii[1] == pytest.approx(200) and radii[0] == pytest.approx(200 * UNIPUCK.positions[0].radius)


def test_a_code_far_from_every_position_is_unplaced():
    frame = Frame(cx=500, cy=500, scale=300, rotation=math.pi / 2)
    x, y = frame.point(UNIPUCK.positions[0])
    near = FoundCode("NEAR", x + 0.5 * TOLERANCE * 300, y, (), "zxing-cpp")
    far = FoundCode("FAR", 500 + 0.74 * 300, 500 - 0.74 * 300, (), "zxing-cpp")  # between the rings

    placed, _ = assign([near, far], UNIPUCK, frame)

    assert placed == {"NEAR": 1, "FAR": None}


def code_at(frame: Frame, number: int, *, off_degrees: float = 0.0, text: str | None = None) -> FoundCode:
    """A code found at position ``number`` of ``frame``, turned ``off_degrees`` round the centre (a distorted photo)."""
    position = UNIPUCK.positions[number - 1]
    a = frame.rotation + position.angle + math.radians(off_degrees)
    r = frame.scale * position.radius
    x, y = frame.cx + r * math.cos(a), frame.cy - r * math.sin(a)
    return FoundCode(text or f"AA{number:08d}", x, y, (), "zxing-cpp")


def test_when_the_geometry_cannot_tell_two_rotations_apart_the_registered_codes_decide():
    """Pins 1-5 fill the inner ring, which looks the same turned by 72°; the one outer pin, 3.5° off its
    position (a slightly distorted photo), sits 3.05° from a position of the turned frame: by geometry alone
    the wrong turn fits better. Only the registration tells: every code at its registered position."""
    frame = Frame(cx=450, cy=450, scale=300, rotation=math.radians(130))
    codes = [code_at(frame, n) for n in range(1, 6)] + [code_at(frame, 6, off_degrees=3.5)]
    registered = {c.text: n for n, c in enumerate(codes, start=1)}

    orientation = orient(codes, UNIPUCK, registered, None)

    assert orientation.method == "ring_search"
    assert orientation.placed == registered
    assert math.degrees(orientation.frame.rotation) % 360 == pytest.approx(130, abs=1)
    assert "matches the registration best" in orientation.note


def test_a_rotation_the_geometry_rules_out_is_not_taken_for_the_registration():
    """Every pin one position round on each ring: turns that would match part of the registration leave a
    whole ring 6.5° off its positions, so the geometry alone decides (and reports the pins misplaced)."""
    frame = Frame(cx=450, cy=450, scale=300, rotation=math.radians(40))
    codes = [code_at(frame, n, text=pin("AA", 1 + n % 5 if n <= 5 else 6 + (n - 5) % 11)) for n in range(1, 17)]
    registered = {pin("AA", n): n for n in range(1, 17)}

    orientation = orient(codes, UNIPUCK, registered, None)

    assert orientation.confidence == "high" and "layout fixes the rotation" in orientation.note
    assert math.degrees(orientation.frame.rotation) % 360 == pytest.approx(40, abs=1)
    assert not any(registered[text] == number for text, number in orientation.placed.items())


def test_the_ring_search_needs_three_codes():
    codes = [FoundCode(f"C{i}", 100 * i, 50, (), "zxing-cpp") for i in range(2)]

    orientation = orient(codes, UNIPUCK, {}, None)

    assert orientation.method == "none" and set(orientation.placed.values()) == {None}


# --- the audit ------------------------------------------------------------------------------------------


def make_puck(shipment, *, name="Audit-P1", container_type="unipuck", barcode=None, prefix="AA", positions=None):
    """A puck in the shipment's dewar whose pins carry codes ``prefix`` + position (all positions by default)."""
    capacity = LAYOUTS[container_type].capacity
    container = f.ContainerFactory(
        dewar=shipment.dewars.first(), name=name, container_type=container_type, capacity=capacity, barcode=barcode
    )
    protein = f.ProteinFactory(proposal=shipment.proposal, acronym=f"{prefix}LYS")
    for position in positions or range(1, capacity + 1):
        f.SampleFactory(
            container=container,
            position=position,
            name=f"{name}-{position}",
            pin_code=pin(prefix, position),
            protein=protein,
        )
    return container


def registered(container) -> dict[int, str]:
    return {s.position: s.pin_code for s in container.samples.all()}


def status_of(result: dict) -> dict[int, str]:
    return {p["position"]: p["status"] for p in result["positions"]}


@pytest.fixture
def unipuck(shipment):
    return make_puck(shipment, barcode="PUCK-0001")


@pytest.fixture
def spine(shipment):
    return make_puck(shipment, name="Audit-S1", container_type="spine", prefix="SP")


def audit_of(container, user, pins, **photo):
    return puck_audit(container=container, user=user, image_bytes=puck_photo(pins, **photo)).result


def test_a_unipuck_as_registered_matches_everywhere_oriented_by_its_own_code(unipuck, member):
    result = audit_of(unipuck, member, registered(unipuck), rotation=140, puck_code="PUCK-0001", noise=0.3, blur=0.7)

    assert result["ok"] is True
    assert result["method"] == "puck_code" and result["confidence"] == "high"
    assert result["puck_code"] == {"expected": "PUCK-0001", "found": True}
    assert set(status_of(result).values()) == {"match"}
    assert len(result["matches"]) == 16
    assert result["frame"]["rotation_degrees"] == pytest.approx(140, abs=2)


def test_a_spine_puck_as_registered_matches_everywhere_by_ring_search(spine, member):
    result = audit_of(spine, member, registered(spine), container_type="spine", rotation=250, noise=0.3, blur=0.7)

    assert result["ok"] is True
    assert result["method"] == "ring_search" and result["confidence"] == "high"
    assert [p["status"] for p in result["positions"]] == ["match"] * 10


def test_without_the_puck_code_the_ring_search_finds_the_rotation(unipuck, member):
    # 77° is no multiple of either ring's step: the search must find the fraction as well as the step.
    result = audit_of(unipuck, member, registered(unipuck), rotation=77, noise=0.2)

    assert result["method"] == "ring_search" and result["confidence"] == "high"
    assert result["puck_code"]["found"] is False
    assert result["frame"]["rotation_degrees"] == pytest.approx(77, abs=2)
    assert len(result["matches"]) == 16


def test_two_swapped_pins_are_misplaced_both_ways(unipuck, member):
    pins = registered(unipuck)
    pins[3], pins[12] = pins[12], pins[3]

    result = audit_of(unipuck, member, pins, rotation=200, noise=0.2, blur=0.5)

    assert result["ok"] is False
    assert len(result["matches"]) == 14
    misplaced = {(m["code"], m["registered_position"], m["found_position"]) for m in result["misplaced"]}
    assert misplaced == {(pin("AA", 3), 3, 12), (pin("AA", 12), 12, 3)}
    assert status_of(result)[3] == status_of(result)[12] == "misplaced"
    assert result["missing"] == [] and result["unexpected"] == []


def test_a_missing_pin(unipuck, member):
    """Position 7's region was searched to the end and holds no readable code: missing, and the result says so."""
    pins = registered(unipuck)
    del pins[7]

    result = audit_of(unipuck, member, pins, rotation=15, puck_code="PUCK-0001")

    assert [(m["position"], m["code"]) for m in result["missing"]] == [(7, pin("AA", 7))]
    assert status_of(result)[7] == "missing" and result["unread"] == []
    assert len(result["matches"]) == 15 and result["ok"] is False and result["confidence"] == "high"
    assert "Missing: searched to the end, no readable code there" in result["note"]


def test_a_pin_not_searched_in_the_time_allowed_is_unread_not_missing(monkeypatch, unipuck, member):
    monkeypatch.setattr(audit, "AUDIT_DECODE_BUDGET_MS", 0)  # no time for any region
    pins = registered(unipuck)
    del pins[7]

    result = audit_of(unipuck, member, pins, rotation=15, puck_code="PUCK-0001")

    assert [(u["position"], u["code"]) for u in result["unread"]] == [(7, pin("AA", 7))]
    assert status_of(result)[7] == "unread" and result["missing"] == []
    assert result["confidence"] == "medium" and result["ok"] is False  # the puck code alone would say high
    assert "1 registered position could not be read to the end" in result["note"]


def test_a_region_whose_search_runs_out_of_time_is_unread(monkeypatch, unipuck, member):
    def out_of_time(image, timeout, **kwargs):
        time.sleep(timeout / 1000)  # libdmtx gives up: nothing, after the timeout
        return []

    monkeypatch.setattr(decode, "dmtx_decode", out_of_time)
    monkeypatch.setattr(audit, "REGION_TIMEOUT_MS", 60)
    pins = registered(unipuck)
    del pins[7]

    result = audit_of(unipuck, member, pins, rotation=15, puck_code="PUCK-0001")

    assert status_of(result)[7] == "unread" and [u["position"] for u in result["unread"]] == [7]


def test_a_pin_the_first_pass_misses_is_read_in_its_region(monkeypatch, unipuck, member):
    first_pass = audit.decode_pil

    def missing_pin_7(*args, **kwargs):
        return [c for c in first_pass(*args, **kwargs) if c.text != pin("AA", 7)]

    monkeypatch.setattr(audit, "decode_pil", missing_pin_7)

    result = audit_of(unipuck, member, registered(unipuck), rotation=15, noise=0.2)

    assert result["ok"] is True and len(result["matches"]) == 16 and status_of(result)[7] == "match"


def test_a_photo_where_no_code_can_be_read_is_not_searched_further(monkeypatch, unipuck, member):
    """No code places the puck: the whole-photo variations and pylibdmtx would only spend the budget."""
    photo = puck_photo(registered(unipuck), rotation=15, blur=6, noise=0.5)
    monkeypatch.setattr(decode, "_variations", refuse)
    monkeypatch.setattr(decode, "_pylibdmtx", refuse)

    result = puck_audit(container=unipuck, user=member, image_bytes=photo).result

    assert result["codes_found"] == 0 and len(result["unread"]) == 16 and result["method"] == "none"


def test_a_photo_in_negative_light_codes_on_dark_caps_audits_like_the_positive(unipuck, member):
    photo = Image.open(BytesIO(puck_photo(registered(unipuck), rotation=15, noise=0.2, blur=0.6))).convert("L")
    out = BytesIO()
    ImageOps.invert(photo).save(out, format="JPEG", quality=88)

    result = puck_audit(container=unipuck, user=member, image_bytes=out.getvalue()).result

    assert result["ok"] is True and len(result["matches"]) == 16 and not result["unread"]


def test_an_unregistered_pin_is_unexpected(unipuck, member):
    pins = registered(unipuck)
    pins[10] = "ZZ99999999"

    result = audit_of(unipuck, member, pins, rotation=300)

    assert result["unexpected"] == [{"code": "ZZ99999999", "found_position": 10, "known_as": None}]
    assert status_of(result)[10] == "unexpected"
    assert [m["position"] for m in result["missing"]] == [10]


def test_a_pin_of_another_puck_of_the_shipment_says_where_it_belongs(shipment, unipuck, member):
    other = make_puck(shipment, name="Audit-P2", prefix="BB", positions=[5])
    pins = registered(unipuck)
    pins[4] = pin("BB", 5)

    result = audit_of(unipuck, member, pins, rotation=45, puck_code="PUCK-0001")

    (unexpected,) = result["unexpected"]
    assert unexpected["found_position"] == 4
    known = unexpected["known_as"]
    assert known["kind"] == "sample" and known["same_shipment"] is True
    assert known["container"] == {"id": other.pk, "name": "Audit-P2"} and known["position"] == 5


def test_a_pin_of_another_proposal_is_not_described(unipuck, member, other_proposal, outsider):
    theirs = f.shipment_tree(proposal=other_proposal, user=outsider, samples=0, name="Theirs")
    make_puck(theirs, name="Theirs-P", prefix="CC", positions=[1])
    pins = registered(unipuck)
    pins[2] = pin("CC", 1)

    result = audit_of(unipuck, member, pins, rotation=10, puck_code="PUCK-0001")

    assert result["unexpected"] == [{"code": pin("CC", 1), "found_position": 2, "known_as": None}]


def test_the_puck_code_catches_a_spine_puck_loaded_one_step_round(shipment, member):
    """Every pin one position further round: a turned photo of a right puck looks the same; only the key tells."""
    spine = make_puck(shipment, name="Audit-S2", container_type="spine", prefix="SQ", barcode="PUCK-0002")
    shifted = {1 + n % 10: code for n, code in registered(spine).items()}

    with_code = audit_of(spine, member, shifted, container_type="spine", rotation=100, puck_code="PUCK-0002")
    without_code = audit_of(spine, member, shifted, container_type="spine", rotation=100)

    assert with_code["method"] == "puck_code" and len(with_code["misplaced"]) == 10
    assert without_code["method"] == "ring_search" and len(without_code["matches"]) == 10


def test_a_unipuck_with_pins_on_both_rings_is_oriented_by_its_layout_alone(unipuck, member):
    """Positions 1 and 6 both point at the key and 5 and 11 share no divisor: no turn maps the holes
    onto themselves, so pins one step round on each ring are caught without the puck's code."""
    shifted = {1 + n % 5 if n <= 5 else 6 + (n - 5) % 11: code for n, code in registered(unipuck).items()}

    with_code = audit_of(unipuck, member, shifted, rotation=100, puck_code="PUCK-0001")
    without_code = audit_of(unipuck, member, shifted, rotation=100)

    assert with_code["method"] == "puck_code" and len(with_code["misplaced"]) == 16
    assert without_code["method"] == "ring_search" and without_code["confidence"] == "high"
    assert len(without_code["misplaced"]) == 16 and without_code["matches"] == []


def test_a_photo_without_codes_is_an_audit_where_every_pin_is_unread(unipuck, member):
    """Nothing places the puck, so no position was searched: unread, not missing (and not searched at length)."""
    result = audit_of(unipuck, member, {}, rotation=0)

    assert result["codes_found"] == 0 and result["method"] == "none" and result["confidence"] == "low"
    assert [u["position"] for u in result["unread"]] == list(range(1, 17)) and result["missing"] == []
    assert set(status_of(result).values()) == {"unread"} and result["ok"] is False


def test_empty_positions_and_pins_without_code(shipment, member):
    container = make_puck(shipment, positions=range(1, 11))
    container.samples.filter(position=2).update(pin_code=None)
    pins = registered(container)

    result = audit_of(container, member, {n: c for n, c in pins.items() if c}, rotation=60, noise=0.2)

    assert result["empty"] == list(range(11, 17))
    assert result["without_pin_code"] == [2] and status_of(result)[2] == "no_pin_code"
    assert len(result["matches"]) == 9 and result["ok"] is True


def test_a_file_that_is_no_image_is_refused_and_nothing_is_stored(unipuck, member):
    with pytest.raises(DecodeError) as exc:
        puck_audit(container=unipuck, user=member, image_bytes=b"%PDF-1.4 not a photo")

    assert exc.value.code == "not_an_image"
    assert not PuckAudit.objects.exists()


def test_each_audit_is_stored_with_an_audit_log_entry(unipuck, member):
    row = puck_audit(container=unipuck, user=member, image_bytes=puck_photo(registered(unipuck), rotation=5))

    assert row.container == unipuck and row.user == member and row.ok is True and row.method == "ring_search"
    entry = AuditEntry.objects.get(object_id=str(row.pk), content_type__model="puckaudit")
    assert entry.user == member and entry.changes["ok"] == [None, True]


def test_other_containers_cannot_be_audited(shipment, member):
    container = f.ContainerFactory(dewar=shipment.dewars.first(), name="Odd", container_type="other", capacity=5)

    with pytest.raises(AuditUnsupported):
        puck_audit(container=container, user=member, image_bytes=puck_photo({}))


# --- the puck page --------------------------------------------------------------------------------------

PAGE_ACCESS = {"member": 200, "outsider": 404, "stores": 200, "beamline_staff": 200, "admin_user": 200}


@pytest.mark.parametrize("persona", sorted(PAGE_ACCESS))
def test_puck_page_access(client, request, unipuck, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("samples:container", args=[unipuck.pk])).status_code == PAGE_ACCESS[persona]


def test_anonymous_users_are_sent_to_login_from_the_puck_page(client, unipuck):
    for url in (reverse("samples:container", args=[unipuck.pk]), reverse("samples:container_audit", args=[unipuck.pk])):
        response = client.post(url) if url.endswith("audit/") else client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_puck_page_draws_every_position_and_offers_the_camera(client, member, unipuck):
    client.force_login(member)

    page = client.get(reverse("samples:container", args=[unipuck.pk])).content.decode()

    assert page.count('data-status="registered"') == 2 * 16  # diagram and table
    assert 'capture="environment"' in page and "PUCK-0001" in page


def test_a_photo_uploaded_on_the_page_is_audited_and_shown(client, member, unipuck):
    pins = registered(unipuck)
    pins[3], pins[12] = pins[12], pins[3]
    client.force_login(member)
    upload = SimpleUploadedFile("puck.jpg", puck_photo(pins, rotation=33, puck_code="PUCK-0001"), "image/jpeg")

    response = client.post(reverse("samples:container_audit", args=[unipuck.pk]), {"image": upload})

    audit = PuckAudit.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"?audit={audit.pk}#audit")
    page = client.get(response.url).content.decode()
    assert page.count('data-status="match"') == 2 * 14 and page.count('data-status="misplaced"') == 2 * 2
    assert "is registered at position 3 and was found at 12" in page


def test_the_page_tells_unread_positions_from_missing_ones(monkeypatch, client, member, unipuck):
    monkeypatch.setattr(audit, "AUDIT_DECODE_BUDGET_MS", 0)  # position 7 is not searched: unread
    pins = registered(unipuck)
    del pins[7]
    client.force_login(member)
    upload = SimpleUploadedFile("puck.jpg", puck_photo(pins, rotation=33, puck_code="PUCK-0001"), "image/jpeg")

    response = client.post(reverse("samples:container_audit", args=[unipuck.pk]), {"image": upload})

    page = client.get(response.url).content.decode()
    assert page.count('data-status="unread"') == 2 and page.count('data-status="missing"') == 0
    assert "<h3>Unread</h3>" in page and "Not searched to the end in the time allowed" in page
    assert "confidence medium" in page


def test_an_unreadable_upload_on_the_page_is_a_message_not_an_error(client, member, unipuck):
    client.force_login(member)
    upload = SimpleUploadedFile("puck.jpg", b"not an image", "image/jpeg")

    response = client.post(reverse("samples:container_audit", args=[unipuck.pk]), {"image": upload})

    assert response.status_code == 400
    assert "not an image that can be read" in response.content.decode()
    assert not PuckAudit.objects.exists()


def test_an_outsider_cannot_audit_alices_puck(client, outsider, unipuck):
    client.force_login(outsider)
    upload = SimpleUploadedFile("puck.jpg", puck_photo({}), "image/jpeg")

    assert client.post(reverse("samples:container_audit", args=[unipuck.pk]), {"image": upload}).status_code == 404
    assert not PuckAudit.objects.exists()


def test_the_shipment_page_links_each_puck_to_its_page(client, member, shipment, unipuck):
    client.force_login(member)

    page = client.get(reverse("shipping:detail", args=[shipment.pk])).content.decode()

    for container in shipment.containers.all():
        assert f'href="{reverse("samples:container", args=[container.pk])}"' in page


# --- the API --------------------------------------------------------------------------------------------


def post_photo(user, container, data: bytes, name="puck.jpg"):
    return api_as(user).post(
        f"/api/v1/containers/{container.pk}/audit/", {"image": SimpleUploadedFile(name, data)}, format="multipart"
    )


def test_the_api_audits_a_photo(member, unipuck):
    pins = registered(unipuck)
    del pins[9]

    response = post_photo(member, unipuck, puck_photo(pins, rotation=222, noise=0.2))

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False and body["user"] == "alice" and body["container"] == unipuck.pk
    assert [m["position"] for m in body["result"]["missing"]] == [9]
    assert body["result"]["unread"] == [] and body["result"]["positions"][8]["status"] == "missing"
    listing = api_as(member).get(f"/api/v1/containers/{unipuck.pk}/audits/").json()
    assert [a["id"] for a in listing["results"]] == [body["id"]]


@pytest.mark.parametrize(
    ("data", "code"), [(b"GIF89a not really", "not_an_image"), (b"", "invalid")], ids=["not an image", "empty"]
)
def test_the_api_refuses_bad_uploads_with_400(member, unipuck, data, code):
    response = post_photo(member, unipuck, data)

    assert response.status_code == 400
    assert response.json()["code"] == code and isinstance(response.json()["detail"], str)


def test_the_api_wants_an_image_field(member, unipuck):
    response = api_as(member).post(f"/api/v1/containers/{unipuck.pk}/audit/", {}, format="multipart")

    assert response.status_code == 400 and "image" in response.json()["errors"]


def test_the_api_refuses_to_audit_other_containers(member, shipment):
    container = f.ContainerFactory(dewar=shipment.dewars.first(), name="Odd", container_type="other", capacity=5)

    response = post_photo(member, container, puck_photo({}))

    assert response.status_code == 409 and response.json()["code"] == "audit_unsupported"


def test_the_api_container_detail_lists_its_pins(member, unipuck):
    body = api_as(member).get(f"/api/v1/containers/{unipuck.pk}/").json()

    assert body["barcode"] == "PUCK-0001" and body["dewar"] == unipuck.dewar_id
    assert [s["position"] for s in body["samples"]] == list(range(1, 17))


@pytest.mark.parametrize(("persona", "expected"), [("outsider", 404), ("anonymous", 401)])
def test_the_api_hides_alices_puck(request, unipuck, persona, expected):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)

    assert post_photo(user, unipuck, puck_photo({})).status_code == expected
    assert api_as(user).get(f"/api/v1/containers/{unipuck.pk}/audits/").status_code == expected
    assert not PuckAudit.objects.exists()
