"""Synthetic photos of DataMatrix codes, for the tests and the benches (Pillow only, seeded, reproducible).

    code_image("AB12345678", module_px=6)             the clean symbol with a white quiet zone
    degrade(symbol, angle=37, noise=12, blur=1.0, perspective=0.15, seed=3)
                                                      a 640×480 greyscale "phone photo" of it
    photo_jpeg(image, quality=80)                     the photo as JPEG bytes, as a phone uploads it

``degrade`` does what a hand-held camera does, in the order the camera does it: the label is seen at
an angle (perspective warp of the label), turned any way (rotation 0–360°), lying on a textured
grey surface (background), out of focus (Gaussian blur), read by a noisy sensor (Gaussian noise),
and saved as JPEG (``quality``). With ``size=None`` the image itself is the scene (a whole puck, say): it is rotated
and warped in place instead of being pasted onto a background.
"""

from __future__ import annotations

import math
import random
from io import BytesIO

from PIL import Image, ImageFilter, ImageMath

from .datamatrix import modules

GREY = 150  # a steel/plastic surface under room light


def code_image(code: str, module_px: int = 6, quiet_zone: int = 2) -> Image.Image:
    """The DataMatrix symbol of ``code`` as a greyscale image: ``module_px`` pixels a module, white quiet zone."""
    grid = modules(code)
    n = len(grid) + 2 * quiet_zone
    image = Image.new("L", (n, n), 255)
    pixels = image.load()
    for r, row in enumerate(grid):
        for c, dark in enumerate(row):
            if dark:
                pixels[c + quiet_zone, r + quiet_zone] = 0
    return image.resize((n * module_px, n * module_px), Image.NEAREST)


