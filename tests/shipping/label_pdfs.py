"""Reading label PDFs back as a printer and a scanner would: pages rasterised with pdftoppm, text with pdftotext,
page facts with pdfinfo (poppler-utils, installed by `make test`), the codes with the project's own decoder
(``lims.barcodes.decode.decode_pil``); and the label tests' ways to a shipment's tree and its label files.
The labelled shipment itself is a fixture (``tests/shipping/conftest.py``: ``labelled``).
"""

import re
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

from lims.barcodes.decode import decode_pil
from tests.conftest import api_as

# The lowest resolution at which every symbol reads, with margin: 14 mm pin symbols decode at 72 dpi already;
# 150 dpi leaves room for the 9.5 mm symbols of the Letter layout (2.7 pixels a module at 100 dpi is too few).
DPI = 150


def rasterise(pdf: bytes, dpi: int = DPI, gray: bool = True) -> list[Image.Image]:
    """Every page of ``pdf`` as an image, as a printer would put it on paper."""
    assert pdf.startswith(b"%PDF-")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labels.pdf"
        path.write_bytes(pdf)
        options = ["-gray"] if gray else []
        subprocess.run(["pdftoppm", "-r", str(dpi), *options, str(path), str(Path(tmp) / "page")], check=True)
        pages = sorted(Path(tmp).glob("page*"), key=lambda p: int(re.findall(r"\d+", p.stem)[-1]))
        return [Image.open(p).copy() for p in pages]


def codes_on(pdf: bytes, dpi: int = DPI) -> list[str]:
    """Every DataMatrix code read from the rasterised pages, once per page it is on."""
    # A page holds many codes: read at full size too (the decoder's quick pass settles a photo of one code).
    pages_ = rasterise(pdf, dpi)
    return [code.text for page in pages_ for code in decode_pil(page, fallback_budget_ms=0, expected=2)]


def text_of(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode()


def info(pdf: bytes) -> dict[str, str]:
    result = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    return dict(line.split(":", 1) for line in result.stdout.decode().splitlines() if ":" in line)


def pages(pdf: bytes) -> int:
    return int(info(pdf)["Pages"])


def page_mm(pdf: bytes) -> tuple[int, int]:
    """The first page's size in whole millimetres ("419.528 x 595.276 pts" → (148, 210))."""
    width, height = re.findall(r"[\d.]+", info(pdf)["Page size"])[:2]
    return round(float(width) * 25.4 / 72), round(float(height) * 25.4 / 72)


def tree(shipment):
    dewars = list(shipment.dewars.all())
    containers = [c for d in dewars for c in d.containers.all()]
    samples = [s for c in containers for s in c.samples.all()]
    return dewars, containers, samples


def get_labels(user, shipment, kind, **params):
    return api_as(user).get(f"/api/v1/shipments/{shipment.pk}/labels/{kind}/", params)
