"""The result report of a mail-in shipment as PDF: cover, summary of every sample, one section per sample
(its tables, then the charts of its processing shells and its pictures: ``report_charts``).

    render_report(shipment) -> bytes

Everything the report prints is read in a handful of queries (``load_shipment``: the shipment with its
proposal and contacts, dewars with their events and sessions, samples with their collections, screenings,
strategies, processings and shells prefetched), so drawing never waits on the database. Times are in the
facility's time zone. Every page carries "page n of m" and a confidentiality line: the report of an
industrial client is for its proposal's members only.
"""

from __future__ import annotations

import itertools
import re
from io import BytesIO
from xml.sax.saxutils import escape

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lims.pdf import BOLD, FONT, ellipsize, font_for, numbered_canvas
from samples.choices import MailinState
from samples.data.choices import Shell
from samples.data.models import DataCollection, ProcessingResult, ScreeningResult
from samples.models import Sample
from shipping.choices import DewarStatus
from shipping.models import Shipment

from . import selectors
from .report_charts import sample_pictures, shell_charts

MARGIN = 15 * mm
WIDTH = 180 * mm  # of every table and chart: A4's text width (Letter's is 6 mm more)
SIZE = 8
PADDING = 3  # points, left and right of a table cell's text
FRAME_PADDING = 6  # points: reportlab's frame pads its content, which then starts at MARGIN like the footer
RULE = colors.Color(0.75, 0.75, 0.75)
HEAD_BACKGROUND = colors.Color(0.92, 0.92, 0.95)
STATE_COLOURS = {
    MailinState.COLLECTED: colors.Color(0.85, 0.95, 0.85),
    MailinState.SCREENED: colors.Color(0.88, 0.92, 1),
    MailinState.FAILED: colors.Color(1, 0.88, 0.88),
    MailinState.SKIPPED: colors.Color(0.94, 0.94, 0.94),
}
ARRIVED = {DewarStatus.AT_FACILITY, DewarStatus.AT_BEAMLINE}

TITLE = ParagraphStyle("title", fontName=BOLD, fontSize=18, leading=22, spaceAfter=6 * mm)
HEADING = ParagraphStyle("heading", fontName=BOLD, fontSize=12, leading=15, spaceBefore=5 * mm, spaceAfter=2 * mm)
SUBHEADING = ParagraphStyle(
    "sub", fontName=BOLD, fontSize=9, leading=11, spaceBefore=2.5 * mm, spaceAfter=1 * mm, keepWithNext=1
)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=11.5)
SMALL = ParagraphStyle("small", fontName=FONT, fontSize=SIZE, leading=10)
SMALL_BOLD = ParagraphStyle("small-bold", parent=SMALL, fontName=BOLD)
COMMENTS = ParagraphStyle("comments", parent=SMALL, spaceBefore=1.5 * mm)
CAPTION = ParagraphStyle("caption", parent=SMALL, fontSize=7, leading=9, textColor=colors.Color(0.35, 0.35, 0.35))
SHELLS_NOTE = (
    "The processing programs report three shells: inner (lowest resolution), overall and outer (highest); "
    "under each group of bars, its resolution range in Å."
)
# Where a word too long for its column (a file template, a sample name) may break: after these characters.
BREAK_AFTER = re.compile(r"(?<=[/_\-.:])")


def load_shipment(shipment_or_pk) -> Shipment:
    """The shipment with everything the report prints, in eight queries whatever its size."""
    pk = getattr(shipment_or_pk, "pk", shipment_or_pk)
    collections = DataCollection.objects.select_related("beamline").order_by("start_time", "id")
    collections = collections.prefetch_related(
        Prefetch("screenings", ScreeningResult.objects.prefetch_related("strategies")),
        Prefetch("processings", ProcessingResult.objects.prefetch_related("shells")),
    )
    samples = Sample.objects.select_related("container", "protein").order_by("container__name", "position")
    return (
        Shipment.objects.select_related("proposal", "sending_contact", "return_contact")
        .prefetch_related(
            "dewars__events",
            "dewars__session__beamline",
            Prefetch("containers__samples", samples),
            Prefetch("containers__samples__data_collections", collections),
        )
        .get(pk=pk)
    )


