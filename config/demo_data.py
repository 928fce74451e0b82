"""The demo's data collections: one past session's sweeps, one after the other from its start, with their
screening and processing results and small stand-in files under ``DATA_ROOT/demo/<proposal>/<date>/``:
a few bytes for each image (enough for the download cart to build a real tar) and, for each collection,
a small stand-in diffraction thumbnail (PNG) and crystal snapshot (JPEG), drawn here so that the catalogue,
the collection page and the mail-in report show pictures as they would at a beamline.

Used by ``load_demo`` only; the pictures are drawn from a seed, so a demo rebuilt looks the same.
"""

import datetime as dt
import math
import random
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw, ImageFilter

from lims.models import Session
from samples.data.choices import CollectionStatus, ExperimentType, Shell
from samples.data.ingest import ingest_collections, ingest_processings, ingest_screenings
from samples.data.models import DataCollection
from samples.models import Sample

DEMO_PREFIX = "demo-"
THUMBNAIL_PX = 256
SNAPSHOT_SIZE = (320, 240)


def diffraction_thumbnail(seed: str, resolution: float | None) -> bytes:
    """A stand-in diffraction image as a PNG: spots out to ``resolution`` (None: a blank, failed shot),
    fading outwards, with the beam stop's shadow, as ADXV-style thumbnails look (dark spots on white)."""
    rng = random.Random(seed)
    size = THUMBNAIL_PX
    image = Image.new("L", (size, size), 245)
    draw = ImageDraw.Draw(image)
    centre = size / 2 + rng.uniform(-4, 4), size / 2 + rng.uniform(-4, 4)
    # Background scatter: darker near the beam.
    for r in range(size // 2, 0, -8):
        shade = int(245 - 40 * (1 - r / (size / 2)) ** 2)
        draw.ellipse((centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r), fill=shade)
    if resolution is not None:
        # Spots inside a radius that shrinks as the resolution gets worse (1.2 Å reaches the edge).
        reach = min(1.0, 1.2 / resolution) * size * 0.7
        for _ in range(int(1400 * min(1.0, 1.5 / resolution))):
            radius = reach * math.sqrt(rng.random())
            angle = rng.uniform(0, 2 * math.pi)
            x, y = centre[0] + radius * math.cos(angle), centre[1] + radius * math.sin(angle)
            strength = 1 - radius / reach
            dot = 0.6 + 1.4 * strength * rng.random()
            draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=int(200 - 190 * strength))
    else:
        # An ice ring and nothing else.
        r = size * 0.31
        draw.ellipse((centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r), outline=170, width=3)
    draw.rectangle((centre[0] - 3, centre[1], centre[0] + 3, size), fill=120)  # the beam stop's arm
    draw.ellipse((centre[0] - 9, centre[1] - 9, centre[0] + 9, centre[1] + 9), fill=110)
    out = BytesIO()
    image.filter(ImageFilter.SMOOTH).save(out, "PNG", optimize=True)
    return out.getvalue()


def crystal_snapshot(seed: str) -> bytes:
    """A stand-in on-axis snapshot as a JPEG: a loop on its pin with a crystal in it, and the beam's cross."""
    rng = random.Random(seed)
    w, h = SNAPSHOT_SIZE
    image = Image.new("RGB", (w, h), (92, 104, 118))
    draw = ImageDraw.Draw(image)
    for y in range(h):  # the lamp's gradient
        tone = int(70 + 60 * y / h)
        draw.line((0, y, w, y), fill=(tone, tone + 12, tone + 26))
    cx, cy = w * 0.5 + rng.uniform(-20, 20), h * 0.5 + rng.uniform(-15, 15)
    draw.line((0, cy + 8, cx - 55, cy + 4), fill=(40, 40, 45), width=6)  # the pin's stem
    draw.ellipse((cx - 60, cy - 42, cx + 60, cy + 42), outline=(30, 30, 35), width=4)  # the loop
    size = rng.uniform(18, 34)
    turn = rng.uniform(0, math.pi)
    sides = rng.choice((4, 6))
    crystal = [
        (
            cx + size * math.cos(turn + 2 * math.pi * k / sides),
            cy + 0.7 * size * math.sin(turn + 2 * math.pi * k / sides),
        )
        for k in range(sides)
    ]
    draw.polygon(crystal, fill=(196, 214, 226), outline=(235, 245, 250))
    bx, by = w / 2, h / 2
    draw.line((bx - 12, by, bx + 12, by), fill=(230, 40, 40), width=1)
    draw.line((bx, by - 12, bx, by + 12), fill=(230, 40, 40), width=1)
    out = BytesIO()
    image.filter(ImageFilter.SMOOTH).save(out, "JPEG", quality=80)
    return out.getvalue()


