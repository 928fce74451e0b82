"""Reading DataMatrix codes from uploaded images: zxing-cpp first, pylibdmtx as a time-boxed fallback.

decode_image(data: bytes) -> list[FoundCode]     # raises DecodeError (a clear 400 for the API)
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError
from pylibdmtx.pylibdmtx import decode as dmtx_decode

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding them
WORK_PIXELS = 3_000_000  # larger photos are downscaled to about this before decoding
FALLBACK_BUDGET_MS = 1500


class DecodeError(Exception):
    """An upload that cannot be decoded: ``code`` says why ("empty", "too_large", "not_an_image", "no_code")."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


@dataclass(frozen=True)
class FoundCode:
    """A code found in an image, with where it is (in the uploaded image's own pixels)."""

    text: str
    x: float  # centre
    y: float
    corners: tuple[tuple[float, float], ...]  # top-left, top-right, bottom-right, bottom-left
    decoder: str  # "zxing-cpp" or "pylibdmtx"


def load_image(data: bytes) -> Image.Image:
    """The upload as a greyscale PIL image, upright (EXIF orientation applied)."""
    if not data:
        raise DecodeError("The file is empty.", "empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DecodeError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.", "too_large")
    try:
        image = Image.open(BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise DecodeError(f"The image has more than {MAX_PIXELS // 1_000_000} megapixels.", "too_large")
        image.load()
    except DecodeError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DecodeError("The file is not an image that can be read (PNG or JPEG).", "not_an_image") from exc
    return ImageOps.exif_transpose(image).convert("L")


def decode_image(data: bytes, *, fallback_budget_ms: int = FALLBACK_BUDGET_MS) -> list[FoundCode]:
    """Every DataMatrix code in the image, each once, with its position. Raises DecodeError."""
    image = load_image(data)
    scale = 1.0
    if image.width * image.height > WORK_PIXELS:
        scale = (WORK_PIXELS / (image.width * image.height)) ** 0.5
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.BILINEAR)
    found = decode_pil(image, fallback_budget_ms=fallback_budget_ms)
    if scale != 1.0:
        found = [_rescale(f, 1 / scale) for f in found]
    if not found:
        raise DecodeError("No DataMatrix code was found in the image.", "no_code")
    return found


def decode_pil(image: Image.Image, *, fallback_budget_ms: int = FALLBACK_BUDGET_MS) -> list[FoundCode]:
    """Codes in a greyscale PIL image (no size checks): zxing-cpp, then pylibdmtx if zxing found none."""
    found: dict[str, FoundCode] = {}
    for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.DataMatrix):
        if not barcode.valid or not barcode.text:
            continue
        p = barcode.position
        corners = tuple((float(pt.x), float(pt.y)) for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
        x = sum(c[0] for c in corners) / 4
        y = sum(c[1] for c in corners) / 4
        found.setdefault(barcode.text, FoundCode(barcode.text, x, y, corners, "zxing-cpp"))
    if not found and fallback_budget_ms > 0:
        for result in dmtx_decode(image, timeout=fallback_budget_ms):
            text = result.data.decode("ascii", errors="replace")
            r = result.rect
            # pylibdmtx's rect is in image coordinates with y from the bottom.
            top = image.height - (r.top + r.height)
            corners = (
                (float(r.left), float(top)),
                (float(r.left + r.width), float(top)),
                (float(r.left + r.width), float(top + r.height)),
                (float(r.left), float(top + r.height)),
            )
            found.setdefault(text, FoundCode(text, r.left + r.width / 2, top + r.height / 2, corners, "pylibdmtx"))
    return list(found.values())


def _rescale(f: FoundCode, k: float) -> FoundCode:
    corners = tuple((x * k, y * k) for x, y in f.corners)
    return FoundCode(f.text, f.x * k, f.y * k, corners, f.decoder)