# --- what is printed ------------------------------------------------------------------------------------


def _f(value, fmt: str = "{:.2f}", unit: str = "") -> str:
    return "—" if value is None else fmt.format(value) + unit


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def _cell(result) -> str:
    """The unit cell on two lines, lengths then angles: six figures do not fit a column's width on one."""
    values = (result.cell_a, result.cell_b, result.cell_c, result.cell_alpha, result.cell_beta, result.cell_gamma)
    if any(v is None for v in values):
        return "—"
    return "{:.1f} {:.1f} {:.1f}\n{:g} {:g} {:g}".format(*values)


def request_text(sample: Sample) -> str:
    """The request as the queue words it (``selectors.request_text``), capitalised for the report; "—" if none."""
    text = selectors.request_text(sample)
    return text[:1].upper() + text[1:] if text else "—"


def outcome_text(sample: Sample) -> str:
    text = sample.get_mailin_state_display()
    return f"{text}: {sample.mailin_state_reason}" if sample.mailin_state_reason else text


class SampleResults:
    """A sample's collections and the best figures among them, read from the prefetched rows."""

    def __init__(self, sample: Sample):
        self.sample = sample
        self.collections = list(sample.data_collections.all())
        self.screenings = [(dc, s) for dc in self.collections for s in dc.screenings.all()]
        self.processings = [
            (dc, p, {sh.shell: sh for sh in p.shells.all()}) for dc in self.collections for p in dc.processings.all()
        ]
        self.best_processing = min(
            (entry for entry in self.processings if Shell.OVERALL in entry[2]),
            key=lambda entry: entry[2][Shell.OVERALL].resolution_high or 99,
            default=None,
        )
        indexed = [s for _, s in self.screenings if s.indexing_success]
        self.best_screening = min(indexed, key=lambda s: s.estimated_resolution or 99, default=None)
        resolutions = [dc.best_resolution for dc in self.collections if dc.best_resolution is not None]
        self.best_resolution = min(resolutions, default=None)

    def summary_row(self) -> list[str]:
        sample = self.sample
        processing = self.best_processing
        screening = self.best_screening
        source = processing[1] if processing else screening
        overall = processing[2][Shell.OVERALL] if processing else None
        return [
            f"{sample.container.name}:{sample.position}\n{sample.name}",
            request_text(sample),
            outcome_text(sample),
            _f(self.best_resolution, unit=" Å"),
            source.space_group or "—" if source else "—",
            _cell(source) if source else "—",
            _f(screening.mosaicity if screening else None, "{:.2f}", "°"),
            _f(overall.completeness if overall else None, "{:.1f}", " %"),
            _f(overall.i_sigma if overall else None, "{:.1f}"),
        ]


def _breakable(text: str, font: str, size: float, width: float) -> str:
    """``text`` with a line break inside each word wider than ``width``, after a "/", "_", "-", "." or ":"
    where one fits: reportlab breaks lines at spaces only, and would cut "…_master.h5" anywhere (it still
    does, for a piece with no such character that is wider than the column)."""
    lines = []
    for line in text.split("\n"):
        words = []
        for word in line.split(" "):
            if stringWidth(word, font, size) > width:
                pieces, word = BREAK_AFTER.split(word), ""
                for piece in pieces:
                    if word and stringWidth(word + piece, font, size) > width:
                        words.append(word + "\n")
                        word = ""
                    word += piece
            words.append(word)
        lines.append(" ".join(words).replace("\n ", "\n"))
    return "\n".join(lines)


def _markup(text: str, font: str) -> str:
    """``text`` escaped for a paragraph, its letters that ``font`` lacks ("σ", "λ", "Ł") in the Unicode
    stand-in only: a whole "I/σ" in DejaVu would stand out among Helvetica headers."""
    parts = []
    for face, chars in itertools.groupby(text, key=lambda char: font_for(char, font)):
        run = escape("".join(chars))
        parts.append(run if face == font else f'<font face="{face}">{run}</font>')
    return "".join(parts).replace("\n", "<br/>")


