"""The mail-in report's layout, read back from the PDF with pdfplumber: with the longest names, file templates,
reasons and comments the fields allow, no text overprints another, none crosses its table cell's rule or the
page's margin; the charts of the processing shells and the sample's pictures are in it."""

import itertools
from io import BytesIO

import pdfplumber
import pytest
from PIL import Image
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.lib.units import mm

from lims.choices import ProposalKind
from samples.data.choices import Shell
from samples.data.models import (
    DataCollection,
    ProcessingResult,
    ProcessingShell,
    ScreeningResult,
    ScreeningStrategy,
)
from samples.mailin.report import MARGIN, WIDTH, SampleResults, load_shipment, render_report
from samples.mailin.report_charts import SERIES_COLOURS, shell_charts
from samples.models import Sample
from tests import factories as f

pytestmark = pytest.mark.django_db

EDGE = 5 * mm  # the header and footer lines print 8 to 9 mm from the paper's edge; an office printer needs 4
CELL = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")
SHELL_FIGURES = ("resolution_low", "resolution_high", "completeness", "multiplicity", "i_sigma", "r_merge", "cc_half")
# Two processings of the same data set: (program, space group, cell, {shell: figures}).
PROCESSINGS = [
    (
        "autoPROC",
        "P 21 21 21",
        (154.23, 161.87, 188.09, 90, 90, 90),
        {
            Shell.INNER: (48.12, 5.01, 99.9, 6.9, 38.2, 0.034, 0.999),
            Shell.OVERALL: (48.12, 1.81, 97.3, 6.7, 11.6, 0.083, 0.997),
            Shell.OUTER: (1.84, 1.81, 84.6, 6.1, 1.4, 1.012, 0.512),
        },
    ),
    (
        "xia2-dials-multiplex-scaling-pipeline",
        "C 1 2 1",
        (154.21, 161.9, 188.12, 90, 112.47, 90),
        {
            Shell.INNER: (48.1, 5.43, 99.1, 3.4, 29.8, 0.041, 0.998),
            Shell.OVERALL: (48.1, 1.95, 92.8, 3.3, 9.1, 0.097, 0.995),
            Shell.OUTER: (1.98, 1.95, 71.3, 3.0, 1.1, 1.254, 0.401),
        },
    ),
]
LONG_NAME = "KRAS_G12C_fragment_soak_F0423_plate07-B3-d2-x"  # 45 characters, the most a name may have
LONG_TEMPLATE = "KRAS_G12C_fragment_soak_F0423_plate07_B3_drop2_crystal_form_II_cryo_25pc_glycerol_sweep_01_master_h5_####_of_3600.cbf"
LONG_REASON = (
    "Stopped after the characterisation: the crystal diffracts anisotropically (1.8 Å along c*, 3.2 Å along a*) "
    "and shows a second lattice rotated by about 4°; a new crystal from the same drop was not available."
)
LONG_COMMENTS = (
    "Please collect the full 360° with inverse beam if the crystal survives; the anomalous signal of the "
    "selenomethionine derivative is weak. Keep the transmission low, the crystals are radiation sensitive. "
    "If the first crystal is poor, the second one on the same pin (loop B) is larger but thinner. " * 2
)


def shells(processing, figures):
    ProcessingShell.objects.bulk_create(
        ProcessingShell(processing=processing, shell=shell, **dict(zip(SHELL_FIGURES, values, strict=True)))
        for shell, values in figures.items()
    )