def _write(path: Path, content: bytes) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


@dataclass(frozen=True)
class Group:
    """A group as the pipeline names it: its external id, kind and sample (the ingest makes it)."""

    external_id: str
    experiment_type: str
    sample: Sample | None


class DemoData:
    """Collections of one past session, one after the other from its start, each with its stand-in files
    under ``DATA_ROOT/demo/<proposal>/<date>/`` (see the module docstring).

    Written as a beamline's pipeline writes them, through the ingest services (``samples.data.ingest``) as
    ``principal``: the beamline's API token, or a person who may ingest (beamline staff, admins). The
    ingest links each collection to its sample, session, proposal and group, fills the search column and
    keeps the best resolution of its results."""

    def __init__(self, session: Session, principal):
        self.session = session
        self.principal = principal
        self.clock = session.start + dt.timedelta(minutes=20)
        self.serial = 0
        self.root = Path(settings.DATA_ROOT) / "demo" / session.proposal.name / f"{session.start:%Y%m%d}"

    def group(self, kind: str, sample: Sample | None) -> Group:
        self.serial += 1
        return Group(f"{DEMO_PREFIX}{self.session.proposal.name}-g{self.serial}", kind, sample)

    def collection(
        self,
        group: Group,
        *,
        name: str,
        run: int,
        images: int,
        h5: bool,
        status=CollectionStatus.SUCCESSFUL,
        diffracts_to: float | None = 2.0,
        folder: str | None = None,
        **fields,
    ) -> DataCollection:
        """One sweep; CBF images ("name_run_####.cbf", one file each) or an Eiger master and its data files,
        and its thumbnail (spots out to ``diffracts_to`` Å; None: none) and snapshot, in ``folder`` (the
        sample's name, else ``name``)."""
        sample = group.sample
        directory = self.root / (folder or (sample.name if sample else name))
        template = f"{name}_{run}_master.h5" if h5 else f"{name}_{run}_####.cbf"
        thumbnail, snapshot = directory / f"{name}_{run}_thumb.png", directory / f"{name}_{run}_snapshot.jpg"
        seed = f"{self.session.proposal.name}/{name}/{run}"
        _write(thumbnail, diffraction_thumbnail(seed, diffracts_to))
        _write(snapshot, crystal_snapshot(seed))
        if h5:
            _write(directory / template, b"demo: stands in for an NXmx master file\n")
            for n in range(1, max(1, -(-images // 1000)) + 1):
                _write(directory / f"{name}_{run}_data_{n:06d}.h5", f"demo: data file {n}\n".encode())
        else:
            for n in range(1, images + 1):
                _write(directory / f"{name}_{run}_{n:04d}.cbf", f"demo: image {n}\n".encode())
        exposure = fields.pop("exposure_time", 0.01 if h5 else 0.1)
        start = self.clock
        end = start + dt.timedelta(seconds=images * exposure + 20)
        self.clock = end + dt.timedelta(minutes=4)
        self.serial += 1
        item = {
            "external_id": f"{DEMO_PREFIX}{self.session.proposal.name}-dc{self.serial}",
            "group": group.external_id,
            "session": self.session.pk,
            "sample": sample.pk if sample else None,
            "experiment_type": group.experiment_type,
            "status": status,
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
            "directory": str(directory),
            "file_template": template,
            "thumbnail_path": str(thumbnail),
            "snapshot_path": str(snapshot),
            "first_image": 1,
            "number_of_images": images,
            "wavelength": 0.9763,
            "exposure_time": exposure,
            "oscillation_start": 0.0,
            "oscillation_range": 0.1 if h5 else 1.0,
            "detector_distance": 250.0,
            "resolution": 1.5,
            "transmission": 20.0 if h5 else 5.0,
            "beam_size_x": 50.0,
            "beam_size_y": 20.0,
            "flux": 3.2e12,
            "detector": "EIGER2 X 16M" if h5 else "PILATUS 6M",
            "beam_centre_x": 2070.5,
            "beam_centre_y": 2180.2,
            "metadata": {
                "ring_current": round(198.5 + (self.serial % 7) * 0.2, 1),
                "undulator_gap": round(6.40 + (self.serial % 5) * 0.03, 2),
                "cryo_temperature": 100,
            },
            **fields,
        }
        (collection,) = ingest_collections(principal=self.principal, items=[item])
        return collection

    def screening(self, collection, *, resolution: float, ok: bool = True) -> None:
        """EDNA's result (the ingest keeps the collection's best resolution)."""
        item = {
            "data_collection": collection.pk,
            "program": "EDNA",
            "indexing_success": ok,
            "space_group": "P212121" if ok else "",
            **(dict(zip(CELL, (54.2, 61.8, 88.1, 90, 90, 90), strict=True)) if ok else {}),
            "mosaicity": 0.12 if ok else None,
            "estimated_resolution": resolution,
            "spots_found": 1450 if ok else 35,
            "ranking": round(1 / resolution, 3) if ok else None,
            "comments": "" if ok else "Indexing failed: too few spots (ice?).",
        }
        if ok:
            item["strategies"] = [
                {
                    "phi_start": 0,
                    "phi_end": 180,
                    "oscillation": 0.1,
                    "exposure_time": 0.01,
                    "completeness": 99.6,
                    "multiplicity": 6.8,
                    "resolution": resolution,
                },
                {
                    "phi_start": 30,
                    "phi_end": 120,
                    "oscillation": 0.2,
                    "exposure_time": 0.02,
                    "completeness": 95.1,
                    "multiplicity": 3.4,
                    "resolution": round(resolution + 0.2, 2),
                },
            ]
        ingest_screenings(principal=self.principal, items=[item])
        _refresh_best(collection)

    def processing(self, collection, *, high: float, programs=("autoPROC", "xia2-dials")) -> None:
        """One result per program, with its three shells (the ingest keeps the best resolution)."""
        items = []
        for k, program in enumerate(programs):
            top = round(high + 0.05 * k, 2)
            items.append(
                {
                    "data_collection": collection.pk,
                    "program": program,
                    "space_group": "P212121",
                    **dict(zip(CELL, (54.21, 61.83, 88.07, 90, 90, 90), strict=True)),
                    "shells": [
                        {
                            "shell": Shell.OVERALL,
                            "resolution_low": 44.1,
                            "resolution_high": top,
                            "completeness": 99.7,
                            "multiplicity": 6.6,
                            "i_sigma": 13.8,
                            "r_merge": 0.071,
                            "cc_half": 0.998,
                        },
                        {
                            "shell": Shell.INNER,
                            "resolution_low": 44.1,
                            "resolution_high": round(top * 2.7, 2),
                            "completeness": 99.4,
                            "multiplicity": 6.2,
                            "i_sigma": 42.5,
                            "r_merge": 0.031,
                            "cc_half": 0.999,
                        },
                        {
                            "shell": Shell.OUTER,
                            "resolution_low": round(top + 0.03, 2),
                            "resolution_high": top,
                            "completeness": 98.2,
                            "multiplicity": 6.4,
                            "i_sigma": 1.7,
                            "r_merge": 0.88,
                            "cc_half": 0.58,
                        },
                    ],
                }
            )
        ingest_processings(principal=self.principal, items=items)
        _refresh_best(collection)

    def mx2345(self, samples: list[Sample]) -> dict:
        """About 25 collections: a screening of ten pins, data sets on seven, a SAD pair, a mesh, calibration."""
        made = {"screenings": [], "datasets": [], "sad": [], "failed": [], "calibration": []}
        thaumatin = self.group(ExperimentType.OTHER, None)
        for run, flag_name in ((1, "alignment"), (2, "calibration")):
            made["calibration"].append(
                self.collection(thaumatin, name=f"thau_{flag_name}", run=run, images=4, h5=False)
            )
        chosen = samples[:5] + samples[20:25]
        for i, sample in enumerate(chosen):
            screening = self.group(ExperimentType.SCREENING, sample)
            ok, resolution = i != 9, round(1.55 + 0.15 * i, 2)
            shot = self.collection(
                screening, name=sample.name, run=1, images=4, h5=False, diffracts_to=resolution if ok else None
            )
            self.screening(shot, resolution=resolution, ok=ok)
            (made["screenings"] if ok else made["failed"]).append(shot)
            if i >= 7:
                continue
            data_set = self.group(ExperimentType.OSC, sample)
            sweeps = 2 if i in (0, 1, 3) else 1
            for run in range(1, sweeps + 1):
                aborted = i == 5
                images = 640 if aborted else 1800
                high = round(1.6 + 0.1 * i + 0.05 * (run - 1), 2)
                dc = self.collection(
                    data_set,
                    name=sample.name,
                    run=run + 1,
                    images=images,
                    h5=True,
                    status=CollectionStatus.ABORTED if aborted else CollectionStatus.SUCCESSFUL,
                    oscillation_start=90.0 * (run - 1),
                    comments="Aborted: the crystal moved out of the beam." if aborted else "",
                    diffracts_to=high,
                )
                if not aborted:
                    self.processing(dc, high=high)
                made["datasets" if not aborted else "failed"].append(dc)
        if len(chosen) > 2:
            sad = self.group(ExperimentType.SAD, chosen[2])
            for run in (1, 2):
                dc = self.collection(
                    sad, name=f"{chosen[2].name}_se", run=run, images=3600, h5=True, wavelength=0.9792, diffracts_to=2.1
                )
                self.processing(dc, high=2.1, programs=("autoPROC",))
                made["sad"].append(dc)
        if len(chosen) > 8:
            mesh = self.group(ExperimentType.MESH, chosen[8])
            made["failed"].append(
                self.collection(
                    mesh,
                    name=f"{chosen[8].name}_mesh",
                    run=1,
                    images=20,
                    h5=False,
                    status=CollectionStatus.FAILED,
                    comments="Detector armed late: no images after 20.",
                    diffracts_to=None,
                )
            )
        return made

    def in1001(self, pin: Sample | None = None) -> dict:
        """A mail-in fragment screen: screenings then data sets of soaked crystals. The first crystal was on
        ``pin`` (the mail-in shipment's screen-and-collect pin); the others were not registered: their
        collections are the session's, with no sample nor protein."""
        made = {"fragments": []}
        for k in range(1, 3):
            sample = pin if k == 1 else None
            name = folder = f"kras_f{k:03d}"
            screening = self.group(ExperimentType.SCREENING, sample)
            shot = self.collection(
                screening, name=name, run=1, images=2, h5=False, folder=folder, diffracts_to=1.8 + 0.1 * k
            )
            self.screening(shot, resolution=1.8 + 0.1 * k)
            data_set = self.group(ExperimentType.OSC, sample)
            dc = self.collection(
                data_set, name=name, run=2, images=1800, h5=True, folder=folder, diffracts_to=1.7 + 0.1 * k
            )
            self.processing(dc, high=1.7 + 0.1 * k, programs=("fast_dp",))
            made["fragments"].append(dc)
        return made


CELL = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")


def _refresh_best(collection: DataCollection) -> None:
    """The best resolution the ingest stored, on the object the caller holds (a read, no write)."""
    collection.best_resolution = (
        DataCollection.objects.filter(pk=collection.pk).values_list("best_resolution", flat=True).get()
    )
