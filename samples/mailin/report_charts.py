"""The pictures of a sample in the mail-in report: its processing statistics by resolution shell as charts, and
its crystal snapshot and diffraction-image thumbnail.

    shell_charts(processings, width) -> Drawing | None    completeness and I/σ(I) by shell, a colour a processing
    sample_pictures(collections, width, caption_style) -> Table | None    the snapshot and the thumbnail

Processing programs report three shells (``ProcessingShell``): inner (the lowest resolution), overall and outer
(the highest). The charts show those three, as grouped bars in that order, each labelled with its resolution
range: a curve through three summary shells would suggest a resolution dependence the figures do not give.
Everything is drawn by reportlab; nothing outside the data root is read, and a picture that cannot be decoded
is left out rather than stopping the report.
"""

from __future__ import annotations

from io import BytesIO

from PIL import Image as PILImage
from PIL import ImageOps
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Group, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, Table, TableStyle

from lims.pdf import FONT, ellipsize, font_for
from samples.data.choices import Shell
from samples.data.views import data_file

SHELLS = (Shell.INNER, Shell.OVERALL, Shell.OUTER)  # low to high resolution, as a reader scans a resolution axis
SERIES_COLOURS = (
    colors.Color(0.16, 0.39, 0.66),
    colors.Color(0.89, 0.52, 0.13),
    colors.Color(0.27, 0.6, 0.33),
    colors.Color(0.55, 0.33, 0.65),
    colors.Color(0.5, 0.5, 0.5),
)
AXIS_GREY = colors.Color(0.35, 0.35, 0.35)
GRID_GREY = colors.Color(0.88, 0.88, 0.88)
# (ProcessingShell field, the value axis's title, its fixed maximum or None for "from the data", bar label format)
FIGURES = (
    ("completeness", "Completeness (%)", 100, "%.1f"),
    ("i_sigma", "I/σ(I)", None, "%.1f"),
)
LABEL_SIZE = 6.5
TITLE_SIZE = 7.5
BAR_LABELS_UP_TO = 3  # processings; with more, the bars are too narrow for their values
PICTURE_HEIGHT = 55 * mm
PICTURE_PIXELS = 900  # longest side embedded: sharp at 55 mm, small in the PDF whatever the camera's size


def _range(shell) -> str:
    if shell is None or shell.resolution_low is None or shell.resolution_high is None:
        return "—"
    return f"{shell.resolution_low:.2f}–{shell.resolution_high:.2f}"


def series_names(processings) -> list[str]:
    """A legend entry a processing: program and space group, numbered when a program ran more than once."""
    programs = [p.program for _, p, _ in processings]
    names = []
    for index, (_, p, _) in enumerate(processings):
        name = f"{p.program} · {p.space_group}" if p.space_group else p.program
        if programs.count(p.program) > 1:
            name += f" ({programs[: index + 1].count(p.program)})"
        names.append(name)
    return names


def _category_labels(processings) -> list[str]:
    """ "Inner", then each processing's range of that shell in legend order (one line when they agree)."""
    labels = []
    for key in SHELLS:
        ranges = [_range(shells.get(key)) for _, _, shells in processings]
        lines = ranges[:1] if len(set(ranges)) == 1 else ranges
        labels.append("\n".join([Shell(key).label.removesuffix(" shell"), *lines]))
    return labels


def _vertical(text: str, x: float, y: float, size: float) -> Group:
    """``text`` turned a quarter to the left, centred on (x, y): a value axis's title."""
    return Group(
        String(0, 0, text, fontName=font_for(text, FONT), fontSize=size, textAnchor="middle", fillColor=AXIS_GREY),
        transform=(0, 1, -1, 0, x, y),
    )


def _bar_chart(processings, figure: str, maximum, label_format: str, x, y, width, height) -> VerticalBarChart:
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = x, y, width, height
    chart.data = [[getattr(shells.get(key), figure, None) for key in SHELLS] for _, _, shells in processings]
    # Relative to a bar's width: a lone processing's bars stay bars, not blocks.
    chart.groupSpacing = 18 if len(processings) == 1 else 14
    chart.barSpacing = 1
    for index in range(len(processings)):
        chart.bars[index].fillColor = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        chart.bars[index].strokeColor = None
    chart.categoryAxis.categoryNames = _category_labels(processings)
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = LABEL_SIZE
    chart.categoryAxis.labels.leading = LABEL_SIZE * 1.2
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.categoryAxis.labels.textAnchor = "middle"
    chart.categoryAxis.labels.dy = -3
    chart.categoryAxis.strokeColor = AXIS_GREY
    chart.categoryAxis.tickDown = 0
    axis = chart.valueAxis
    axis.valueMin = 0
    values = [v for row in chart.data for v in row if v is not None]
    top = maximum if maximum is not None else max(values, default=1) * 1.2 or 1
    axis.valueMax = top
    axis.valueStep = _step(top)
    axis.labels.fontName = FONT
    axis.labels.fontSize = LABEL_SIZE
    axis.strokeColor = AXIS_GREY
    axis.visibleGrid = True
    axis.gridStrokeColor = GRID_GREY
    axis.gridStrokeWidth = 0.4
    if len(processings) <= BAR_LABELS_UP_TO:
        chart.barLabelFormat = label_format
        chart.barLabels.fontName = FONT
        chart.barLabels.fontSize = LABEL_SIZE - 0.5
        chart.barLabels.nudge = 4
        chart.barLabels.fillColor = AXIS_GREY
    return chart


