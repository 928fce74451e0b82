"""Which labels to print for a request: read the query, build the data from the fetched tree, render.

Views and API actions share this, so that both accept the same parameters and refuse bad ones the same way:

    shipment_labels(shipment, kind, params) -> LabelFile      kind: "dewars", "pucks", "pins"
    location_labels() -> LabelFile            who may: ``lims.access.may_print_location_labels``

``params`` are the query parameters: ``dewar`` (an id of the shipment's dewars), ``container`` (an id of its
pucks) and, for dewar labels, ``page_size`` (A4, A5, Letter). Labels can be printed in any shipment status.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.text import slugify

from . import pdf

KINDS = ("dewars", "pucks", "pins")


class LabelQueryError(ValueError):
    """A query parameter that names nothing printable; ``field`` is the parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class LabelFile:
    """A rendered PDF and the name to download it under."""

    filename: str
    content: bytes
    content_type: str = "application/pdf"


def _id_of(params, name: str, objects) -> int | None:
    """The id given as ``name``, checked against ``objects`` (the shipment's own, already fetched)."""
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        wanted = int(str(raw).strip())
    except ValueError:
        raise LabelQueryError(name, f"{name} must be the id of one of the shipment's {name}s, a number.") from None
    if wanted not in {o.pk for o in objects}:
        # The same words whether it exists elsewhere or not at all: nothing of another proposal is confirmed.
        raise LabelQueryError(name, f"This shipment has no {name} with id {wanted}.")
    return wanted


def shipment_labels(shipment, kind: str, params) -> LabelFile:
    """The ``kind`` labels of ``shipment`` (fetched by ``selectors.shipment_detail``) as a PDF.

    Raises LabelQueryError for a bad parameter and ``pdf.LabelLayoutError`` for a facility layout that
    does not fit its page.
    """
    if kind not in KINDS:
        raise LabelQueryError("kind", f"Choose one of: {', '.join(KINDS)}.")
    dewars = list(shipment.dewars.all())
    containers = [c for d in dewars for c in d.containers.all()]
    dewar_id = _id_of(params, "dewar", dewars)
    container_id = _id_of(params, "container", containers) if kind != "dewars" else None
    base = slugify(shipment.name) or f"shipment-{shipment.pk}"
    if dewar_id is not None:
        base += "-" + (slugify(next(d.name for d in dewars if d.pk == dewar_id)) or f"dewar-{dewar_id}")
    if container_id is not None:
        base += "-" + (slugify(next(c.name for c in containers if c.pk == container_id)) or f"puck-{container_id}")

    if kind == "dewars":
        try:
            page_size = pdf.page_key(params.get("page_size") or "A4")
        except ValueError as exc:
            raise LabelQueryError("page_size", str(exc)) from None
        content = pdf.render_dewar_labels(pdf.dewar_labels(shipment, dewar_id=dewar_id), page_size)
        return LabelFile(f"{base}-dewar-labels.pdf", content)
    title = f"{shipment.name}: {'puck' if kind == 'pucks' else 'pin'} labels"
    if kind == "pucks":
        sheet = pdf.puck_labels(shipment, dewar_id=dewar_id, container_id=container_id)
        return LabelFile(f"{base}-puck-labels.pdf", pdf.render_puck_labels(sheet, title))
    sheet = pdf.pin_labels(shipment, dewar_id=dewar_id, container_id=container_id)
    return LabelFile(f"{base}-pin-labels.pdf", pdf.render_pin_labels(sheet, title))


def location_labels() -> LabelFile:
    """Every active location and every puck position of every active beamline's sample changer."""
    from lims.selectors import beamline_list

    from .selectors import location_list

    sections = pdf.location_sections(list(location_list()), list(beamline_list()))
    return LabelFile("location-barcodes.pdf", pdf.render_location_sheets(sections))


def transport_history_file(shipment) -> LabelFile:
    """The transport history of ``shipment`` (fetched by ``selectors.shipment_detail``) as a PDF."""
    from .pdf.transport import render_transport_history, transport_history

    base = slugify(shipment.name) or f"shipment-{shipment.pk}"
    proposal = slugify(shipment.proposal.name)
    content = render_transport_history(transport_history(shipment))
    return LabelFile(f"{proposal}-{base}-transport-history.pdf", content)
