"""What goes on the labels, as plain data: built from objects already fetched, rendered without queries.

The builders take a shipment from ``shipping.selectors.shipment_detail`` (its whole tree prefetched) and
read only what is in memory; the renderers take these dataclasses and know nothing of the database.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.conf import settings


@dataclass(frozen=True)
class ContactCard:
    """The return address: the shipment's home-lab card."""

    name: str
    lab_name: str
    address: tuple[str, ...]
    telephone: str
    email: str


@dataclass(frozen=True)
class DewarLabel:
    """One dewar label: where it goes at the facility, where it goes back, what is in it."""

    facility_name: str
    facility_address: tuple[str, ...]
    deliver_to: str  # "Beamline ID23-1", "Stores: MX stores", or "" when the user did not choose
    return_card: ContactCard | None
    proposal: str
    shipment: str
    dewar: str
    number: int  # "number of count"
    count: int
    barcode: str | None
    pucks: tuple[str, ...]  # each puck's barcode, else its name
    safety_level: str  # SafetyLevel value: green, yellow, red
    safety_label: str
    experiment: str  # "ID23-1, 2025-03-04" or ""
    printed: dt.date


@dataclass(frozen=True)
class PuckLabel:
    """One puck label; ``code`` is None when the puck has no barcode (the label says so)."""

    code: str | None
    name: str
    proposal: str
    shipment: str
    dewar: str


@dataclass(frozen=True)
class PinLabel:
    """One pin-cap label: the pin code, the sample's name and where the pin sits."""

    code: str
    sample: str
    puck: str
    position: int


@dataclass(frozen=True)
class LabelSheet:
    """Labels to print and, in words, what could not be printed and why."""

    labels: tuple
    missing: tuple[str, ...] = ()
    missing_title: str = ""


@dataclass(frozen=True)
class LocationLabel:
    """A barcode for the scan station: a location, or a position of a beamline's sample changer."""

    code: str
    name: str
    detail: str


@dataclass(frozen=True)
class LocationSection:
    """A titled group of location labels; each section starts a new page."""

    title: str
    labels: tuple[LocationLabel, ...]
    missing: tuple[str, ...] = field(default=())


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


def _card(contact) -> ContactCard | None:
    if contact is None:
        return None
    return ContactCard(
        name=contact.name,
        lab_name=contact.lab_name,
        address=_lines(contact.address),
        telephone=contact.telephone,
        email=contact.email,
    )


def _deliver_to(dewar) -> str:
    location = dewar.delivery_location
    if location is None:
        return ""
    kind = location.get_kind_display()
    # "Beamline ID23-1", but a location named "Stores" is not printed as "Stores: Stores".
    return location.name if location.name.lower().startswith(kind.lower()) else f"{kind} {location.name}"


def dewar_labels(shipment, *, dewar_id: int | None = None, printed: dt.date | None = None) -> list[DewarLabel]:
    """A label for every dewar of ``shipment`` (or only dewar ``dewar_id``), numbered "n of m" in the shipment."""
    from django.utils import timezone

    printed = printed or timezone.localdate()
    dewars = list(shipment.dewars.all())
    # The return goes to the home-lab card; a shipment saved without one goes back to whoever sent it.
    card = _card(shipment.return_contact or shipment.sending_contact)
    labels = []
    for number, dewar in enumerate(dewars, start=1):
        if dewar_id is not None and dewar.pk != dewar_id:
            continue
        session = dewar.session
        experiment = f"{session.beamline.name}, {timezone.localtime(session.start):%Y-%m-%d}" if session else ""
        labels.append(
            DewarLabel(
                facility_name=settings.FACILITY_NAME,
                facility_address=_lines(settings.FACILITY_ADDRESS),
                deliver_to=_deliver_to(dewar),
                return_card=card,
                proposal=shipment.proposal.name,
                shipment=shipment.name,
                dewar=dewar.name,
                number=number,
                count=len(dewars),
                barcode=dewar.barcode or None,
                pucks=tuple(c.barcode or c.name for c in dewar.containers.all()),
                safety_level=shipment.safety_level,
                safety_label=shipment.get_safety_level_display(),
                experiment=experiment,
                printed=printed,
            )
        )
    return labels


def _containers(shipment, *, dewar_id=None, container_id=None):
    for dewar in shipment.dewars.all():
        if dewar_id is not None and dewar.pk != dewar_id:
            continue
        for container in dewar.containers.all():
            if container_id is None or container.pk == container_id:
                yield dewar, container