def build_adversarial_shipment(data_root):
    """A mail-in shipment whose first pin has everything at its longest, pictures under ``data_root`` included;
    the second failed with a long reason, the third has no data."""
    proposal = f.ProposalFactory(code="in", number="2002", kind=ProposalKind.INDUSTRIAL, mail_in=True)
    beamline = f.BeamlineFactory(name="MX-3-microfocus")
    name = "KRAS-G12C-fragment-campaign-2024-p07"
    shipment = f.at_facility(f.shipment_tree(proposal=proposal, samples=3, name=name))
    first, failed, untouched = Sample.objects.filter(container__shipment=shipment).order_by("position")
    Sample.objects.filter(pk=first.pk).update(
        name=LONG_NAME,
        mailin_request="dataset",
        mailin_dataset_kind="sad",
        anomalous_scatterer="Se",
        required_resolution=1.8,
        mailin_comments=LONG_COMMENTS,
        mailin_state="collected",
        mailin_state_reason=LONG_REASON,
        mailin_notes="Two sweeps; the second one after re-centring on the thicker part of the crystal. " * 3,
    )
    Sample.objects.filter(pk=failed.pk).update(
        name=LONG_NAME[:-1] + "y",
        mailin_request="screen_collect",
        mailin_collect_better_than=2.0,
        mailin_state="failed",
        mailin_state_reason=LONG_REASON,
    )
    Sample.objects.filter(pk=untouched.pk).update(mailin_request="screen", mailin_state="skipped")

    data_root.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (320, 240), (40, 90, 160)).save(data_root / "snapshot.png")
    Image.new("L", (256, 256), 245).save(data_root / "thumbnail.png")
    group = f.collection_group(proposal=proposal, beamline=beamline, sample=first, experiment_type="screening")
    shot = f.collection(
        group,
        file_template=LONG_TEMPLATE,
        number_of_images=4,
        wavelength=0.97625,
        exposure_time=0.025,
        transmission=12.5,
        best_resolution=1.81,
        snapshot_path="snapshot.png",
        thumbnail_path=str(data_root / "thumbnail.png"),
    )
    screening = ScreeningResult.objects.create(
        data_collection=shot,
        program="EDNA-characterisation-with-best-strategy",
        indexing_success=True,
        space_group="P 21 21 21",
        **dict(zip(CELL, PROCESSINGS[0][2], strict=True)),
        mosaicity=0.35,
        estimated_resolution=1.85,
        spots_found=123456,
        comments=LONG_COMMENTS,
    )
    ScreeningStrategy.objects.create(
        screening=screening,
        phi_start=-180,
        phi_end=180,
        oscillation=0.05,
        exposure_time=0.0125,
        completeness=99.95,
        multiplicity=13.6,
        resolution=1.85,
    )
    sad = f.collection_group(proposal=proposal, beamline=beamline, sample=first, experiment_type="sad")
    data_set = f.collection(sad, file_template=LONG_TEMPLATE, number_of_images=7200, best_resolution=1.81)
    for program, space_group, cell, figures in PROCESSINGS:
        result = ProcessingResult.objects.create(
            data_collection=data_set, program=program, space_group=space_group, **dict(zip(CELL, cell, strict=True))
        )
        shells(result, figures)
    group = f.collection_group(proposal=proposal, beamline=beamline, sample=failed, experiment_type="screening")
    f.collection(group, file_template=LONG_TEMPLATE, status="failed")
    return shipment