def backdrop(size: tuple[int, int] = (640, 480), *, seed: int = 0, level: int = GREY) -> Image.Image:
    """A textured grey surface: uneven lighting (a gradient) and a fine grain, seeded."""
    rng = random.Random(seed)
    width, height = size
    # Uneven lighting: a 2×2 image of four grey levels, stretched smoothly over the whole surface.
    corners = Image.new("L", (2, 2))
    corners.putdata([max(0, min(255, level + rng.randint(-40, 40))) for _ in range(4)])
    light = corners.resize(size, Image.BILINEAR)
    # Grain: small-scale uniform noise, blurred so that it looks like texture rather than sensor noise.
    grain = Image.frombytes("L", (max(1, width // 4), max(1, height // 4)), _bytes(rng, (width // 4) * (height // 4)))
    grain = grain.resize(size, Image.BICUBIC).filter(ImageFilter.GaussianBlur(1))
    return ImageMath.lambda_eval(lambda a: a["light"] + (a["grain"] - 128) * 0.15, light=light, grain=grain).convert(
        "L"
    )


def degrade(
    image: Image.Image,
    *,
    angle: float = 0,
    noise: float = 0,
    blur: float = 0,
    perspective: float = 0,
    seed: int = 0,
    size: tuple[int, int] | None = (640, 480),
    background: int | Image.Image | None = None,
    centre: tuple[float, float] | None = None,
    contrast: float = 1.0,
    quality: int | None = 90,
) -> Image.Image:
    """A photo-like greyscale image of ``image`` (see the module docstring). Same arguments, same pixels.

    angle        degrees anticlockwise, any value (0–360)
    noise        standard deviation of the Gaussian sensor noise, in grey levels (0–255)
    blur         radius of the Gaussian blur, in pixels
    perspective  how far each corner of the label moves, as a fraction of its side (0.2 is a strong tilt)
    size         the photo's size; None: ``image`` is the whole scene
    background   the surface: a grey level, an image, or None for a textured grey (``backdrop``)
    centre       where the label's centre lands in the photo (default: the middle)
    contrast     1: black on white; 0.6: dark grey on light grey, as under poor light
    quality      the JPEG quality the photo goes through (its block artefacts); None: no JPEG
    """
    rng = random.Random(seed)
    label = image.convert("L")
    if contrast != 1.0:
        low = round(127.5 * (1 - contrast))
        label = label.point(lambda v: low + v * (255 - 2 * low) // 255)
    mask = Image.new("L", label.size, 255)
    if perspective:
        label, mask = _warp(label, mask, perspective, rng)
    if angle % 360:
        label = label.rotate(angle, Image.BICUBIC, expand=size is not None, fillcolor=255)
        mask = mask.rotate(angle, Image.BICUBIC, expand=size is not None, fillcolor=0)
    canvas_size = size or image.size
    if isinstance(background, Image.Image):
        photo = background.convert("L").resize(canvas_size)
    elif background is None:
        photo = backdrop(canvas_size, seed=seed)
    else:
        photo = Image.new("L", canvas_size, background)
    cx, cy = centre or (canvas_size[0] / 2, canvas_size[1] / 2)
    photo.paste(label, (round(cx - label.width / 2), round(cy - label.height / 2)), mask)
    if blur:
        photo = photo.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        photo = add_noise(photo, noise, rng)
    if quality is not None:
        photo = jpeg_round_trip(photo, quality)
    return photo


def add_noise(image: Image.Image, sigma: float, rng: random.Random | None = None) -> Image.Image:
    """``image`` with Gaussian noise of standard deviation ``sigma`` grey levels (seeded by ``rng``).

    The sum of three uniform variables is near enough to Gaussian for a camera sensor, and
    ``randbytes`` makes it fast without numpy: about 0.1 s for 12 megapixels.
    """
    rng = rng or random.Random(0)
    n = image.width * image.height
    u = [Image.frombytes("L", image.size, _bytes(rng, n)) for _ in range(3)]
    # Three uniforms 0–255 sum to mean 382.5, standard deviation 127.5.
    k = sigma / 127.5
    return ImageMath.lambda_eval(
        lambda a: a["img"] + (a["u0"] + a["u1"] + a["u2"] - 382.5) * k, img=image, u0=u[0], u1=u[1], u2=u[2]
    ).convert("L")


def photo_jpeg(image: Image.Image, quality: int = 85) -> bytes:
    """The photo as JPEG bytes at ``quality`` (phones save at 85–95; messaging apps recompress to ~70)."""
    out = BytesIO()
    image.convert("L").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def jpeg_round_trip(image: Image.Image, quality: int = 85) -> Image.Image:
    """``image`` after a JPEG save and load: its block artefacts, as the decoder will see them."""
    return Image.open(BytesIO(photo_jpeg(image, quality))).convert("L")


def png_bytes(image: Image.Image) -> bytes:
    """``image`` as PNG bytes (lossless: for tests of exact positions)."""
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _bytes(rng: random.Random, n: int) -> bytes:
    return rng.randbytes(n)


def _warp(label: Image.Image, mask: Image.Image, amount: float, rng: random.Random):
    """The label seen at a slant: each corner moved inward by up to ``amount`` of the side, at random."""
    w, h = label.size
    pad = round(max(w, h) * amount) + 1
    size = (w + 2 * pad, h + 2 * pad)
    # Where the label's corners land (output), each pulled in by a random part of the amount.
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    sx, sy = (1, -1, -1, 1), (1, 1, -1, -1)
    dst = [
        (pad + x + sx[i] * rng.uniform(0, amount) * w, pad + y + sy[i] * rng.uniform(0, amount) * h)
        for i, (x, y) in enumerate(src)
    ]
    coeffs = perspective_coefficients(dst, src)
    warped = label.transform(size, Image.PERSPECTIVE, coeffs, Image.BICUBIC, fillcolor=255)
    warped_mask = mask.transform(size, Image.PERSPECTIVE, coeffs, Image.BICUBIC, fillcolor=0)
    return warped, warped_mask


def perspective_coefficients(output_points, input_points) -> tuple[float, ...]:
    """The 8 coefficients of PIL's PERSPECTIVE transform that send each output point to its input point.

    PIL maps every output pixel (x, y) back to the input ((ax + by + c) / (gx + hy + 1), (dx + ey + f) / (gx + hy + 1));
    four point pairs give eight linear equations, solved here by Gaussian elimination (no numpy).
    """
    rows, rhs = [], []
    for (x, y), (u, v) in zip(output_points, input_points, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rhs.append(u)
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.append(v)
    return tuple(_solve(rows, rhs))


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if math.isclose(m[pivot][col], 0, abs_tol=1e-12):
            raise ValueError("The four points do not define a perspective (three are in a line).")
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                factor = m[r][col] / m[col][col]
                m[r] = [vr - factor * vc for vr, vc in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


__all__ = [
    "add_noise",
    "backdrop",
    "code_image",
    "degrade",
    "jpeg_round_trip",
    "perspective_coefficients",
    "photo_jpeg",
    "png_bytes",
]
