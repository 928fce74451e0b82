"""Puck audit: a photo of a puck seen from above, read, placed on the puck's geometry, compared with the registration.

    puck_audit(*, container, user, image_bytes) -> PuckAudit   # the service: its .result is AuditResult.to_dict()
    analyse(*, container, user, codes, unread=()) -> AuditResult   # the same without decoding or writing
    read_puck(loaded, layout, registered, puck_barcode) -> Reading  # the decoding, position by position

The geometry of the positions and the orientation of the photo (from the puck's own code, or by the ring
search from the pin codes) are in ``samples.puck_geometry``; its public names are re-exported here.

Reading (``read_puck``). One zxing-cpp pass reads most codes of an ordinary photo. When it reads none at
all the audit stops there: nothing places the puck, so there is nowhere to look, and searching the whole
photo with pylibdmtx would cost the whole budget for nothing (an unreadable photo answers at once). When
it reads too few to place the puck surely (confidence below "high": a frame from four or five codes can
be wrong), the decoder's zxing-cpp variations of the whole photo look for more first. Once it is placed, every registered position whose code was not read (and where no other
code was placed) is searched in a small region around where it should be (``decode_region``: zxing-cpp,
then pylibdmtx), one after the other within AUDIT_DECODE_BUDGET_MS. Each position then has one of three
outcomes, which the result keeps apart:

    found     a code was read there;
    missing   the region was searched to the end and holds no readable code: an empty hole, or a pin whose
              code is covered, damaged or too blurred to read (the decoders cannot tell those apart);
    unread    the time ran out before the region was searched to the end, or the puck could not be placed:
              nothing is known about that position. The confidence is then at most "medium", and the
              audit is not "ok".
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass, field

from django.db import transaction

from lims import audit as audit_log
from lims.barcodes.codes import normalise as _normalise
from lims.barcodes.decode import (
    FoundCode,
    LoadedImage,
    decode_pil,
    decode_region,
    decode_variations,
    load_upload,
    merge,
)
from lims.choices import AuditAction

from .puck_geometry import (  # noqa: F401  (re-exported: the audit's public names)
    FIT_SLACK_DEGREES,
    HANDEDNESS,
    INNER_RADIUS,
    LAYOUTS,
    TOLERANCE,
    AuditUnsupported,
    Frame,
    Layout,
    Orientation,
    PuckPosition,
    assign,
    fit_concentric,
    frame_from_puck_code,
    layout_for,
    orient,
)

# Time the decoder may spend, after its first pass, looking for pins it has not read yet.
AUDIT_DECODE_BUDGET_MS = 600
# pylibdmtx's time on one position: it searches an empty hole's region to the end in 30-130 ms.
REGION_TIMEOUT_MS = 250
# A position's region: this × the outer ring's radius on each side of where it should be (a cap and the
# frame's error; the neighbouring positions are 0.55 away).
REGION_HALF = 0.35
CONFIDENCE_WITH_UNREAD = "medium"  # the most an audit with unread positions can claim

STATUS_MEANINGS = {
    "missing": "searched to the end, no readable code there: an empty hole, or a code covered, damaged or too "
    "blurred to read",
    "unread": "not searched to the end in the time allowed, or the puck could not be placed: nothing is known",
}


# --- reading --------------------------------------------------------------------------------------------


@dataclass
class Reading:
    """The codes read (in the upload's pixels) and the positions whose search did not finish."""

    codes: list[FoundCode]
    unread: set[int]


def _orient_codes(codes: list[FoundCode], layout: Layout, registered: dict[str, int], puck_barcode: str):
    """Normalised codes, the puck's own code among them (or None), and the orientation from the others."""
    codes = [FoundCode(_normalise(c.text), c.x, c.y, c.corners, c.decoder) for c in codes if _normalise(c.text)]
    puck = next((c for c in codes if puck_barcode and c.text == puck_barcode), None)
    pins = [c for c in codes if c is not puck]
    return codes, puck, orient(pins, layout, registered, puck)


def read_puck(loaded: LoadedImage, layout: Layout, registered: dict[str, int], puck_barcode: str) -> Reading:
    """Read the photo position by position (see the module docstring); ``registered``: pin code → position."""
    deadline = time.perf_counter() + AUDIT_DECODE_BUDGET_MS / 1000
    image = loaded.image
    wanted = set(registered.values())
    expected = max(1, len(wanted) + bool(puck_barcode))
    codes = decode_pil(image, fallback_budget_ms=0, expected=max(expected, 2))  # the first pass only
    if not codes:
        return Reading([], wanted)  # nothing places the puck: nowhere to look
    codes, puck, orientation = _orient_codes(codes, layout, registered, puck_barcode)
    if orientation.confidence != "high" and len(codes) < expected:
        # Too few codes to place the puck surely (a frame from four or five codes can be wrong): the
        # variations of the whole photo first, then the regions around where the puck puts the rest.
        # At most half the budget: the regions need the rest.
        left_ms = int((deadline - time.perf_counter()) * 1000)
        codes = decode_variations(image, codes, budget_ms=left_ms // 2, expected=expected)
        codes, puck, orientation = _orient_codes(codes, layout, registered, puck_barcode)
    frame = orientation.frame
    pins = [c for c in codes if c is not puck]
    if frame is None or not frame.scale or not pins:
        found = {c.text for c in codes}
        return Reading(loaded.to_upload(codes), {n for code, n in registered.items() if code not in found})
    symbol_px = statistics.median(c.size for c in pins)
    occupied = {n for n in orientation.placed.values() if n is not None}
    unread = set()
    for position in layout.positions:
        number = position.number
        if number not in wanted or number in occupied:
            continue
        x, y = frame.point(position)
        left_ms = int((deadline - time.perf_counter()) * 1000)
        if not (0 <= x < image.width and 0 <= y < image.height) or left_ms <= 0:
            unread.add(number)  # off the photo, or no time left
            continue
        h = REGION_HALF * frame.scale
        region = decode_region(
            image, (x - h, y - h, x + h, y + h), symbol_px=symbol_px, timeout_ms=min(REGION_TIMEOUT_MS, left_ms)
        )
        codes = merge(codes, region.codes)
        if not region.finished:
            unread.add(number)
    return Reading(loaded.to_upload(codes), unread)


# --- comparison -----------------------------------------------------------------------------------------


def _sample(s) -> dict:
    return {"id": s.pk, "name": s.name, "pin_code": s.pin_code}


@dataclass
class AuditResult:
    """What the photo shows against what was registered; ``to_dict()`` is the API's and the page's shape."""

    container: dict
    method: str
    confidence: str
    note: str
    frame: dict | None
    codes_found: int
    puck_code: dict
    positions: list[dict] = field(default_factory=list)
    matches: list[dict] = field(default_factory=list)
    misplaced: list[dict] = field(default_factory=list)
    missing: list[dict] = field(default_factory=list)
    unread: list[dict] = field(default_factory=list)
    unexpected: list[dict] = field(default_factory=list)
    unplaced: list[dict] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)
    without_pin_code: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every registered code read at its position and nothing else on the puck."""
        return not (self.misplaced or self.missing or self.unread or self.unexpected or self.unplaced)

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def compare(
    *,
    container,
    samples: list,
    layout: Layout,
    orientation: Orientation,
    puck_code: dict,
    known: dict[str, dict],
    unread: set[int] | frozenset[int] = frozenset(),
) -> AuditResult:
    """The per-position outcome and the lists, from the placed codes and the registered samples.

    ``known`` describes codes that are not this puck's but belong to something the user may see
    (another sample, another puck), for the "unexpected" list. ``unread``: the positions whose search
    did not finish; a registered code read nowhere is "unread" there, else "missing".
    """
    by_position = {s.position: s for s in samples}
    by_code = {s.pin_code: s for s in samples if s.pin_code}
    placed = orientation.placed
    at_position = {number: text for text, number in placed.items() if number is not None}
    frame = orientation.frame
    result = AuditResult(
        container={"id": container.pk, "name": container.name, "type": container.container_type},
        method=orientation.method,
        confidence=orientation.confidence,
        note=orientation.note,
        frame=None
        if frame is None or not frame.scale
        else {
            "centre": [round(frame.cx, 1), round(frame.cy, 1)],
            "radius": round(frame.scale, 1),
            # The key's direction in the photo, anticlockwise from the top of the photo.
            "rotation_degrees": round(math.degrees(frame.rotation - math.pi / 2) % 360, 1),
        },
        codes_found=len(placed),
        puck_code=puck_code,
    )
    for position in layout.positions:
        number = position.number
        sample = by_position.get(number)
        found = at_position.get(number)
        expected = sample.pin_code if sample else None
        if found is not None and found == expected:
            status = "match"
            result.matches.append({"position": number, "code": found, "sample": _sample(sample)})
        elif found is not None and found in by_code:
            status = "misplaced"
            owner = by_code[found]
            result.misplaced.append(
                {
                    "code": found,
                    "sample": _sample(owner),
                    "registered_position": owner.position,
                    "found_position": number,
                }
            )
        elif found is not None:
            status = "unexpected"
            result.unexpected.append({"code": found, "found_position": number, "known_as": known.get(found)})
        elif sample is None:
            status = "empty"
            result.empty.append(number)
        elif not expected:
            status = "no_pin_code"
        elif placed.get(expected) is not None:
            status = "elsewhere"  # its pin was found at another position: listed under misplaced
        elif expected in placed:
            status = "unplaced"  # in the photo, but at no position
        elif number in unread:
            status = "unread"  # not searched to the end: nothing is known
        else:
            status = "missing"  # searched to the end: no readable code there
        if sample is not None and not expected:
            result.without_pin_code.append(number)
        result.positions.append(
            {
                "position": number,
                "ring": position.ring,
                "sample": _sample(sample) if sample else None,
                "found": found,
                "status": status,
            }
        )
    # Missing: a registered code that is nowhere in the photo, whatever now occupies its position; unread
    # when its position was not searched to the end (it may be there).
    for s in sorted(samples, key=lambda s: s.position):
        if s.pin_code and s.pin_code not in placed:
            listed = result.unread if s.position in unread else result.missing
            listed.append({"position": s.position, "code": s.pin_code, "sample": _sample(s)})
    if result.unread:
        if result.confidence == "high":
            result.confidence = CONFIDENCE_WITH_UNREAD
        n = len(result.unread)
        result.note = (
            f"{result.note} {n} registered position{'s' if n > 1 else ''} could not be read to the end "
            f"(unread: {STATUS_MEANINGS['unread']})."
        ).strip()
    if result.missing:
        result.note = f"{result.note} Missing: {STATUS_MEANINGS['missing']}.".strip()
    for text, number in placed.items():
        if number is not None:
            continue
        if text in by_code:
            owner = by_code[text]
            result.unplaced.append({"code": text, "sample": _sample(owner), "registered_position": owner.position})
        else:
            result.unexpected.append({"code": text, "found_position": None, "known_as": known.get(text)})
    return result


def _known_elsewhere(codes: set[str], user, container) -> dict[str, dict]:
    """Codes of other samples (or pucks) that the user may see: where each belongs."""
    from .selectors import container_visible_to, sample_visible_to

    known: dict[str, dict] = {}
    if not codes:
        return known
    for s in sample_visible_to(user).filter(pin_code__in=codes).order_by("retired_at", "-id"):
        known.setdefault(
            s.pin_code,
            {
                "kind": "sample",
                "sample": _sample(s),
                "container": {"id": s.container_id, "name": s.container.name},
                "position": s.position,
                "shipment": {"id": s.container.shipment_id, "name": s.container.shipment.name},
                "same_shipment": s.container.shipment_id == container.shipment_id,
            },
        )
    for c in container_visible_to(user).filter(barcode__in=codes - known.keys()):
        known[c.barcode] = {
            "kind": "container",
            "container": {"id": c.pk, "name": c.name},
            "shipment": {"id": c.shipment_id, "name": c.shipment.name},
            "same_shipment": c.shipment_id == container.shipment_id,
        }
    return known


def analyse(*, container, user, codes: list[FoundCode], unread: set[int] | frozenset[int] = frozenset()) -> AuditResult:
    """The audit of already decoded codes (no writes): orientation, placement, comparison.

    ``unread``: the positions whose search did not finish (``Reading.unread``).
    """
    layout = layout_for(container.container_type)
    samples = list(container.samples.all())
    registered = {s.pin_code: s.position for s in samples if s.pin_code}
    codes, puck, orientation = _orient_codes(codes, layout, registered, _normalise(container.barcode or ""))
    strangers = {c.text for c in codes if c is not puck} - registered.keys()
    return compare(
        container=container,
        samples=samples,
        layout=layout,
        orientation=orientation,
        puck_code={"expected": container.barcode, "found": puck is not None},
        known=_known_elsewhere(strangers, user, container),
        unread=unread,
    )


def puck_audit(*, container, user, image_bytes: bytes):
    """Audit a photo of ``container`` seen from above; store and return the result.

    An unreadable file raises DecodeError (a 400); a photo without any code is a valid audit in which
    every registered pin is unread (nothing places the puck). A container without a standard geometry
    raises AuditUnsupported. Returns the stored ``PuckAudit``; its ``result`` is ``AuditResult.to_dict()``.
    """
    from .models import PuckAudit

    layout = layout_for(container.container_type)  # refuse before the (slow) decoding
    loaded = load_upload(image_bytes)
    registered = {
        code: n for code, n in container.samples.filter(pin_code__isnull=False).values_list("pin_code", "position")
    }
    reading = read_puck(loaded, layout, registered, _normalise(container.barcode or ""))
    result = analyse(container=container, user=user, codes=reading.codes, unread=reading.unread)
    data = result.to_dict()
    with transaction.atomic():
        row = PuckAudit.objects.create(
            container=container,
            user=user if getattr(user, "is_authenticated", False) else None,
            method=result.method,
            confidence=result.confidence,
            ok=result.ok,
            result=data,
        )
        summary = {
            "ok": result.ok,
            "matches": len(result.matches),
            "misplaced": len(result.misplaced),
            "missing": len(result.missing),
            "unread": len(result.unread),
            "unexpected": len(result.unexpected),
        }
        audit_log.record(
            user=user, action=AuditAction.CREATE, obj=row, after=summary, message=f"puck audit of {container.name}"
        )
    return row