@pytest.fixture
def adversarial(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_ROOT = tmp_path / "data"
    return build_adversarial_shipment(settings.DATA_ROOT)


def overlapping(a, b, slack: float = 0.3) -> bool:
    return (
        min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > slack
        and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack
    )


def layout_faults(pdf: bytes) -> list[str]:
    """Where the PDF's letters overprint one another, cross a vertical rule (a table's column boundary, a
    chart's frame) or an image, or leave the page's margins; empty when the layout is clean."""
    faults = []
    with pdfplumber.open(BytesIO(pdf)) as document:
        for number, page in enumerate(document.pages, start=1):
            chars = sorted((c for c in page.chars if c["text"].strip()), key=lambda c: c["top"])
            for i, char in enumerate(chars):
                for other in itertools.takewhile(lambda o, c=char: o["top"] < c["bottom"], chars[i + 1 :]):
                    if overlapping(char, other):
                        faults.append(f"p{number}: {char['text']!r} overprints {other['text']!r} at {char['x0']:.0f}")
            rules = [e for e in page.edges if e["orientation"] == "v"]
            for char in chars:
                middle = (char["top"] + char["bottom"]) / 2
                for rule in rules:
                    if rule["top"] < middle < rule["bottom"] and char["x0"] + 0.3 < rule["x0"] < char["x1"] - 0.3:
                        faults.append(f"p{number}: {char['text']!r} crosses the rule at x={rule['x0']:.0f}")
                for image in page.images:
                    if overlapping(char, image):
                        faults.append(f"p{number}: {char['text']!r} is printed on an image")
                across = char["x0"] >= MARGIN - 1 and char["x1"] <= page.width - MARGIN + 1
                down = char["top"] >= EDGE and char["bottom"] <= page.height - EDGE
                if not (across and down):
                    faults.append(f"p{number}: {char['text']!r} leaves the page's margins at {char['x0']:.0f}")
    return faults


def words(pdf: bytes) -> list[str]:
    with pdfplumber.open(BytesIO(pdf)) as document:
        return [w["text"] for page in document.pages for w in page.extract_words(keep_blank_chars=False)]


def test_the_longest_content_wraps_inside_its_cells_and_nothing_overprints(adversarial):
    pdf = render_report(adversarial)
    faults = layout_faults(pdf)
    assert faults == [], "\n".join(faults[:20])
    # Everything long is printed whole, wrapped: the request, the reason's last words, the file template's end.
    printed = words(pdf)
    text = " ".join(printed)
    # The file template, which has no space, breaks after its separators rather than anywhere.
    pieces = {word for word in printed if "_" in word and word in LONG_TEMPLATE and word != LONG_TEMPLATE}
    assert len(pieces) >= 4 and all(w.endswith("_") or LONG_TEMPLATE.endswith(w) for w in pieces), pieces
    for needle in (
        "SAD data set, Se, to 1.8 Å",
        "was not available.",
        "of_3600.cbf",
        "Screening",
        "(characterisation)",
    ):
        assert needle in text, needle


def test_the_charts_plot_completeness_and_i_sigma_of_each_shell_of_each_processing(adversarial):
    sample = Sample.objects.get(container__shipment=adversarial, name=LONG_NAME)
    (sample,) = (s for c in load_shipment(adversarial).containers.all() for s in c.samples.all() if s.pk == sample.pk)
    drawing = shell_charts(SampleResults(sample).processings, WIDTH)
    completeness, i_sigma = (item for item in drawing.contents if isinstance(item, VerticalBarChart))
    inner, overall, outer = Shell.INNER, Shell.OVERALL, Shell.OUTER
    order = [(inner, 2), (overall, 2), (outer, 2)]
    assert completeness.data == [[figures[k][i] for k, i in order] for *_, figures in PROCESSINGS]
    assert i_sigma.data == [[figures[k][4] for k, _ in order] for *_, figures in PROCESSINGS]
    # Each group is labelled with the shell and, the processings' ranges differing, both ranges in legend order.
    assert completeness.categoryAxis.categoryNames[2] == "Outer\n1.84–1.81\n1.98–1.95"

    # In the PDF: a bar a shell and processing, in the processing's colour, its height proportional to the figure.
    pdf = render_report(adversarial)
    with pdfplumber.open(BytesIO(pdf)) as document:
        (page,) = (p for p in document.pages if "Resolution shell (Å)" in (p.extract_text() or ""))
        text = page.extract_text()
        turned = "".join(c["text"] for c in page.chars if not c["upright"])
        bars = {}
        for rect in page.rects:
            for series, colour in enumerate(SERIES_COLOURS[: len(PROCESSINGS)]):
                fill = rect["non_stroking_color"]
                if (
                    fill
                    and rect["width"] > 10
                    and all(abs(a - b) < 0.01 for a, b in zip(fill, colour.rgb(), strict=True))
                ):
                    panel = "completeness" if rect["x0"] < page.width / 2 else "i_sigma"
                    bars.setdefault(panel, []).append((rect["x0"], series, rect["height"]))
    assert text.count("Resolution shell (Å)") == 2
    assert "Completeness (%)" in turned and "I/σ(I)" in turned
    assert "xia2-dials-multiplex-scaling-pipeline · C 1 2 1" in text  # the legend
    for panel, figure in (("completeness", 2), ("i_sigma", 4)):
        drawn = sorted(bars[panel])
        # Left to right: inner (processing 1, 2), overall (1, 2), outer (1, 2).
        assert [series for _, series, _ in drawn] == [0, 1, 0, 1, 0, 1]
        expected = [PROCESSINGS[series][3][shell][figure] for shell, _ in order for series in (0, 1)]
        scales = [height / value for (_, _, height), value in zip(drawn, expected, strict=True)]
        assert max(scales) / min(scales) < 1.01, (panel, scales)


def test_the_snapshot_and_the_thumbnail_are_embedded_side_by_side(adversarial):
    with pdfplumber.open(BytesIO(render_report(adversarial))) as document:
        images = [image for page in document.pages for image in page.images]
        text = "".join(page.extract_text() or "" for page in document.pages)
    snapshot, thumbnail = sorted(images, key=lambda image: image["x0"])
    assert snapshot["top"] == pytest.approx(thumbnail["top"], abs=1) or snapshot["bottom"] == pytest.approx(
        thumbnail["bottom"], abs=1
    )
    assert snapshot["x1"] < thumbnail["x0"]
    assert snapshot["width"] / snapshot["height"] == pytest.approx(320 / 240, rel=0.02)
    assert thumbnail["width"] == pytest.approx(thumbnail["height"], rel=0.02)
    assert "Crystal snapshot" in text and "Thumbnail of a diffraction image" in text


def test_a_broken_picture_is_left_out_and_the_report_is_still_made(adversarial, settings):
    whole = BytesIO()
    Image.new("RGB", (320, 240), (40, 90, 160)).save(whole, "PNG")
    (settings.DATA_ROOT / "truncated.png").write_bytes(whole.getvalue()[:120])  # its header reads, its pixels do not
    (settings.DATA_ROOT / "garbage.png").write_bytes(b"not an image at all")
    DataCollection.objects.filter(snapshot_path="snapshot.png").update(
        snapshot_path="garbage.png", thumbnail_path="truncated.png"
    )
    pdf = render_report(adversarial)
    with pdfplumber.open(BytesIO(pdf)) as document:
        assert [image for page in document.pages for image in page.images] == []
        text = "".join(page.extract_text() or "" for page in document.pages)
    assert "Crystal snapshot" not in text and "Thumbnail" not in text
    assert "Statistics by resolution shell" in text  # the rest of the sample's section is there
