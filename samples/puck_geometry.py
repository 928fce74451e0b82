"""Puck geometry and orientation: where each position of a puck is, and how a photo of it is turned.

    layout_for(container_type) -> Layout      # the positions of a SPINE puck or a UniPuck
    orient(codes, layout, registered, puck) -> Orientation   # the frame of a photo from the codes found in it

Geometry. Every position is a point at (radius, angle) from the puck's centre: ``radius`` as a fraction
of the outer ring's radius, ``angle`` anticlockwise *seen from above* from the reference direction,
which is the direction from the centre to the puck's key. Position 1 (and on a UniPuck position 6) lies
on that direction:

    SPINE     10 positions on one ring, 36° apart, 1..10 anticlockwise.
    UniPuck   positions 1-5 on the inner ring (72° apart), 6-16 on the outer ring (360/11° apart),
              both anticlockwise; the inner ring's radius is 0.471 of the outer's (0.371 and 0.788
              of the puck's radius, the layout Diamond's puck barcode reader uses).

The SPINE standard fixes ten positions on a circle; that they are numbered anticlockwise like the
UniPuck's is this module's assumption (``HANDEDNESS``), to change here if a facility's baskets differ.

Orientation: how the photo is turned, found in one of two ways.

1. ``puck_code``: the puck's own DataMatrix (``Container.barcode``) is in the photo. Convention: it is
   printed at the centre of the puck, upright when the key is at the top, i.e. the symbol's "up" (from
   the corner of its L-shaped finder pattern along the L's vertical leg) points towards position 1.
   zxing-cpp reports the symbol's corners in the symbol's own frame (top-left stays the symbol's
   top-left however the photo is turned), so the centre and the rotation come from the corners.
   The scale (ring radius in pixels) comes from the pin codes: the radius that places the most of them.
2. ``ring_search``: no usable puck code. The centre and scale come from circles through the pin codes
   (concentric circles on a UniPuck, see ``_centres``). Every rotation that puts some code exactly on
   some position of its ring is a candidate; those that place the most codes, and whose codes sit on
   their positions about as tightly as the tightest's (within ``FIT_SLACK_DEGREES``, ring by ring), fit
   the geometry equally well. Among them the one that puts the most *registered* codes at their
   registered positions wins: the geometry proposes, the registration decides between what it cannot
   tell apart. A puck looks the same turned by a step common to every ring holding a code (a SPINE
   ring by 36°, a UniPuck with codes on one ring only by 72° or 360/11°): those turns always tie, so a
   SPINE puck loaded wholly one step round cannot be told from a right one without the key. A UniPuck
   with codes on both rings has no such step (positions 1 and 6 both point at the key, and 5 and 11
   share no divisor): a wrong turn leaves every code of one ring at least 360/55 = 6.5° off its
   position, so its layout alone fixes the rotation unless the photo is too distorted to see that.
   ``confidence`` says which, and by how much the registration decided.

With fewer than three pin codes and no puck code, nothing can be placed (``method`` "none"): the codes
are reported as found but unplaced.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from functools import cached_property

from lims.barcodes.decode import FoundCode
from lims.errors import DomainError

from .choices import ContainerType

HANDEDNESS = 1  # +1: positions numbered anticlockwise seen from above
TOLERANCE = 0.2  # a code further than this (× outer ring radius) from every position is unplaced
RING_TOLERANCE = 0.1  # a code this close (× outer ring radius) to a ring's circle is on that ring
MAX_TRIPLES = 600  # circles through three codes tried to find the centre (all of them up to 16 codes)
INNER_RADIUS = 0.371 / 0.788
# Rotations whose codes sit on their positions within this of the tightest fit's (the worst ring's RMS angle
# off) fit the geometry equally well: about half the least a wrong turn of a UniPuck costs (360/55°).
FIT_SLACK_DEGREES = 3.0


class AuditUnsupported(DomainError):
    """The container has no known geometry (an "other" container): its positions cannot be checked."""

    code = "audit_unsupported"


# --- geometry -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PuckPosition:
    """A position of a puck: its ring (0 = innermost), radius (× outer ring radius), angle from the key."""

    number: int
    ring: int
    radius: float
    angle: float  # radians, anticlockwise seen from above


@dataclass(frozen=True)
class Layout:
    """The positions of a puck type: ``rings`` is ((count, radius), ...) from the centre outwards."""

    container_type: str
    rings: tuple[tuple[int, float], ...]

    @cached_property
    def positions(self) -> tuple[PuckPosition, ...]:
        out, number = [], 1
        for ring, (count, radius) in enumerate(self.rings):
            for j in range(count):
                out.append(PuckPosition(number, ring, radius, HANDEDNESS * 2 * math.pi * j / count))
                number += 1
        return tuple(out)

    @property
    def capacity(self) -> int:
        return sum(count for count, _ in self.rings)


LAYOUTS = {
    ContainerType.SPINE: Layout(ContainerType.SPINE, ((10, 1.0),)),
    ContainerType.UNIPUCK: Layout(ContainerType.UNIPUCK, ((5, INNER_RADIUS), (11, 1.0))),
}


def layout_for(container_type: str) -> Layout:
    """The layout of a container type; AuditUnsupported for a type without a standard geometry."""
    try:
        return LAYOUTS[container_type]
    except KeyError:
        raise AuditUnsupported(
            "A puck audit needs a SPINE puck or a UniPuck: the positions of this container are not known."
        ) from None


@dataclass(frozen=True)
class Frame:
    """Where the puck is in the photo: centre (pixels), outer ring radius (pixels), key direction.

    ``rotation`` is the key's direction as an angle in the photo, anticlockwise from the photo's
    +x axis with y pointing up (image rows grow downwards, hence the sign flips below).
    """

    cx: float
    cy: float
    scale: float
    rotation: float

    def point(self, position: PuckPosition) -> tuple[float, float]:
        a = self.rotation + position.angle
        r = self.scale * position.radius
        return self.cx + r * math.cos(a), self.cy - r * math.sin(a)

    def polar(self, x: float, y: float) -> tuple[float, float]:
        """Distance (pixels) and angle (as ``rotation``) of an image point from the centre."""
        dx, dy = x - self.cx, -(y - self.cy)
        return math.hypot(dx, dy), math.atan2(dy, dx)


def assign(codes: list[FoundCode], layout: Layout, frame: Frame) -> tuple[dict[str, int | None], float]:
    """Each code → its nearest position within the tolerance, or None; and the sum of squared distances.

    A position takes one code: when two codes fall on one position the nearer keeps it, the other is
    unplaced. Distances are in outer-ring radii so that fits at different scales compare.
    """
    points = [(p, frame.point(p)) for p in layout.positions]
    candidates = []
    for code in codes:
        best = min(((math.hypot(code.x - x, code.y - y) / frame.scale, p.number) for p, (x, y) in points))
        candidates.append((best[0], best[1], code.text))
    placed: dict[str, int | None] = {}
    taken: set[int] = set()
    residual = 0.0
    for distance, number, text in sorted(candidates):
        if distance <= TOLERANCE and number not in taken:
            placed[text] = number
            taken.add(number)
            residual += distance**2
        else:
            placed[text] = None
    return placed, residual


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Least squares ``a x ≈ b`` through the normal equations (tiny systems); None when singular."""
    n = len(a[0])
    m = [
        [sum(r[i] * r[j] for r in a) for j in range(n)] + [sum(r[i] * v for r, v in zip(a, b, strict=True))]
        for i in range(n)
    ]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-9 * max(1.0, max(abs(m[i][i]) for i in range(n))):
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                k = m[r][col] / m[col][col]
                m[r] = [x - k * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit_concentric(points: list[tuple[float, float]], rings: list[int], ring_count: int):
    """Centre and radii of concentric circles through ``points`` (``rings[i]`` is point i's circle).

    Kåsa's algebraic fit, linear in (cx, cy, c_k) with c_k = r_k² - cx² - cy²: x² + y² = 2cx·x + 2cy·y + c_k.
    Returns (cx, cy, [r_k or None]) or None when the points do not determine a centre (too few, collinear).
    """
    used = sorted(set(rings))
    a = [[2 * x, 2 * y] + [1.0 if rings[i] == k else 0.0 for k in used] for i, (x, y) in enumerate(points)]
    b = [x * x + y * y for x, y in points]
    if len(points) < 2 + len(used):
        return None
    solution = _solve(a, b)
    if solution is None:
        return None
    cx, cy = solution[0], solution[1]
    radii: list[float | None] = [None] * ring_count
    for k, c in zip(used, solution[2:], strict=True):
        squared = c + cx * cx + cy * cy
        if squared <= 0:
            return None
        radii[k] = math.sqrt(squared)
    return cx, cy, radii


# --- orientation ----------------------------------------------------------------------------------------


@dataclass
class Orientation:
    """The frame found for a photo, how it was found and how far to trust it."""

    frame: Frame | None
    method: str  # "puck_code", "ring_search" or "none"
    confidence: str  # "high", "medium", "low"
    placed: dict[str, int | None]
    note: str = ""


def frame_from_puck_code(puck: FoundCode) -> tuple[float, float, float]:
    """Centre and key direction from the puck's DataMatrix (see the module docstring's convention)."""
    top_left, _, _, bottom_left = puck.corners
    up_x, up_y = top_left[0] - bottom_left[0], top_left[1] - bottom_left[1]
    return puck.x, puck.y, math.atan2(-up_y, up_x)


def _scales(codes: list[FoundCode], layout: Layout, cx: float, cy: float) -> list[float]:
    """Every ring radius that would put some code exactly on some ring, around a known centre."""
    out = set()
    for code in codes:
        d = math.hypot(code.x - cx, code.y - cy)
        for _, radius in layout.rings:
            if d > 0:
                out.add(d / radius)
    return sorted(out)


def _circle(a, b, c) -> tuple[float, float, float] | None:
    """The circle through three points, or None when they are (nearly) on a line."""
    (ax, ay), (bx, by), (cx, cy) = a, b, c
    d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    if abs(d) < 1e-6:
        return None
    a2, b2, c2 = ax * ax + ay * ay, bx * bx + by * by, cx * cx + cy * cy
    ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d
    uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d
    return ux, uy, math.hypot(ax - ux, ay - uy)


def _ring_labels(points, cx, cy, scale, radii) -> list[int | None]:
    """The ring each point lies on (within RING_TOLERANCE of its radius), or None."""
    labels = []
    for x, y in points:
        d = math.hypot(x - cx, y - cy)
        k = min(range(len(radii)), key=lambda k: abs(d - radii[k] * scale))
        labels.append(k if abs(d - radii[k] * scale) <= RING_TOLERANCE * scale else None)
    return labels


def _centres(codes: list[FoundCode], layout: Layout) -> list[tuple[float, float, float]]:
    """Centre and scale hypotheses (cx, cy, outer ring radius) from circle fits through the codes.

    The codes lie on concentric rings of known relative radii, but which code is on which ring is not
    known, and one fit through all of them is pulled off centre when the rings are unevenly filled.
    So (as in RANSAC) every circle through three codes is taken as one of the rings in turn, and the
    hypothesis that puts the most codes on some ring wins; it is then refined by a least-squares fit
    of concentric circles through those codes. When all of them lie on one ring, that ring may be any
    of the puck's: one hypothesis per ring, and the rotation search decides between them.
    """
    points = [(c.x, c.y) for c in codes]
    radii = [radius for _, radius in layout.rings]
    triples = list(itertools.combinations(range(len(points)), 3))
    if len(triples) > MAX_TRIPLES:
        triples = random.Random(0).sample(triples, MAX_TRIPLES)  # deterministic: one photo, one result
    best = None
    for i, j, k in triples:
        circle = _circle(points[i], points[j], points[k])
        if circle is None:
            continue
        cx, cy, r = circle
        for radius in radii:
            labels = _ring_labels(points, cx, cy, r / radius, radii)
            inliers = sum(label is not None for label in labels)
            if best is None or inliers > best[0]:
                best = (inliers, cx, cy, r / radius, labels)
    if best is None:
        return []
    _, cx, cy, scale, labels = best
    for _ in range(2):
        inside = [(p, label) for p, label in zip(points, labels, strict=True) if label is not None]
        fit = fit_concentric([p for p, _ in inside], [label for _, label in inside], len(radii))
        if fit is None:
            break
        cx, cy, fitted = fit
        scales = [fitted[k] / radii[k] for k in range(len(radii)) if fitted[k] is not None]
        scale = sum(scales) / len(scales)
        labels = _ring_labels(points, cx, cy, scale, radii)
    used = {label for label in labels if label is not None}
    if len(used) == 1 and len(radii) > 1:
        (ring,) = used
        r = radii[ring] * scale
        return [(cx, cy, r / radius) for radius in radii]
    return [(cx, cy, scale)]


@dataclass(frozen=True)
class _Fit:
    """A candidate frame and how well it fits: codes placed, how tightly, registered codes it matches."""

    frame: Frame
    placed: dict[str, int | None]
    count: int
    matches: int
    residual: float
    spread: float  # degrees: the RMS angle off their positions of the codes of the worst-fitting ring


def _fit(codes: list[FoundCode], layout: Layout, frame: Frame, registered: dict[str, int]) -> _Fit:
    placed, residual = assign(codes, layout, frame)
    off: dict[int, list[float]] = {}
    for code in codes:
        number = placed[code.text]
        if number is None:
            continue
        position = layout.positions[number - 1]
        _, angle = frame.polar(code.x, code.y)
        delta = math.degrees(angle - frame.rotation - position.angle)
        off.setdefault(position.ring, []).append((delta + 180) % 360 - 180)
    spread = max((math.sqrt(sum(d * d for d in ds) / len(ds)) for ds in off.values()), default=0.0)
    matches = sum(1 for text, number in placed.items() if number is not None and registered.get(text) == number)
    count = sum(1 for number in placed.values() if number is not None)
    return _Fit(frame, placed, count, matches, residual, spread)


def _ring_search(codes: list[FoundCode], layout: Layout, registered: dict[str, int], centres) -> list[_Fit]:
    """The candidates that fit the geometry equally well, one per placement, best for the registration first.

    Every rotation that puts some code exactly on some position of its ring is a candidate (codes on one
    ring propose almost the same rotations: whole degrees merge them). Those that place the most codes
    and are within FIT_SLACK_DEGREES of the tightest fit are kept; they are ranked by the registered codes
    they put at their registered positions, then by how tightly they fit.
    """
    fits = []
    for cx, cy, scale in centres:
        rotations = set()
        for code in codes:
            distance, angle = Frame(cx, cy, scale, 0.0).polar(code.x, code.y)
            ring = min(range(len(layout.rings)), key=lambda k: abs(distance - layout.rings[k][1] * scale))
            for position in layout.positions:
                if position.ring == ring:
                    rotations.add(round(math.degrees(angle - position.angle)) % 360)
        fits += [_fit(codes, layout, Frame(cx, cy, scale, math.radians(d)), registered) for d in rotations]
    if not fits:
        return []
    most = max(f.count for f in fits)
    tightest = min(f.spread for f in fits if f.count == most)
    plausible = [f for f in fits if f.count == most and f.spread <= tightest + FIT_SLACK_DEGREES]
    by_placement: dict[frozenset, _Fit] = {}
    for f in sorted(plausible, key=lambda f: (f.spread, f.residual)):
        by_placement.setdefault(frozenset(f.placed.items()), f)
    return sorted(by_placement.values(), key=lambda f: (-f.matches, f.spread, f.residual))


def orient(codes: list[FoundCode], layout: Layout, registered: dict[str, int], puck: FoundCode | None) -> Orientation:
    """The frame of the photo from the puck's code when it was found, else from the pin codes.

    ``codes`` are the pin codes (the puck's own code excluded), ``registered`` maps each registered pin
    code of the container to its position (the ring search's criterion between geometric ties).
    """
    if puck is not None and puck.decoder == "zxing-cpp":
        cx, cy, rotation = frame_from_puck_code(puck)
        best = None
        for scale in _scales(codes, layout, cx, cy):
            # The orientation is known: the scale is the one that places the most codes, the best.
            fit = _fit(codes, layout, Frame(cx, cy, scale, rotation), registered)
            if best is None or (fit.count, -fit.residual) > (best.count, -best.residual):
                best = fit
        if best is None:
            return Orientation(Frame(cx, cy, 0.0, rotation), "puck_code", "high", {}, "No pin code was found.")
        return Orientation(best.frame, "puck_code", "high", best.placed)

    unplaced = dict.fromkeys((c.text for c in codes), None)
    if puck is not None:
        # Found by the fallback decoder, whose corners are an upright box: the centre only.
        centres = [(puck.x, puck.y, s) for s in _scales(codes, layout, puck.x, puck.y)]
        note = "The puck's code gave the centre only."
    else:
        if len(codes) < 3:
            return Orientation(None, "none", "low", unplaced, "Too few codes to place them.")
        centres = _centres(codes, layout)
        note = "No puck code: the orientation comes from the pin codes."
    if not centres:
        return Orientation(None, "none", "low", unplaced, "The codes do not lie on a circle.")
    ranked = _ring_search(codes, layout, registered, centres)
    if not ranked:
        return Orientation(None, "none", "low", unplaced, "No code could be placed.")
    best = ranked[0]
    if len(ranked) == 1:
        confidence = "high" if best.count >= 3 and best.count >= 0.8 * len(codes) else "medium"
        note += " Their layout fixes the rotation."
    else:
        runner_up = ranked[1].matches
        if best.matches >= 3 and best.matches - runner_up >= 2 and best.count >= 0.8 * len(codes):
            confidence = "high"
        elif best.matches >= 2 and best.matches > runner_up:
            confidence = "medium"
        else:
            confidence = "low"
        note += " Several rotations fit them equally well: the one that matches the registration best was taken."
    return Orientation(best.frame, "ring_search", confidence, best.placed, note)
