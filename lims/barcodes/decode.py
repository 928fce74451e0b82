"""Reading DataMatrix codes from uploaded images: zxing-cpp first, then variations, then pylibdmtx, in a time budget.

    decode_image(data: bytes) -> list[FoundCode]     # raises DecodeError (a clear 400 for the API)
    decode_pil(image) -> list[FoundCode]             # a PIL image already loaded (no size checks)
    load_upload(data) -> LoadedImage                  # checked and loaded as the decoders take it
    decode_region(image, box, ...) -> RegionReading   # one small region, searched to the end or not

Why this order. zxing-cpp reads an ordinary photo in a few milliseconds, at any rotation; pylibdmtx alone
reads about two thirds of rotated, noisy photos and can spend seconds on one. So zxing-cpp reads the
image as it is; only when it finds fewer codes than expected does the decoder try what rescues the
photos it misses (measured on bench/barcodes_decode.py's set): a sharpened image (blur), an enlarged
one (small modules, perspective), a median-filtered one (sensor noise), then pylibdmtx. It tries them only
where a code may be (``candidate_regions``: a compact patch of fine, strong detail, found in 1-3 ms), each
region cut out (cheap to vary, even in a 12 MP photo), then on the whole image if it is small (0.5 MP: a
few codes are read only so), then pylibdmtx on each region reduced so that its symbol is about
DMTX_SYMBOL_PX wide (it reads one there in 20 ms, or seldom at all), all within FALLBACK_BUDGET_MS of CPU
time. A photo where nothing looks like a code (a bare surface, a code blurred past reading) is answered
after the first pass; searching the whole of it with pylibdmtx cost 1.5 s and never read a code that the
variations had missed. Most photos therefore cost one zxing-cpp pass; a hard one costs at most the budget.

Large photos (phones: 12 MP) are decoded at about 3 MP: JPEGs are decoded straight at a reduced size
(libjpeg's DCT scaling, far faster than decoding at full size and resizing), other formats are reduced
after loading. A pin's code still has 3+ pixels a module at that size in a photo of a whole puck.

Positions are in the pixels of the uploaded image as a viewer shows it: upright, EXIF orientation applied.

A caller that knows where codes should be (the puck audit: the positions of a puck, once the codes read
first have placed it) reads small regions instead: ``decode_region`` reads one region reduced so that its
symbol is about REGION_SYMBOL_PX wide, by zxing-cpp then pylibdmtx. pylibdmtx, which never finishes
searching a whole 900 px photo in seconds, searches such a region to the end in tens of milliseconds
(an empty hole: 30-130 ms, measured on tests/samples/puck_photos.py's photos), so the reading can say
whether the region was searched to the end (nothing readable there) or the time ran out (unread).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO

import zxingcpp
from PIL import Image, ImageChops, ImageFilter, ImageOps, UnidentifiedImageError
from pylibdmtx.pylibdmtx import decode as dmtx_decode

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding them (a 12 MP phone photo is far below)
# libdmtx asserts (and so aborts the whole process) on images only a few pixels across (InitScanGrid:
# maxExtent > 1); nothing smaller than a DataMatrix's smallest symbol (10 modules) at ~1.5 px a module
# can hold a code anyway. Every decoder here sees only images at least this large on each side.
MIN_SIDE = 16
WORK_PIXELS = 3_000_000  # larger photos are reduced to about this before decoding
QUICK_PIXELS = 1_000_000  # a large photo is read at this size first (most hold one large code)
UPSCALE_MAX_PIXELS = 1_300_000  # enlarging a bigger image costs more than the budget allows
FALLBACK_BUDGET_MS = 300  # CPU time at most for the regions' variations and pylibdmtx after the first pass
DMTX_MIN_MS = 50  # less than this is not worth starting pylibdmtx for
# Where a code may be (``candidate_regions``): the photo reduced to about ANALYSIS_PIXELS, its fine detail (each
# pixel's difference from its 5×5 mean, ×DETAIL_GAIN) averaged over cells of CELL_PX. A DataMatrix is a patch of
# cells far more detailed than the photo's median cell. Measured on bench/barcodes_decode.py's photos: every
# photo of its sets has a peak 17+ above the median, every one the fallback rescues 31+; a textured surface
# (noise σ 0-20) 13 at most, 17 under noise σ 35 (then a region is searched for nothing, within the budget).
ANALYSIS_PIXELS = 120_000
CELL_PX = 6
DETAIL_GAIN = 4
MIN_DETAIL = 12  # a peak less above the median than this: nothing stands out, no candidate
MAX_CANDIDATES = 2  # regions tried, the most detailed first
MAX_ASPECT = 2.5  # a region longer than this × its width is no symbol (a line of text)
MIN_FILL = 0.4  # nor one whose cells fill less of its box (an edge, a ring); a symbol turned 45° fills half
REGION_PAD = 0.25  # a region is cut out with this × its side around it
DMTX_SYMBOL_PX = 70  # pylibdmtx reads a region reduced so that its symbol is about this wide
WHOLE_VARIATIONS_PIXELS = 500_000  # up to this the whole image is varied too, after its regions (~130 ms at 640×480)
CROP_MAX_PIXELS = 250_000  # a larger candidate region is reduced to this (its modules stay 10+ px wide)
CROP_DMTX_MS = 50  # pylibdmtx's time on one candidate region: it reads one in 20 ms or seldom at all
REGION_SYMBOL_PX = 40  # a region is read with its symbol about this wide (~3 px a module): pylibdmtx is quick
# pylibdmtx's edge threshold in a region (libdmtx's default: 10): it searches an empty one to the end in half
# the time and found the same codes on tests/samples/puck_photos.py's photos.
REGION_DMTX_THRESHOLD = 20
_FORMATS = zxingcpp.BarcodeFormat.DataMatrix


class DecodeError(Exception):
    """An upload that cannot be decoded; ``code`` says why, for the API's error body.

    "empty", "too_large" (bytes or pixels), "too_small" (under MIN_SIDE px a side), "not_an_image",
    "truncated" (damaged), "no_code".
    """

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


@dataclass(frozen=True)
class FoundCode:
    """A code found in an image, with where it is (in the uploaded image's own pixels)."""

    text: str
    x: float  # centre
    y: float
    corners: tuple[tuple[float, float], ...]  # top-left, top-right, bottom-right, bottom-left of the symbol
    decoder: str  # "zxing-cpp" or "pylibdmtx"

    @property
    def size(self) -> float:
        """The symbol's side, in pixels (the mean of its four edges)."""
        c = self.corners
        return sum(math.dist(c[i], c[(i + 1) % 4]) for i in range(4)) / 4


@dataclass(frozen=True)
class LoadedImage:
    """An upload ready to decode: a greyscale work image, and how its pixels map to the original's."""

    image: Image.Image
    width: int  # the original's size, upright
    height: int
    scale_x: float  # original pixels per work-image pixel
    scale_y: float

    def to_upload(self, codes: list[FoundCode]) -> list[FoundCode]:
        """Codes found in the work image, in the original's pixels."""
        if (self.scale_x, self.scale_y) == (1.0, 1.0):
            return list(codes)
        return [_rescale(c, self.scale_x, self.scale_y) for c in codes]


@dataclass(frozen=True)
class RegionReading:
    """What ``decode_region`` found, and whether it searched the region to the end.

    ``finished`` is False when pylibdmtx's time ran out (or there was no time to start it) before it
    had searched the whole region: a region without a code then says nothing about what is there.
    """

    codes: list[FoundCode]
    finished: bool


def load_upload(data: bytes) -> LoadedImage:
    """The upload checked and loaded as the decoders take it: greyscale, upright, about WORK_PIXELS. DecodeError."""
    return _load(data, work_pixels=WORK_PIXELS)


def load_image(data: bytes) -> Image.Image:
    """The upload as a greyscale PIL image, upright (EXIF orientation applied), at full size."""
    return _load(data, work_pixels=None).image


def decode_image(data: bytes, *, fallback_budget_ms: int | None = None, expected: int = 1) -> list[FoundCode]:
    """Every DataMatrix code in the image, with its position in the original's pixels. Raises DecodeError.

    ``expected``: how many codes the caller expects (a puck photo: 16); the decoder keeps trying
    variations, within ``fallback_budget_ms`` (default ``FALLBACK_BUDGET_MS``), until it has found that many.
    """
    return decode_upload(data, fallback_budget_ms=fallback_budget_ms, expected=expected)[0]


def decode_upload(
    data: bytes, *, fallback_budget_ms: int | None = None, expected: int = 1
) -> tuple[list[FoundCode], int, int]:
    """Like ``decode_image``, and the original's (upright) width and height too."""
    loaded = _load(data, work_pixels=WORK_PIXELS)
    found = decode_pil(loaded.image, fallback_budget_ms=fallback_budget_ms, expected=expected)
    if not found:
        raise DecodeError(
            "No DataMatrix code was found in the image. Hold the camera closer and steady, "
            "with the code in focus and well lit.",
            "no_code",
        )
    if (loaded.scale_x, loaded.scale_y) != (1.0, 1.0):
        found = [_rescale(f, loaded.scale_x, loaded.scale_y) for f in found]
    return found, loaded.width, loaded.height


def decode_pil(image: Image.Image, *, fallback_budget_ms: int | None = None, expected: int = 1) -> list[FoundCode]:
    """Codes in a PIL image (no size checks): zxing-cpp, then, if too few were found, the candidate regions.

    ``fallback_budget_ms``: time for what follows the first pass (default ``FALLBACK_BUDGET_MS``); 0: none.
    After the first pass only the regions where a code may be (``candidate_regions``) are searched, each
    by the variations then pylibdmtx: a photo where nothing looks like a code is answered at once.
    """
    if fallback_budget_ms is None:
        fallback_budget_ms = FALLBACK_BUDGET_MS
    if min(image.size) < MIN_SIDE:
        return []  # no code fits; and libdmtx would abort the process on it
    image = image if image.mode == "L" else _greyscale(image)
    found = _Found()
    if image.width * image.height > QUICK_PIXELS * 2:
        # A large photo usually holds a large code: a pass at ~1 MP finds it in a fraction of the time.
        k = (QUICK_PIXELS / (image.width * image.height)) ** 0.5
        quick = image.resize((round(image.width * k), round(image.height * k)), Image.BILINEAR)
        found.add([_rescale(f, image.width / quick.width, image.height / quick.height) for f in _zxing(quick)])
    # The quick pass settles a photo of the one code expected; a scene of several codes (a puck) is read
    # at full work size too, where the smaller ones are.
    if len(found) < expected or len(found) != 1:
        found.add(_zxing(image))
    if len(found) >= expected or fallback_budget_ms <= 0:
        return found.codes
    # The budget is the thread's CPU time: the same photo gets the same search however busy the machine is.
    deadline = time.thread_time() + fallback_budget_ms / 1000
    # Regions around codes already read are left out: the rest may hold the codes still missing.
    wanted = max(MAX_CANDIDATES, expected - len(found))
    boxes = candidate_regions(image, limit=wanted + len(found))
    boxes = [b for b in boxes if not any(b[0] <= c.x < b[2] and b[1] <= c.y < b[3] for c in found.codes)]
    regions = [_Region(image, box) for box in boxes[:wanted]]
    if not regions:
        return found.codes  # nothing in the photo looks like a code: answer now
    for region in regions:
        _try_variations(region.image, found, deadline, expected, place=region.to_image, clock=time.thread_time)
    if image.width * image.height <= WHOLE_VARIATIONS_PIXELS:
        _try_variations(image, found, deadline, expected, clock=time.thread_time)
    for region in regions:
        left_ms = int((deadline - time.thread_time()) * 1000)
        if len(found) >= expected or left_ms < DMTX_MIN_MS:
            break
        small = region.for_dmtx()
        found.add(region.to_image(_pylibdmtx(small, timeout_ms=min(CROP_DMTX_MS, left_ms), max_count=1), small))
    return found.codes


def candidate_regions(image: Image.Image, *, limit: int = MAX_CANDIDATES) -> list[tuple[int, int, int, int]]:
    """Boxes (left, top, right, bottom) of a greyscale ``image`` where a DataMatrix may be, likeliest first.

    A DataMatrix is a compact patch of fine, strong detail (modules alternating dark and light) on a quiet
    zone. The image is reduced to about ANALYSIS_PIXELS; each pixel's detail is its difference from the mean
    of its 5×5 neighbourhood, averaged over cells of CELL_PX and their neighbours (a cell of noise stands
    out less than a patch of code). The cells at least halfway from the median to the peak, joined to each
    other, make a region, if it is about square and filled like a symbol, turned or tilted (not a line of
    text, not the rim of a puck). None when the peak is not MIN_DETAIL above the median: a plain surface,
    or a code blurred past reading. Costs 1-3 ms.
    """
    w, h = image.size
    f = max(1, round(math.sqrt(w * h / ANALYSIS_PIXELS)))
    small = image.reduce(f) if f > 1 else image
    detail = ImageChops.difference(small, small.filter(ImageFilter.BoxBlur(2))).point(_DETAIL_LUT)
    grid = detail.reduce(CELL_PX).filter(ImageFilter.BoxBlur(1))
    gw, gh = grid.size
    cells = grid.tobytes()
    median, peak = sorted(cells)[len(cells) // 2], max(cells)
    if peak - median < MIN_DETAIL:
        return []
    threshold = median + (peak - median) / 2
    cell = CELL_PX * f  # image pixels a cell
    seen = bytearray(len(cells))
    regions = []
    for start in sorted((i for i, v in enumerate(cells) if v >= threshold), key=lambda i: -cells[i]):
        if seen[start]:
            continue
        x0, y0, x1, y1, n = _patch(cells, seen, start, gw, gh, threshold)
        across, down = x1 - x0 + 1, y1 - y0 + 1
        if max(across, down) > MAX_ASPECT * min(across, down) or n < MIN_FILL * across * down:
            continue
        pad = max(cell, REGION_PAD * max(across, down) * cell)  # the quiet zone, the blur's bleed
        box = (
            max(0, round(x0 * cell - pad)),
            max(0, round(y0 * cell - pad)),
            min(w, round((x1 + 1) * cell + pad)),
            min(h, round((y1 + 1) * cell + pad)),
        )
        if min(box[2] - box[0], box[3] - box[1]) >= MIN_SIDE:
            regions.append(box)
            if len(regions) >= limit:
                break
    return regions


def _patch(cells: bytes, seen: bytearray, start: int, gw: int, gh: int, threshold: float):
    """The cells at or above ``threshold`` joined to ``start`` (marked seen): their bounding box and number."""
    seen[start] = 1
    stack, x0, y0, x1, y1, n = [start], gw, gh, 0, 0, 0
    while stack:
        i = stack.pop()
        n += 1
        x, y = i % gw, i // gw
        x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
        for j, inside in ((i - 1, x > 0), (i + 1, x < gw - 1), (i - gw, y > 0), (i + gw, y < gh - 1)):
            if inside and not seen[j] and cells[j] >= threshold:
                seen[j] = 1
                stack.append(j)
    return x0, y0, x1, y1, n


_DETAIL_LUT = [min(255, v * DETAIL_GAIN) for v in range(256)]


class _Region:
    """A candidate region cut out of the image (reduced if large), and its codes put back in the image's pixels."""

    def __init__(self, image: Image.Image, box: tuple[int, int, int, int]):
        self.box = box
        self.image = _reduced(image.crop(box), CROP_MAX_PIXELS)

    def for_dmtx(self) -> Image.Image:
        """The region with its symbol about DMTX_SYMBOL_PX wide: pylibdmtx reads more, sooner (see the module docstring)."""
        side = max(self.image.size) / (1 + 2 * REGION_PAD)  # the box is the symbol and a pad each side
        k = min(1.0, DMTX_SYMBOL_PX / side)
        return _reduced(self.image, self.image.width * self.image.height * k * k)

    def to_image(self, codes: list[FoundCode], image: Image.Image | None = None) -> list[FoundCode]:
        """``codes`` found in this region's ``image`` (default: ``self.image``), in the whole image's pixels."""
        image = image if image is not None else self.image
        left, top, right, bottom = self.box
        kx, ky = (right - left) / image.width, (bottom - top) / image.height
        return [_shift(_rescale(c, kx, ky), left, top) for c in codes]


def _reduced(image: Image.Image, pixels: float) -> Image.Image:
    """``image`` reduced (averaging) to about ``pixels``, never under MIN_SIDE a side; as it is if not larger."""
    if image.width * image.height <= pixels:
        return image
    k = (pixels / (image.width * image.height)) ** 0.5
    return image.resize((max(MIN_SIDE, round(image.width * k)), max(MIN_SIDE, round(image.height * k))), Image.BOX)


def decode_variations(image: Image.Image, codes: list[FoundCode], *, budget_ms: int, expected: int) -> list[FoundCode]:
    """``codes`` (a first pass's) and what zxing-cpp finds in the image's variations, within ``budget_ms``.

    The variations are tried in turn until there are ``expected`` codes or the time is spent; pylibdmtx is
    left out (it seldom finishes a whole photo). For a caller that decides what to do after the first pass.
    """
    if min(image.size) < MIN_SIDE:
        return list(codes)
    image = image if image.mode == "L" else _greyscale(image)
    found = _Found()
    found.add(codes)
    if len(found) < expected:
        _try_variations(image, found, time.perf_counter() + budget_ms / 1000, expected)
    return found.codes


def _try_variations(
    image: Image.Image, found: _Found, deadline: float, expected: int, *, place=None, clock=time.perf_counter
) -> None:
    """The variations in turn until ``expected`` codes or ``clock()`` reaches ``deadline``.

    ``place``: turns codes found in ``image`` into the caller's pixels (a region's into the whole image's).
    """
    for variation in _variations(image):
        if clock() >= deadline or len(found) >= expected:
            return
        codes = variation()
        found.add(place(codes) if place else codes)


def decode_region(
    image: Image.Image, box: tuple[float, float, float, float], *, symbol_px: float, timeout_ms: int
) -> RegionReading:
    """The codes in ``box`` (left, top, right, bottom) of a greyscale ``image``, in the image's pixels.

    The region is reduced so that a symbol ``symbol_px`` wide (the size of the codes already found)
    becomes about REGION_SYMBOL_PX wide (never enlarged), read by zxing-cpp, then, if it found nothing,
    by pylibdmtx within ``timeout_ms``. Finished: a code was found, or pylibdmtx returned before its
    time ran out (it had searched the whole region). A region cut by the image's edge to less than
    MIN_SIDE is not searched (not finished).
    """
    left, top = max(0, round(box[0])), max(0, round(box[1]))
    right, bottom = min(image.width, round(box[2])), min(image.height, round(box[3]))
    k = min(1.0, REGION_SYMBOL_PX / symbol_px) if symbol_px > 0 else 1.0
    size = (round((right - left) * k), round((bottom - top) * k))
    if min(size) < MIN_SIDE:
        return RegionReading([], False)
    crop = image.crop((left, top, right, bottom))
    crop = crop if image.mode == "L" else _greyscale(crop)
    if k < 1:
        crop = crop.resize(size, Image.BOX)  # averaging: less noise than pylibdmtx's own shrinking
    found, finished = _zxing(crop), True
    if not found:
        if timeout_ms < DMTX_MIN_MS:
            return RegionReading([], False)
        start = time.perf_counter()
        found = _pylibdmtx(crop, timeout_ms=timeout_ms, max_count=1, threshold=REGION_DMTX_THRESHOLD)
        # pylibdmtx returns nothing both when the region holds no code and when its time ran out.
        finished = bool(found) or (time.perf_counter() - start) * 1000 < 0.95 * timeout_ms
    kx, ky = (right - left) / crop.width, (bottom - top) / crop.height
    return RegionReading([_shift(_rescale(f, kx, ky), left, top) for f in found], finished)


def merge(codes: list[FoundCode], new: list[FoundCode]) -> list[FoundCode]:
    """``codes`` and those of ``new`` that are not the same symbol found again (see ``_Found``)."""
    found = _Found()
    found.add(codes)
    found.add(new)
    return found.codes


def _variations(image: Image.Image) -> list[Callable[[], list[FoundCode]]]:
    """What rescues the photos zxing-cpp misses as they are, most often useful first (see the module docstring)."""
    w, h = image.size
    small = w * h <= UPSCALE_MAX_PIXELS

    def sharpened():
        return _zxing(image.filter(ImageFilter.UnsharpMask(radius=3, percent=200, threshold=0)))

    def enlarged(sharpen: bool, factor: float = 2.0):
        def run():
            big = image.resize((round(w * factor), round(h * factor)), Image.BICUBIC)
            if sharpen:
                big = big.filter(ImageFilter.UnsharpMask(radius=4, percent=200, threshold=0))
            return [_rescale(f, 1 / factor, 1 / factor, f.decoder) for f in _zxing(big)]

        return run

    def median():
        return _zxing(image.filter(ImageFilter.MedianFilter(3)))

    def smoothed():
        return _zxing(image.filter(ImageFilter.GaussianBlur(1)))

    def global_threshold():
        return _zxing(image, binarizer=zxingcpp.Binarizer.GlobalHistogram)

    steps = [sharpened]
    if small:
        steps += [enlarged(sharpen=True), enlarged(sharpen=False)]
    steps += [median, smoothed, global_threshold]
    if small:
        steps += [enlarged(sharpen=False, factor=1.5)]
    return steps


def _zxing(image: Image.Image, **options) -> list[FoundCode]:
    found = []
    for barcode in zxingcpp.read_barcodes(image, formats=_FORMATS, **options):
        if not barcode.valid or not barcode.text:
            continue
        p = barcode.position
        corners = tuple((float(pt.x), float(pt.y)) for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
        found.append(_with_corners(barcode.text, corners, "zxing-cpp"))
    return found


def dmtx_accepts(image: Image.Image) -> bool:
    """Whether libdmtx can take this image without failing an assertion (which aborts the process).

    8-bit greyscale only (one byte a pixel: the packing pylibdmtx infers from the buffer's length), at least
    MIN_SIDE px a side (InitScanGrid asserts on tiny images), and at most MAX_PIXELS (libdmtx sizes its
    buffers in C ints).
    """
    w, h = image.size
    return image.mode == "L" and min(w, h) >= MIN_SIDE and w * h <= MAX_PIXELS


def _pylibdmtx(image: Image.Image, *, timeout_ms: int, max_count: int | None, **options) -> list[FoundCode]:
    """pylibdmtx's reading, its coordinates turned into the image's (see below); nothing if it cannot take it."""
    found = []
    if not dmtx_accepts(image):
        return found
    for result in dmtx_decode(image, timeout=timeout_ms, max_count=max_count, **options):
        text = result.data.decode("utf-8", errors="replace")
        if not text:
            continue
        # pylibdmtx's "rect" is not a bounding box: (left, top) is the symbol's origin corner (the corner
        # of its L-shaped finder, the symbol's bottom-left) and (left + width, top + height) the opposite
        # corner, both in libdmtx's coordinates, whose y axis starts at the image's BOTTOM row. Width and
        # height are negative when the symbol is turned. Checked by a test (tests/lims/test_decode.py).
        r = result.rect
        bottom_left = (float(r.left), float(image.height - r.top))
        top_right = (float(r.left + r.width), float(image.height - (r.top + r.height)))
        cx, cy = (bottom_left[0] + top_right[0]) / 2, (bottom_left[1] + top_right[1]) / 2
        dx, dy = top_right[0] - cx, top_right[1] - cy
        # A square symbol: the other diagonal is this one turned by 90°.
        top_left = (cx + dy, cy - dx)
        bottom_right = (cx - dy, cy + dx)
        found.append(_with_corners(text, (top_left, top_right, bottom_right, bottom_left), "pylibdmtx"))
    return found


def _with_corners(text: str, corners, decoder: str) -> FoundCode:
    x = sum(c[0] for c in corners) / 4
    y = sum(c[1] for c in corners) / 4
    return FoundCode(text, x, y, tuple(corners), decoder)


class _Found:
    """Codes found so far, each once: the same text found again near the same place is the same symbol.

    The same text elsewhere in the image is kept: two pins carrying one code is a fact worth reporting.
    """

    def __init__(self):
        self.codes: list[FoundCode] = []

    def __len__(self) -> int:
        return len(self.codes)

    def add(self, new: list[FoundCode]) -> None:
        for code in new:
            same = any(
                c.text == code.text and math.dist((c.x, c.y), (code.x, code.y)) < max(c.size, code.size, 1)
                for c in self.codes
            )
            if not same:
                self.codes.append(code)


def _rescale(f: FoundCode, kx: float, ky: float, decoder: str | None = None) -> FoundCode:
    corners = tuple((x * kx, y * ky) for x, y in f.corners)
    return FoundCode(f.text, f.x * kx, f.y * ky, corners, decoder or f.decoder)


def _shift(f: FoundCode, dx: float, dy: float) -> FoundCode:
    corners = tuple((x + dx, y + dy) for x, y in f.corners)
    return FoundCode(f.text, f.x + dx, f.y + dy, corners, f.decoder)


def _load(data: bytes, *, work_pixels: int | None) -> LoadedImage:
    """Open, check and load the upload; reduced to about ``work_pixels`` (None: full size)."""
    if not data:
        raise DecodeError("The file is empty.", "empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DecodeError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.", "too_large")
    try:
        with warnings.catch_warnings():
            # Pillow warns about large images; the pixel check below refuses them with a clear message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise DecodeError(_too_many_pixels(), "too_large") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise DecodeError("The file is not an image that can be read (PNG or JPEG).", "not_an_image") from exc
    width, height = image.size
    # The header says the size: refuse a bomb (a small file that unpacks to gigabytes) before unpacking it.
    if width * height > MAX_PIXELS:
        raise DecodeError(_too_many_pixels(width, height), "too_large")
    if width == 0 or height == 0:
        raise DecodeError("The image has no pixels.", "not_an_image")
    if min(width, height) < MIN_SIDE:
        raise DecodeError(
            f"The image ({width} × {height} px) is too small to hold a code: it must be at least "
            f"{MIN_SIDE} px on each side.",
            "too_small",
        )
    try:
        if work_pixels and width * height > work_pixels and image.format == "JPEG":
            k = (work_pixels / (width * height)) ** 0.5
            # draft() picks the largest DCT scaling (1/2, 1/4, 1/8) that stays at or above the size asked.
            image.draft("L", (math.ceil(width * k), math.ceil(height * k)))
        image.load()
        upright = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as exc:
        raise DecodeError(_too_many_pixels(width, height), "too_large") from exc
    except Exception as exc:  # Pillow's decoders raise many kinds (OSError, SyntaxError, struct.error, ...)
        raise DecodeError(
            "The image is truncated or damaged and cannot be read; upload the whole file again.", "truncated"
        ) from exc
    # The original's size as a viewer shows it (turned by its EXIF orientation) and as it was loaded.
    turned = upright.size[0] != image.size[0] or upright.size[1] != image.size[1]
    orig_w, orig_h = (height, width) if turned else (width, height)
    grey = _greyscale(upright)
    if work_pixels and grey.width * grey.height > work_pixels * 1.3:
        k = (work_pixels / (grey.width * grey.height)) ** 0.5
        # Never below MIN_SIDE: a long thin photo must not shrink into what the decoders refuse.
        size = (max(MIN_SIDE, round(grey.width * k)), max(MIN_SIDE, round(grey.height * k)))
        grey = grey.resize(size, Image.BILINEAR)
    return LoadedImage(grey, orig_w, orig_h, orig_w / grey.width, orig_h / grey.height)


def _greyscale(image: Image.Image) -> Image.Image:
    """8-bit greyscale: transparent parts become white (paper), 16-bit and float images are scaled, not clipped."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        extrema = image.getextrema()
        top = max(1, extrema[1] if isinstance(extrema[1], int | float) else 255)
        return image.convert("I").point(lambda v: v * (255 / top)).convert("L")
    if image.mode == "F":
        return ImageOps.autocontrast(image.convert("L"))
    return image.convert("L")


def _too_many_pixels(width: int | None = None, height: int | None = None) -> str:
    size = f" ({width} × {height})" if width else ""
    return f"The image{size} has more than {MAX_PIXELS // 1_000_000} megapixels; upload a smaller photo."
