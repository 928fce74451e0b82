"""The transport history of a shipment as PDF: every step of every dewar, with a shipment header.

    transport_history(shipment) -> TransportHistory       plain data, read from a shipment already fetched
    render_transport_history(history) -> bytes            reportlab platypus; knows nothing of the database

The builder takes a shipment from ``shipping.selectors.shipment_detail`` (dewars → events → location, user
prefetched) and reads only what is in memory, so that drawing never waits on a query. Times are in the
facility's time zone (``TIME_ZONE``), as the stores staff wrote them down.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lims.pdf import BOLD, FONT, font_for, numbered_canvas, wrap

from ..choices import DewarEventKind
from ..tracking import tracking_url
from .data import ContactCard, _card, _deliver_to

INCIDENT_BACKGROUND = colors.Color(1, 0.88, 0.88)
INCIDENT_TEXT = colors.Color(0.6, 0, 0)
NOTE_BACKGROUND = colors.Color(0.95, 0.95, 0.97)
RULE = colors.Color(0.75, 0.75, 0.75)
MARGIN = 15 * mm
SIZE = 8  # table text: 30 steps of a dewar fit about one page
# When | Event | Location | By | Courier / tracking | Note, in mm: the note takes what is left of A4's 180 mm.
COLUMNS_MM = (26, 29, 27, 25, 32, 41)
HEADINGS = ("When", "Event", "Location", "By", "Courier / tracking", "Note")


@dataclass(frozen=True)
class TransportStep:
    """One event of a dewar, as printed."""

    when: str  # "2025-03-04 09:12", facility time
    kind: str  # DewarEventKind value
    event: str  # "At facility", "INCIDENT · Lost"
    location: str
    by: str
    courier: str
    tracking_number: str
    note: str

    @property
    def incident(self) -> bool:
        return self.kind == DewarEventKind.INCIDENT


@dataclass(frozen=True)
class Journey:
    """A courier leg of a dewar: the courier, the tracking number and the courier's tracking page."""

    courier: str
    tracking_number: str
    url: str | None

    def __str__(self) -> str:
        return " ".join(part for part in (self.courier, self.tracking_number) if part) or "—"


@dataclass(frozen=True)
class DewarHistory:
    """A dewar's card and its steps, oldest first."""

    name: str
    barcode: str
    number: int
    count: int
    status: str
    location: str
    deliver_to: str
    experiment: str
    local_contact: str
    arrival: str
    to_facility: Journey
    from_facility: Journey
    steps: tuple[TransportStep, ...]


@dataclass(frozen=True)
class TransportHistory:
    """What the transport history PDF prints: the shipment header and each dewar's history."""

    facility_name: str
    shipment: str
    proposal: str
    proposal_title: str
    status: str
    sent: str
    expected_arrival: str
    safety_level: str
    return_courier: str
    contacts: tuple[tuple[str, ContactCard | None], ...]
    dewars: tuple[DewarHistory, ...]
    printed: str
    time_zone: str

    @property
    def title(self) -> str:
        return f"Transport history of shipment {self.shipment} ({self.proposal})"