def _step(top: float) -> float:
    """A round tick step giving four to eight ticks up to ``top``."""
    for step in (0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500):
        if top / step <= 8:
            return step
    return top / 5


def shell_charts(processings, width: float) -> Drawing | None:
    """Completeness and I/σ(I) of the inner, overall and outer shell of each processing in ``processings``
    (``(collection, result, {shell: ProcessingShell})`` as ``report.SampleResults`` lists them), side by side;
    a legend names the processings when there are several. None when no processing has a shell."""
    processings = [entry for entry in processings if any(entry[2].get(key) for key in SHELLS)]
    if not processings:
        return None
    legend = series_names(processings) if len(processings) > 1 else []
    label_lines = max(label.count("\n") + 1 for label in _category_labels(processings))
    bottom = 6 + label_lines * LABEL_SIZE * 1.2 + 3 + TITLE_SIZE + 4  # category labels, then the axis title
    plot_height = 34 * mm
    legend_height = len(legend) * (LABEL_SIZE + 3.5) + (4 if legend else 0)
    height = bottom + plot_height + 10 + legend_height
    drawing = Drawing(width, height)
    panel = width / len(FIGURES)
    for index, (figure, title, maximum, label_format) in enumerate(FIGURES):
        left = index * panel
        plot_x, plot_width = left + 16 * mm, panel - 22 * mm
        drawing.add(_bar_chart(processings, figure, maximum, label_format, plot_x, bottom, plot_width, plot_height))
        drawing.add(_vertical(title, left + 4 * mm, bottom + plot_height / 2, TITLE_SIZE))
        drawing.add(
            String(
                plot_x + plot_width / 2,
                4,
                "Resolution shell (Å)",
                fontName=FONT,
                fontSize=TITLE_SIZE,
                textAnchor="middle",
                fillColor=AXIS_GREY,
            )
        )
    for row, name in enumerate(legend):
        y = height - (row + 1) * (LABEL_SIZE + 3.5)
        colour = SERIES_COLOURS[row % len(SERIES_COLOURS)]
        drawing.add(Rect(16 * mm, y, 7, LABEL_SIZE, fillColor=colour, strokeColor=None))
        text = ellipsize(name, font_for(name, FONT), LABEL_SIZE + 0.5, width - 16 * mm - 12)
        drawing.add(String(16 * mm + 11, y + 0.8, text, fontName=font_for(text, FONT), fontSize=LABEL_SIZE + 0.5))
    return drawing


# --- pictures --------------------------------------------------------------------------------------------------


def picture(path: str, width: float, height: float = PICTURE_HEIGHT) -> Image | None:
    """The image file ``path`` names under DATA_ROOT, fitted in ``width`` × ``height``; None when it is not
    there or cannot be decoded. It is decoded whole here (a truncated file fails now, not halfway through the
    build), scaled down to ``PICTURE_PIXELS`` and re-encoded as JPEG, so a camera's 20-megapixel frame does not
    make a 20 MB report."""
    found = data_file(path)
    if found is None:
        return None
    try:
        with PILImage.open(found) as source:
            source.load()
            source = ImageOps.exif_transpose(source)  # a camera's frame the way up it was taken
            image = source.convert("RGBA") if source.mode in ("RGBA", "LA", "P", "PA") else source
            if image.mode == "RGBA":
                flat = PILImage.new("RGB", image.size, "white")
                flat.paste(image, mask=image.getchannel("A"))
                image = flat
            elif image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            image.thumbnail((PICTURE_PIXELS, PICTURE_PIXELS))
            buffer = BytesIO()
            image.save(buffer, "JPEG", quality=88)
    except Exception:  # a broken or unreadable image file must not stop the report (PIL raises many kinds)
        return None
    buffer.seek(0)
    pixels_wide, pixels_high = image.size
    scale = min(width / pixels_wide, height / pixels_high)
    flowable = Image(buffer, width=pixels_wide * scale, height=pixels_high * scale)
    flowable.hAlign = "LEFT"
    return flowable


def sample_pictures(collections, width: float, caption_style) -> Table | None:
    """The first crystal snapshot and the first diffraction-image thumbnail among ``collections`` that can be
    drawn, side by side with their captions; None when there is neither."""
    column = width / 2
    found = []
    for field, caption in (
        ("snapshot_path", "Crystal snapshot"),
        ("thumbnail_path", "Thumbnail of a diffraction image"),
    ):
        for dc in collections:
            image = picture(getattr(dc, field), column - 4 * mm) if getattr(dc, field) else None
            if image is not None:
                found.append((image, Paragraph(caption, caption_style)))
                break
    if not found:
        return None
    table = Table(
        [[image for image, _ in found], [text for _, text in found]], colWidths=[column] * len(found), hAlign="LEFT"
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 1), (-1, 1), 2),
            ]
        )
    )
    return table
