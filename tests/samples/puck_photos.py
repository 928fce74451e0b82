"""Synthetic photos of a puck seen from above, for the puck-audit tests and bench.

Each pin's code is drawn as a DataMatrix on a white cap at its geometric position (``samples.puck_geometry``'s
layout), every cap turned at random (pins turn freely in their holes), the whole puck turned by
``rotation`` degrees (the key's direction, anticlockwise from the top of the photo), optionally the
puck's own code at the centre, upright towards position 1 as the audit's convention says. Then noise,
blur and JPEG make it look like a phone photo.
"""

from __future__ import annotations

import math
import random
from io import BytesIO

from PIL import Image, ImageDraw, ImageFilter

from lims.barcodes import datamatrix
from samples.puck_geometry import LAYOUTS


def _symbol(code: str, module_px: int, angle: float) -> Image.Image:
    """The symbol on a white square 1.5 times its side, turned by ``angle`` degrees anticlockwise."""
    symbol = Image.open(BytesIO(datamatrix.png(code, module_px=module_px, quiet_zone=1))).convert("L")
    d = round(symbol.width * 1.5)
    cap = Image.new("L", (d, d), 255)
    cap.paste(symbol, ((d - symbol.width) // 2, (d - symbol.height) // 2))
    # Turned inside the square, the symbol stays within its inscribed circle (half-diagonal < 0.75 side).
    return cap.rotate(angle, resample=Image.BILINEAR, fillcolor=255)


def puck_photo(
    pins: dict[int, str],
    *,
    container_type: str = "unipuck",
    size: int | tuple[int, int] = 900,
    rotation: float = 0.0,
    puck_code: str | None = None,
    module_px: int | None = None,
    noise: float = 0.0,
    blur: float = 0.0,
    offset: tuple[float, float] = (0.0, 0.0),
    seed: int = 1,
    fmt: str = "JPEG",
    quality: int = 90,
) -> bytes:
    """A photo of a puck holding ``pins`` ({position: code}), as JPEG (or PNG) bytes.

    ``offset`` moves the puck's centre away from the photo's centre (fractions of the photo's size).
    """
    rng = random.Random(seed)
    width, height = (size, size) if isinstance(size, int) else size
    side = min(width, height)
    radius = 0.36 * side  # the outer ring
    module_px = module_px or max(2, round(side / 128))
    cx, cy = width / 2 + offset[0] * width, height / 2 + offset[1] * height

    image = Image.new("L", (width, height), 70)
    draw = ImageDraw.Draw(image)
    body = radius * 1.28
    draw.ellipse((cx - body, cy - body, cx + body, cy + body), fill=135)
    key = math.radians(90 + rotation)
    # The key: a notch on the rim, where position 1 points.
    kx, ky = cx + body * math.cos(key), cy - body * math.sin(key)
    draw.ellipse((kx - radius * 0.08, ky - radius * 0.08, kx + radius * 0.08, ky + radius * 0.08), fill=70)

    layout = LAYOUTS[container_type]
    for position in layout.positions:
        a = key + position.angle
        x, y = cx + radius * position.radius * math.cos(a), cy - radius * position.radius * math.sin(a)
        cap = radius * 0.24
        draw.ellipse((x - cap, y - cap, x + cap, y + cap), fill=105)  # the hole, empty or not
        code = pins.get(position.number)
        if code:
            _paste(image, _symbol(code, module_px, rng.uniform(0, 360)), x, y)
    if puck_code:
        # Smaller modules, so that the puck's code (often a longer, larger symbol) stays clear of the inner pins.
        _paste(image, _symbol(puck_code, max(2, round(module_px * 0.6)), rotation), cx, cy)

    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        noise_image = Image.effect_noise((width, height), noise * 255)
        image = Image.blend(image, noise_image, 0.25)
    out = BytesIO()
    image.save(out, format=fmt, quality=quality) if fmt == "JPEG" else image.save(out, format=fmt)
    return out.getvalue()


def _paste(image: Image.Image, symbol: Image.Image, x: float, y: float) -> None:
    """Paste ``symbol`` centred on (x, y) on a round white cap just large enough for it."""
    d = symbol.width
    mask = Image.new("L", (d, d), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, d - 1, d - 1), fill=255)
    image.paste(symbol, (round(x - d / 2), round(y - d / 2)), mask)