def puck_labels(shipment, *, dewar_id: int | None = None, container_id: int | None = None) -> LabelSheet:
    """A label for every puck of ``shipment`` (or of one dewar, or one puck); pucks without a barcode noted."""
    labels, missing = [], []
    for dewar, container in _containers(shipment, dewar_id=dewar_id, container_id=container_id):
        labels.append(
            PuckLabel(
                code=container.barcode or None,
                name=container.name,
                proposal=shipment.proposal.name,
                shipment=shipment.name,
                dewar=dewar.name,
            )
        )
        if not container.barcode:
            missing.append(f"{container.name} (dewar {dewar.name})")
    return LabelSheet(tuple(labels), tuple(missing), "No barcode registered, label printed without a DataMatrix for:")


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5, 7, 8] → "1–3, 5, 7–8": a whole puck without codes takes one line."""
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(n) if n == start else f"{start}–{n}")
            start = None
    return ", ".join(parts)


def pin_labels(shipment, *, dewar_id: int | None = None, container_id: int | None = None) -> LabelSheet:
    """A label for every pin with a pin code; pins without one are listed, by puck and position."""
    labels, missing = [], []
    for _dewar, container in _containers(shipment, dewar_id=dewar_id, container_id=container_id):
        without = []
        for sample in container.samples.all():
            if sample.pin_code:
                labels.append(PinLabel(sample.pin_code, sample.name, container.name, sample.position))
            else:
                without.append(sample.position)
        if without:
            word = "position" if len(without) == 1 else "positions"
            missing.append(f"{container.name}: {word} {_ranges(without)}")
    return LabelSheet(tuple(labels), tuple(missing), "Not printed, no pin code registered:")


def code_part(name: str) -> str:
    """A name as it may appear in a code: upper case, letters, digits and hyphens ("id23-1 eh2" → "ID23-1-EH2")."""
    return re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")


def sample_changer_position_code(beamline_name: str, position: int, positions_per_cell: int | None = None) -> str:
    """The code of a puck position of a beamline's sample changer, for the scan station.

    ``<BEAMLINE>-SC-<puck>`` ("ID23-1-SC-7"), or ``<BEAMLINE>-SC-<cell>-<puck>`` ("ID30B-SC-3-2") on a
    cell-based changer (FlexHCD: 3 pucks a cell), where beamline control says "3:2". A hyphen rather than the
    colon: location codes are [A-Z0-9-] (LOCATION_CODE_PATTERN), and a keyboard-wedge scanner types a hyphen
    the same on every keyboard layout, which is not true of a colon. The beamline's name comes first and
    "-SC-" is the last such marker in the code, so the code reads back unambiguously.
    """
    return f"{code_part(beamline_name)}-SC-{changer_address(position, positions_per_cell, sep='-')}"


def changer_address(position: int, positions_per_cell: int | None, sep: str = ":") -> str:
    """Position ``position`` (1-based) as the changer addresses it: "7", or "cell:puck" such as "3:2"."""
    if positions_per_cell:
        cell, puck = divmod(position - 1, positions_per_cell)
        return f"{cell + 1}{sep}{puck + 1}"
    return str(position)


def location_sections(locations, beamlines) -> list[LocationSection]:
    """The scan station's sheets: every active location, then the puck positions of each beamline's changer.

    ``locations`` and ``beamlines`` are already fetched (``shipping.selectors.location_list``,
    ``lims.selectors.beamline_list``).
    """
    labels, missing = [], []
    for location in locations:
        if location.barcode:
            detail = location.get_kind_display()
            if location.beamline_id and location.beamline.name not in location.name:
                detail += f", {location.beamline.name}"
            labels.append(LocationLabel(location.barcode, location.name, detail))
        else:
            missing.append(location.name)
    sections = [LocationSection("Locations", tuple(labels), tuple(missing))]
    for beamline in beamlines:
        per_cell = beamline.positions_per_cell
        changer = beamline.get_sample_changer_model_display()
        positions = []
        for position in range(1, beamline.puck_positions + 1):
            address = changer_address(position, per_cell)
            name = f"{beamline.name} position {address}"
            detail = f"{changer}, cell {address.replace(':', ' puck ')}" if per_cell else f"{changer}, puck {address}"
            positions.append(
                LocationLabel(sample_changer_position_code(beamline.name, position, per_cell), name, detail)
            )
        title = f"Sample changer of {beamline.name} ({changer}, {beamline.puck_positions} puck positions)"
        sections.append(LocationSection(title, tuple(positions)))
    return sections
