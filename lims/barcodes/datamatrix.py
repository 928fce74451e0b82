"""DataMatrix (ECC200) encoding with pylibdmtx: square, smallest symbol that fits.

The symbol is kept as a matrix of modules, so that it can be drawn at any physical size: as a PNG with
whole pixels per module, or into a PDF as vector squares (crisp at any printer resolution).
"""

from functools import lru_cache
from io import BytesIO

from PIL import Image
from pylibdmtx.pylibdmtx import encode

QUIET_ZONE = 1  # modules of white around the symbol; ECC200 asks for at least one


@lru_cache(maxsize=4096)
def modules(code: str) -> tuple[tuple[bool, ...], ...]:
    """The symbol of ``code`` as rows of modules (True = dark), without quiet zone."""
    encoded = encode(code.encode("ascii"), size="SquareAuto")
    image = Image.frombytes("RGB", (encoded.width, encoded.height), encoded.pixels).convert("L")
    # pylibdmtx draws 5 pixels a module with a 2-module margin; read the centre of every module back.
    step = 5
    margin = next(
        x for x in range(encoded.width) if image.getpixel((x, encoded.height // 2)) < 128 or x > encoded.width // 2
    )
    size = (encoded.width - 2 * margin) // step
    return tuple(
        tuple(image.getpixel((margin + c * step + step // 2, margin + r * step + step // 2)) < 128 for c in range(size))
        for r in range(size)
    )


def symbol_size(code: str) -> int:
    """The number of modules a side of the symbol of ``code`` has (e.g. 14 for a 10-character code)."""
    return len(modules(code))


def png(code: str, module_px: int = 8, quiet_zone: int = QUIET_ZONE) -> bytes:
    """The symbol as a PNG, ``module_px`` pixels a module, with a white quiet zone."""
    grid = modules(code)
    n = len(grid) + 2 * quiet_zone
    image = Image.new("1", (n, n), 1)
    for r, row in enumerate(grid):
        for c, dark in enumerate(row):
            if dark:
                image.putpixel((c + quiet_zone, r + quiet_zone), 0)
    image = image.resize((n * module_px, n * module_px), Image.NEAREST)
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def draw(canvas, code: str, x: float, y: float, size: float) -> None:
    """Draw the symbol of ``code`` on a reportlab canvas: lower-left corner (x, y), side ``size`` in points.

    ``size`` is the symbol itself, without quiet zone: leave at least one module of white around it.
    """
    grid = modules(code)
    n = len(grid)
    module = size / n
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setStrokeColorRGB(0, 0, 0)
    canvas.setLineWidth(0)
    for r, row in enumerate(grid):
        # Runs of dark modules in a row are drawn as one rectangle: fewer paths, no hairline gaps.
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                canvas.rect(
                    x + start * module, y + (n - 1 - r) * module, (c - start) * module, module, stroke=0, fill=1
                )
            else:
                c += 1
    canvas.restoreState()