def _when(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return timezone.localtime(moment).strftime(fmt) if moment else ""


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def _step(event) -> TransportStep:
    status = event.get_status_display()
    if event.kind == DewarEventKind.INCIDENT:
        label = f"INCIDENT · {status}"
    elif event.kind == DewarEventKind.NOTE:
        label = f"Note · {status}"
    else:
        label = status
    return TransportStep(
        when=_when(event.at),
        kind=event.kind,
        event=label,
        location=str(event.location) if event.location_id else "",
        by=_person(event.user),
        courier=event.courier,
        tracking_number=event.tracking_number,
        note=event.note,
    )


def _dewar(dewar, number: int, count: int) -> DewarHistory:
    session = dewar.session
    return DewarHistory(
        name=dewar.name,
        barcode=dewar.barcode or "",
        number=number,
        count=count,
        status=dewar.get_status_display(),
        location=str(dewar.location) if dewar.location_id else "",
        deliver_to=_deliver_to(dewar),
        experiment=f"{_when(session.start)} on {session.beamline.name}" if session else "",
        local_contact=_person(dewar.local_contact),
        arrival=_when(dewar.arrival),
        to_facility=Journey(
            dewar.courier_to_facility,
            dewar.tracking_to_facility,
            tracking_url(dewar.courier_to_facility, dewar.tracking_to_facility),
        ),
        from_facility=Journey(
            dewar.courier_from_facility,
            dewar.tracking_from_facility,
            tracking_url(dewar.courier_from_facility, dewar.tracking_from_facility),
        ),
        steps=tuple(_step(event) for event in dewar.events.all()),
    )


def transport_history(shipment, *, printed: dt.datetime | None = None) -> TransportHistory:
    """The history of ``shipment`` (from ``shipment_detail``: nothing here queries)."""
    dewars = list(shipment.dewars.all())
    return TransportHistory(
        facility_name=settings.FACILITY_NAME,
        shipment=shipment.name,
        proposal=shipment.proposal.name,
        proposal_title=shipment.proposal.title,
        status=shipment.get_status_display(),
        sent=_when(shipment.sent_at),
        expected_arrival=f"{shipment.expected_arrival:%Y-%m-%d}" if shipment.expected_arrival else "",
        safety_level=shipment.get_safety_level_display(),
        return_courier=" · account ".join(p for p in (shipment.return_courier, shipment.return_courier_account) if p),
        contacts=(
            ('Lab contact "to facility"', _card(shipment.sending_contact)),
            ('Lab contact "home lab" (return)', _card(shipment.return_contact)),
        ),
        dewars=tuple(_dewar(dewar, n, len(dewars)) for n, dewar in enumerate(dewars, start=1)),
        printed=_when(printed or timezone.now()),
        time_zone=str(timezone.get_current_timezone()),
    )


# Rendering ------------------------------------------------------------------------------------------------


def _style(name: str, font: str = FONT, size: float = 9, **kw) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.25, **kw)


TITLE = _style("title", BOLD, 15, spaceAfter=2 * mm)
HEADING = _style("heading", BOLD, 11, spaceBefore=5 * mm, spaceAfter=1.5 * mm, keepWithNext=1)
TEXT = _style("text")
SMALL = _style("small", size=SIZE)
KEY = _style("key", textColor=colors.grey)


def _para(text: str, style: ParagraphStyle, markup: str = "") -> Paragraph:
    """``text`` escaped (a note may hold "<" or "&"), in ``style``'s font or its Unicode stand-in."""
    font = font_for(text, style.fontName)
    if font != style.fontName:
        style = ParagraphStyle(f"{style.name}-u", parent=style, fontName=font)
    return Paragraph(markup or escape(text), style)


def _link(journey: Journey) -> Paragraph:
    """Courier and number, then the tracking page printed in full: on paper a link has to be read."""
    text = str(journey)
    if not journey.url:
        return _para(text, TEXT)
    url = escape(journey.url, {'"': "&quot;"})
    markup = f'{escape(text)}<br/><font size="7"><a href="{url}" color="blue">{escape(journey.url)}</a></font>'
    return _para(text + journey.url, TEXT, markup)


