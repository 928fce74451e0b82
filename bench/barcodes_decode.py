"""Decoding DataMatrix codes from photos: time and success of decode_image, and of pylibdmtx alone.

Usage:  .venv/bin/python bench/barcodes_decode.py [--runs 3] [--photos 200] [--no-code 5] [--dmtx-timeout 300]

The photos are synthetic and seeded (lims.barcodes.testing), so every run decodes the same set:
a 10-character SPINE code on a textured grey surface, turned, tilted, out of focus, noisy, JPEG-saved.
Times are medians over --runs runs of each photo (the decoder is deterministic; the runs only smooth
out the machine's noise): the wall-clock time, and beside it the CPU time (time.process_time), which the
machine's other work does not inflate; the load average is printed before and after. Goals (issue 3):
median under 20 ms for 640×480 and under 300 ms for 12 MP, success at least 99 % on the set; (issue 18)
an answer under 300 ms for a photo without a readable code: a bare textured surface, and a code blurred
past reading (σ 1.2 module), at 640×480, 2000×1500 and 12 MP. No asserts: the figures are printed for the
closing note.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from pylibdmtx.pylibdmtx import decode as dmtx_decode  # noqa: E402

from lims.barcodes.decode import DecodeError, decode_image  # noqa: E402
from lims.barcodes.testing import add_noise, backdrop, code_image, degrade, photo_jpeg  # noqa: E402

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# The set's levels: each photo draws one value of each, independently (seeded).
MODULE_PX = (4, 5, 6, 7, 8)  # pixels a module: the 14×14 symbol is 56–112 px wide in a 640×480 photo
NOISE = (0, 4, 8, 12, 16, 20)  # sensor noise, standard deviation in grey levels
BLUR = (0, 0.1, 0.2, 0.3)  # defocus, Gaussian sigma as a fraction of a module
PERSPECTIVE = (0, 0.05, 0.1, 0.15)  # each label corner moved by up to this part of the side
CONTRAST = (1.0, 0.8, 0.6)  # 0.6: dark grey on light grey
QUALITY = (60, 75, 90)  # JPEG quality of the upload
# Beyond the set: what a hand-held photo should not be; reported separately, not counted in the set.
EXTREMES = {
    "blur 0.5 module": {"blur": 0.5},
    "noise 35": {"noise": 35},
    "modules of 3 px": {"module_px": 3},
    "perspective 0.25": {"perspective": 0.25},
}

DESCRIPTION = f"""\
Set: {{photos}} greyscale JPEG photos 640×480, seeded; each a random 10-character code [A-Z0-9] (14×14 symbol,
2-module quiet zone) pasted on a textured grey surface at a random place near the middle, with, drawn
independently per photo: rotation uniform 0–360°; pixels a module {MODULE_PX}; noise σ {NOISE} grey levels;
blur σ {BLUR} of a module; perspective {PERSPECTIVE}; contrast {CONTRAST}; JPEG quality {QUALITY}.
12 MP: {{big}} photos 4000×3000 of one code, modules 14–28 px, any rotation, noise σ 8, blur σ 0.15 module,
perspective 0.1, JPEG 85."""


def random_code(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(10))


def photo(rng: random.Random, seed: int, **override) -> tuple[str, bytes]:
    """One photo of the set (or of an extreme, with ``override``): the code and the JPEG bytes."""
    code = random_code(rng)
    module_px = override.pop("module_px", rng.choice(MODULE_PX))
    params = {
        "angle": rng.uniform(0, 360),
        "noise": rng.choice(NOISE),
        "blur": rng.choice(BLUR) * module_px,
        "perspective": rng.choice(PERSPECTIVE),
        "contrast": rng.choice(CONTRAST),
        "centre": (320 + rng.uniform(-150, 150), 240 + rng.uniform(-100, 100)),
        "seed": seed,
        "quality": None,
    }
    quality = rng.choice(QUALITY)
    if "blur" in override:
        override["blur"] *= module_px
    params.update(override)
    return code, photo_jpeg(degrade(code_image(code, module_px), **params), quality)


def big_photo(rng: random.Random, seed: int) -> tuple[str, bytes]:
    code = random_code(rng)
    module_px = rng.randint(14, 28)
    image = degrade(
        code_image(code, module_px),
        angle=rng.uniform(0, 360),
        noise=8,
        blur=0.15 * module_px,
        perspective=0.1,
        size=(4000, 3000),
        centre=(2000 + rng.uniform(-1200, 1200), 1500 + rng.uniform(-900, 900)),
        seed=seed,
        quality=None,
    )
    return code, photo_jpeg(image, 85)


def no_code_photo(size: tuple[int, int], seed: int, *, blurred: bool) -> tuple[None, bytes]:
    """A photo without a readable code: a bare textured surface, or a code blurred past reading (σ 1.2 module)."""
    rng = random.Random(seed)
    if not blurred:
        return None, photo_jpeg(add_noise(backdrop(size, seed=seed), 8, rng), 85)
    module_px = max(4, min(size) // 80)
    image = degrade(
        code_image(random_code(rng), module_px),
        angle=rng.uniform(0, 360),
        noise=8,
        blur=1.2 * module_px,
        size=size,
        centre=(size[0] * rng.uniform(0.3, 0.7), size[1] * rng.uniform(0.3, 0.7)),
        seed=seed,
        quality=None,
    )
    return None, photo_jpeg(image, 85)


def run_decoder(photos, runs: int):
    """Median wall-clock and CPU time per photo (ms), and the photos decoded to their code."""
    times, cpu, ok = [], [], 0
    for code, data in photos:
        per_run, per_run_cpu = [], []
        found = []
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                found = decode_image(data)
            except DecodeError:
                found = []
            per_run.append((time.perf_counter() - start) * 1000)
            per_run_cpu.append((time.process_time() - start_cpu) * 1000)
        times.append(statistics.median(per_run))
        cpu.append(statistics.median(per_run_cpu))
        ok += any(f.text == code for f in found) if code else not found
    return times, cpu, ok


def run_pylibdmtx(photos, timeout_ms: int):
    """pylibdmtx alone on the same photos (greyscale, as decoded by Pillow), with a timeout each."""
    from io import BytesIO

    from PIL import Image

    times, ok = [], 0
    for code, data in photos:
        image = Image.open(BytesIO(data)).convert("L")
        start = time.perf_counter()
        results = dmtx_decode(image, timeout=timeout_ms, max_count=1)
        times.append((time.perf_counter() - start) * 1000)
        ok += any(r.data.decode("ascii", "replace") == code for r in results)
    return times, ok


def figures(times: list[float], cpu: list[float] | None = None) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    text = f"median {statistics.median(times):7.1f} ms"
    if cpu is not None:
        text += f" (CPU {statistics.median(cpu):6.1f} ms, max {max(cpu):6.1f})"
    return text + f"   p95 {p95:7.1f} ms   max {max(times):7.1f} ms"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--big", type=int, default=5)
    parser.add_argument("--extremes", type=int, default=25, help="photos per extreme")
    parser.add_argument("--no-code", type=int, default=5, help="photos per no-readable-code case")
    parser.add_argument("--dmtx-timeout", type=int, default=300, help="ms per photo for pylibdmtx alone")
    args = parser.parse_args()

    rng = random.Random(20240603)
    photos = [photo(rng, seed) for seed in range(args.photos)]
    big = [big_photo(rng, 1000 + seed) for seed in range(args.big)]
    print(DESCRIPTION.format(photos=args.photos, big=args.big))
    print(f"load average before: {load()}   (wall-clock median, CPU median and max, p95 and max wall)")
    print()

    times, cpu, ok = run_decoder(photos, args.runs)
    print(
        f"decode_image, 640×480   : {figures(times, cpu)}   success {ok}/{len(photos)} = {100 * ok / len(photos):.1f} %"
    )
    times, cpu, ok = run_decoder(big, args.runs)
    print(f"decode_image, 12 MP     : {figures(times, cpu)}   success {ok}/{len(big)}")
    times, ok = run_pylibdmtx(photos, args.dmtx_timeout)
    print(
        f"pylibdmtx alone, 640×480: {figures(times)}   success {ok}/{len(photos)} = {100 * ok / len(photos):.1f} %"
        f"   (timeout {args.dmtx_timeout} ms a photo)"
    )
    print()
    print(f"Beyond the set ({args.extremes} photos each, otherwise drawn like the set; not counted above):")
    for name, override in EXTREMES.items():
        extreme = [photo(rng, 2000 + seed, **dict(override)) for seed in range(args.extremes)]
        times, cpu, ok = run_decoder(extreme, 1)
        print(f"  {name:18}: decode_image {ok}/{len(extreme)}   {figures(times, cpu)}")
    print()
    print(f"No readable code ({args.no_code} photos each; goal: the answer, no_code, in under 300 ms):")
    for name, size in (("640×480", (640, 480)), ("2000×1500", (2000, 1500)), ("12 MP", (4000, 3000))):
        for blurred in (False, True):
            cases = [no_code_photo(size, 3000 + seed, blurred=blurred) for seed in range(args.no_code)]
            times, cpu, ok = run_decoder(cases, args.runs)
            label = f"{'code blurred σ 1.2 module' if blurred else 'textured surface'}, {name}"
            print(f"  {label:36}: no code {ok}/{len(cases)}   {figures(times, cpu)}")
    print()
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