def _para(text: str, style: ParagraphStyle, width: float | None = None) -> Paragraph:
    """``text`` as a paragraph in ``style``; with ``width``, long words break after their separators to fit it."""
    if width is not None:
        text = _breakable(text, style.fontName, style.fontSize, width)
    return Paragraph(_markup(text, style.fontName), style)


def _table(rows: list[list], widths_mm: tuple, *, head: bool = True, bold_columns=(), extra=()) -> Table:
    """A ruled table whose every text wraps inside its column: strings become paragraphs of the column's
    width (bold in the head row and in ``bold_columns``), so nothing runs into the next cell."""
    widths = [w * mm for w in widths_mm]
    cells = [
        [
            _para(value, SMALL_BOLD if (head and r == 0) or c in bold_columns else SMALL, widths[c] - 2 * PADDING)
            if isinstance(value, str)
            else value
            for c, value in enumerate(row)
        ]
        for r, row in enumerate(rows)
    ]
    table = Table(cells, colWidths=widths, repeatRows=1 if head else 0, hAlign="LEFT")
    commands = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.25, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if head:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEAD_BACKGROUND))
    table.setStyle(TableStyle(commands + list(extra)))
    return table


def _facts(pairs: list[tuple[str, str]]) -> Table:
    rows = [[label, _para(value or "—", BODY)] for label, value in pairs]
    table = Table(rows, colWidths=[45 * mm, 135 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (0, -1), BOLD, 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _contact(card) -> str:
    if card is None:
        return "—"
    return f"{card.name}, {card.lab_name}\n{card.email} · {card.telephone}"


def _sample_section(results: SampleResults) -> list:
    sample = results.sample
    state_colour = STATE_COLOURS.get(sample.mailin_state)
    head = _table(
        [
            ["Request", request_text(sample), "Priority", str(sample.mailin_priority)],
            ["Outcome", outcome_text(sample), "Best resolution", _f(results.best_resolution, unit=" Å")],
        ],
        (22, 88, 30, 40),
        head=False,
        bold_columns=(0, 2),
        extra=[("BACKGROUND", (1, 1), (1, 1), state_colour)] if state_colour else [],
    )
    protein = sample.protein.acronym if sample.protein_id else ""
    story = [
        KeepTogether(
            [
                _para(f"{sample.name} · {sample.container.name} position {sample.position}", HEADING),
                _para(f"Protein {protein}" + (f" · pin {sample.pin_code}" if sample.pin_code else ""), SMALL),
                Spacer(1, 1.5 * mm),
                head,
            ]
        )
    ]
    if sample.mailin_comments:
        story.append(Paragraph(f"<b>Client's comments:</b> {_markup(sample.mailin_comments, FONT)}", COMMENTS))
    if results.screenings:
        story.append(_para("Screening", SUBHEADING))
        rows = [["Program", "Indexed", "Space group", "Cell (Å / °)", "Mosaicity", "Est. res.", "Spots", "Comments"]]
        for _, s in results.screenings:
            rows.append(
                [
                    s.program,
                    "yes" if s.indexing_success else "no",
                    s.space_group or "—",
                    _cell(s),
                    _f(s.mosaicity, unit="°"),
                    _f(s.estimated_resolution, unit=" Å"),
                    _f(s.spots_found, "{}"),
                    s.comments,
                ]
            )
        story.append(_table(rows, (24, 13, 17, 25, 15, 14, 13, 59)))
        strategies = [(s, st) for _, s in results.screenings for st in s.strategies.all()]
        if strategies:
            story.append(_para("Strategy", SUBHEADING))
            rows = [
                [
                    "Program",
                    "φ start–end (°)",
                    "Oscillation (°)",
                    "Exposure (s)",
                    "Completeness",
                    "Multiplicity",
                    "Resolution",
                ]
            ]
            for s, st in strategies:
                rows.append(
                    [
                        s.program,
                        f"{_f(st.phi_start, '{:g}')}–{_f(st.phi_end, '{:g}')}",
                        _f(st.oscillation, "{:g}"),
                        _f(st.exposure_time, "{:g}"),
                        _f(st.completeness, "{:.1f}", " %"),
                        _f(st.multiplicity, "{:.1f}"),
                        _f(st.resolution, unit=" Å"),
                    ]
                )
            story.append(_table(rows, (24, 28, 26, 24, 28, 25, 25)))
    if results.collections:
        story.append(_para("Collections", SUBHEADING))
        rows = [["Start", "Beamline", "Type", "Status", "Images", "λ (Å)", "Exposure", "Transm.", "Files"]]
        for dc in results.collections:
            rows.append(
                [
                    _when(dc.start_time),
                    dc.beamline.name,
                    dc.get_experiment_type_display(),
                    dc.get_status_display(),
                    str(dc.number_of_images),
                    _f(dc.wavelength, "{:.4f}"),
                    _f(dc.exposure_time, "{:g}", " s"),
                    _f(dc.transmission, "{:g}", " %"),
                    dc.file_template,
                ]
            )
        story.append(_table(rows, (25, 17, 25, 16, 12, 13, 15, 14, 43)))
    if results.processings:
        story.append(_para("Processing", SUBHEADING))
        rows = [
            [
                "Program",
                "Space group",
                "Cell (Å / °)",
                "Shell",
                "Resolution (Å)",
                "Compl.",
                "Mult.",
                "I/σ",
                "Rmerge",
                "CC½",
            ]
        ]
        for _, p, shells in results.processings:
            for key in (Shell.OVERALL, Shell.INNER, Shell.OUTER):
                sh = shells.get(key)
                if sh is None:
                    continue
                first = key == Shell.OVERALL
                rows.append(
                    [
                        p.program if first else "",
                        p.space_group if first else "",
                        _cell(p) if first else "",
                        sh.get_shell_display(),
                        f"{_f(sh.resolution_low)}–{_f(sh.resolution_high)}",
                        _f(sh.completeness, "{:.1f}", " %"),
                        _f(sh.multiplicity, "{:.1f}"),
                        _f(sh.i_sigma, "{:.1f}"),
                        _f(sh.r_merge, "{:.3f}"),
                        _f(sh.cc_half, "{:.3f}"),
                    ]
                )
        story.append(_table(rows, (30, 17, 27, 16, 22, 15, 13, 12, 14, 14)))
    charts = shell_charts(results.processings, WIDTH)
    if charts is not None:
        # One block: keepWithNext does not hold a heading to a KeepTogether.
        story.append(
            KeepTogether([_para("Statistics by resolution shell", SUBHEADING), _para(SHELLS_NOTE, CAPTION), charts])
        )
    pictures = sample_pictures(results.collections, WIDTH, CAPTION)
    if pictures is not None:
        story.append(_para("Images", SUBHEADING))
        story.append(pictures)
    if sample.mailin_notes:
        story.append(_para("Operator notes", SUBHEADING))
        story.append(_para(sample.mailin_notes, BODY))
    if not (results.collections or sample.mailin_notes):
        story.append(Spacer(1, 1 * mm))
        story.append(_para("No data were collected on this sample.", SMALL))
    return story


def _story(shipment: Shipment, samples: list[Sample]) -> list:
    proposal = shipment.proposal
    dewars = list(shipment.dewars.all())
    arrivals = [e.at for d in dewars for e in d.events.all() if e.status in ARRIVED]
    beamlines = sorted(
        {dc.beamline.name for s in samples for dc in s.data_collections.all()}
        | {d.session.beamline.name for d in dewars if d.session_id}
    )
    results = [SampleResults(s) for s in samples]
    counts = {state.label: sum(1 for s in samples if s.mailin_state == state) for state in MailinState}
    story = [
        _para(f"{settings.FACILITY_NAME} · mail-in result report", TITLE),
        _facts(
            [
                ("Client", f"{proposal.name} · {proposal.title}"),
                ("Proposal", f"{proposal.name} ({proposal.get_kind_display()})"),
                ("Lab contact", _contact(shipment.sending_contact)),
                *(
                    [("Return contact", _contact(shipment.return_contact))]
                    if shipment.return_contact_id and shipment.return_contact_id != shipment.sending_contact_id
                    else []
                ),
                ("Shipment", f"{shipment.name} · {len(dewars)} dewar(s), {len(samples)} sample(s)"),
                ("Sent", _when(shipment.sent_at)),
                ("Arrival at the facility", _when(min(arrivals)) if arrivals else "—"),
                ("Work completed", _when(shipment.mailin_completed_at)),
                ("Beamline(s)", ", ".join(beamlines) or "—"),
                ("Samples", ", ".join(f"{n} {label.lower()}" for label, n in counts.items() if n) or "none"),
                ("Report printed", _when(timezone.now()) + f" ({settings.TIME_ZONE})"),
            ]
        ),
        _para("Summary", HEADING),
    ]
    rows = [["Sample", "Request", "Outcome", "Best res.", "Space group", "Cell (Å / °)", "Mosaic.", "Compl.", "I/σ"]]
    extra = []
    for index, r in enumerate(results, start=1):
        rows.append(r.summary_row())
        colour = STATE_COLOURS.get(r.sample.mailin_state)
        if colour:
            extra.append(("BACKGROUND", (2, index), (2, index), colour))
    story.append(_table(rows, (30, 29, 30, 14, 17, 25, 13, 12, 10), extra=extra))
    for r in results:
        story += _sample_section(r)
    return story


def _numbered_canvas(footer: str, confidential: str):
    """A canvas holding its pages back until the end, to print "page n of m" and the confidentiality line."""

    def draw(canvas, number: int, total: int) -> None:
        width, height = canvas._pagesize
        canvas.setFillGray(0.35)
        canvas.setFont(font_for(confidential, BOLD), 7)
        canvas.drawCentredString(width / 2, height - 9 * mm, confidential)
        canvas.setFont(font_for(footer, FONT), 7)
        canvas.drawString(MARGIN, 8 * mm, ellipsize(footer, font_for(footer, FONT), 7, width - 2 * MARGIN - 25 * mm))
        canvas.drawRightString(width - MARGIN, 8 * mm, f"page {number} of {total}")

    return numbered_canvas(draw)


def confidentiality_line(shipment: Shipment) -> str:
    return (
        f"CONFIDENTIAL — for the members of proposal {shipment.proposal.name} only; "
        f"not to be passed on without the client's consent."
    )


def render_report(shipment) -> bytes:
    """The report of ``shipment`` (an instance or a pk) as PDF bytes, A4 (Letter when labels are on Letter)."""
    shipment = load_shipment(shipment)
    samples = [s for c in shipment.containers.all() for s in c.samples.all()]
    samples.sort(key=lambda s: (s.container.name, s.position))
    buffer = BytesIO()
    pagesize = LETTER if str(settings.LABEL_PAGE_SIZE).upper() == "LETTER" else A4
    title = f"Mail-in report · {shipment.proposal.name} · {shipment.name}"
    document = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=MARGIN - FRAME_PADDING,
        rightMargin=MARGIN - FRAME_PADDING,
        topMargin=MARGIN - FRAME_PADDING,
        bottomMargin=MARGIN - FRAME_PADDING,
        title=title,
        author=settings.FACILITY_NAME,
        creator="MX LIMS",
        pageCompression=1,
    )
    footer = f"{settings.FACILITY_NAME} · mail-in report · {shipment.proposal.name} · {shipment.name}"
    document.build(_story(shipment, samples), canvasmaker=_numbered_canvas(footer, confidentiality_line(shipment)))
    return buffer.getvalue()