def _facts(rows: list[tuple[str, object]], widths=(45 * mm, 135 * mm)) -> Table:
    """A key / value table; values are strings or paragraphs."""
    cells = [
        [_para(key, KEY), value if isinstance(value, Paragraph) else _para(value or "—", TEXT)] for key, value in rows
    ]
    table = Table(cells, colWidths=widths, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _contact(card: ContactCard | None) -> str:
    if card is None:
        return "—"
    parts = [card.name, card.lab_name, ", ".join(card.address), card.telephone, card.email]
    return " · ".join(p for p in parts if p)


def _cell(text: str, width: float, font: str) -> str:
    """A table cell's text wrapped to its column: strings, not paragraphs, keep 300 rows fast to lay out."""
    if not text:
        return ""
    return "\n".join(line for part in text.splitlines() for line in (wrap(part, font, SIZE, width) or [""]))


def _steps_table(steps: tuple[TransportStep, ...]) -> Table:
    widths = [w * mm for w in COLUMNS_MM]
    inner = [w - 4 for w in widths]  # the cell padding, 2 pt each side
    rows = [list(HEADINGS)]
    commands = [
        ("FONT", (0, 0), (-1, 0), BOLD, SIZE),
        ("FONT", (0, 1), (-1, -1), FONT, SIZE),
        ("LEADING", (0, 0), (-1, -1), SIZE * 1.2),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
    ]
    for index, step in enumerate(steps, start=1):
        texts = (
            step.when,
            step.event,
            step.location,
            step.by,
            "\n".join(p for p in (step.courier, step.tracking_number) if p),
            step.note,
        )
        font = BOLD if step.incident else FONT
        # One font for the row: a name with "Ł" sets the whole row in the Unicode font, a rare case.
        row_font = font_for("".join(texts), font)
        rows.append([_cell(text, width, row_font) for text, width in zip(texts, inner, strict=True)])
        if row_font != FONT:
            commands.append(("FONT", (0, index), (-1, index), row_font, SIZE))
        if step.incident:
            # Incidents stand out: a red band, in bold, whatever the printer does with colour.
            commands += [
                ("BACKGROUND", (0, index), (-1, index), INCIDENT_BACKGROUND),
                ("TEXTCOLOR", (0, index), (-1, index), INCIDENT_TEXT),
                ("LINEABOVE", (0, index), (-1, index), 1, INCIDENT_TEXT),
                ("LINEBELOW", (0, index), (-1, index), 1, INCIDENT_TEXT),
            ]
        elif step.kind == DewarEventKind.NOTE:
            commands.append(("BACKGROUND", (0, index), (-1, index), NOTE_BACKGROUND))
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    return table


def _story(history: TransportHistory) -> list:
    story = [
        _para(history.title, TITLE),
        _facts(
            [
                ("Shipment", history.shipment),
                ("Proposal", f"{history.proposal} · {history.proposal_title}".strip(" ·")),
                ("Status", history.status),
                ("Sending date", history.sent),
                ("Expected arrival", history.expected_arrival),
                ("Dewars", str(len(history.dewars))),
                ("Safety level", history.safety_level),
                ("Return courier", history.return_courier),
                *((title, _contact(card)) for title, card in history.contacts),
                ("Printed", f"{history.printed} ({history.time_zone})"),
            ]
        ),
    ]
    for dewar in history.dewars:
        code = f" · {dewar.barcode}" if dewar.barcode else ""
        story.append(_para(f"Dewar {dewar.name}{code} ({dewar.number} of {dewar.count})", HEADING))
        story.append(
            _facts(
                [
                    ("Status", dewar.status),
                    ("Location", dewar.location),
                    ("Deliver to", dewar.deliver_to),
                    ("Experiment", dewar.experiment),
                    ("Local contact", dewar.local_contact),
                    ("Arrival at facility", dewar.arrival),
                    ("To facility", _link(dewar.to_facility)),
                    ("Back from facility", _link(dewar.from_facility)),
                ]
            )
        )
        story.append(Spacer(1, 2 * mm))
        if dewar.steps:
            story.append(_steps_table(dewar.steps))
        else:
            story.append(_para("No transport events yet.", SMALL))
    return story


def _numbered_canvas(footer: str, printed: str):
    """A canvas that holds its pages back until the end, to print "page n of m" on each."""

    def draw(canvas, number: int, total: int) -> None:
        width, _ = canvas._pagesize
        canvas.setFont(font_for(footer, FONT), 7)
        canvas.setFillGray(0.35)
        canvas.drawString(MARGIN, 8 * mm, footer)
        canvas.drawCentredString(width / 2, 8 * mm, f"printed {printed}")
        canvas.drawRightString(width - MARGIN, 8 * mm, f"page {number} of {total}")

    return numbered_canvas(draw)


def render_transport_history(history: TransportHistory) -> bytes:
    """The history as PDF bytes: A4 (Letter when ``LABEL_PAGE_SIZE`` is Letter), page numbers in the footer."""
    from io import BytesIO

    buffer = BytesIO()
    pagesize = LETTER if settings.LABEL_PAGE_SIZE.upper() == "LETTER" else A4
    document = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=history.title,
        author=history.facility_name,
        creator="MX LIMS",
        pageCompression=1,
    )
    footer = f"{history.facility_name} · transport history · {history.proposal} · {history.shipment}"
    document.build(_story(history), canvasmaker=_numbered_canvas(footer, history.printed))
    return buffer.getvalue()
