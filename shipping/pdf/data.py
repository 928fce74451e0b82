"""What goes on the labels, as plain data: built from objects already fetched, rendered without queries.

The builders take a shipment from ``shipping.selectors.shipment_detail`` (its whole tree prefetched) and
read only what is in memory; the renderers take these dataclasses and know nothing of the database.
"""

from __future__ import annotations

import datetime as dt
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


def sample_changer_position_code(beamline_name: str, position: int, positions_per_cell: int | None = None) -> str:
    """The code on the label of a puck position of a beamline's sample changer (``Beamline.label_code``)."""
    from lims.models import Beamline

    return Beamline(name=beamline_name, puck_positions=position, positions_per_cell=positions_per_cell).label_code(
        position
    )


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
            address = beamline.address(position)
            name = f"{beamline.name} position {address}"
            detail = f"{changer}, cell {address.replace(':', ' puck ')}" if per_cell else f"{changer}, puck {address}"
            positions.append(LocationLabel(beamline.label_code(position), name, detail))
        title = f"Sample changer of {beamline.name} ({changer}, {beamline.puck_positions} puck positions)"
        sections.append(LocationSection(title, tuple(positions)))
    return sections
