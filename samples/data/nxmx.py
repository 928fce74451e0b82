"""NXmx (NeXus/HDF5) master files: read a collection's fields with h5py, ingest them through ``ingest``.

    read_nxmx(source) -> dict          source: a path or a binary file object; ValidationError when malformed
    nxmx_ingest_path(*, principal, path, external_id=None, **links) -> DataCollection     a file under DATA_ROOT
    nxmx_ingest_upload(*, principal, upload, directory, external_id=None, **links) -> DataCollection
    nxmx_ingest_fields(principal, fields, directory, file_name, external_id, links)   (the command's way in)

What is read (https://manual.nexusformat.org/classes/applications/NXmx.html): the NXentry's start_time and
end_time; NXinstrument/NXbeam (or NXsample/NXbeam) incident_wavelength; NXdetector detector_distance,
count_time, description, beam_center_x/y; the omega axis of an NXtransformations group (its first value and
``omega_increment_set``, or the step between its values); the number of images from the NXdata datasets'
shape (the omega vector's length, or the Eiger's detectorSpecific nimages × ntrigger, when the data files are
not at hand). Units are converted to the collection's (Å, mm, s, °, pixels). Required: an NXentry with an
NXinstrument, an NXdetector, the wavelength, the start time and the number of images; the error names
whichever of them is missing. ``links`` are what ``ingest_collections`` takes besides the file's fields:
beamline, sample, pin_code, session, group, experiment_type, status.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from .ingest import ingest_collections
from .models import DataCollection

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
LINKS = ("beamline", "sample", "pin_code", "session", "group", "experiment_type", "status")

LENGTH_TO_MM = {"m": 1000.0, "metre": 1000.0, "meter": 1000.0, "cm": 10.0, "mm": 1.0, "um": 1e-3, "µm": 1e-3}
WAVELENGTH_TO_A = {"angstrom": 1.0, "a": 1.0, "å": 1.0, "nm": 10.0, "m": 1e10, "pm": 0.01}
TIME_TO_S = {"s": 1.0, "second": 1.0, "seconds": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}
ANGLE_TO_DEG = {"deg": 1.0, "degree": 1.0, "degrees": 1.0, "rad": 180.0 / math.pi, "radian": 180.0 / math.pi}


def _h5py():
    import h5py  # imported when needed: the web workers that never read NXmx do not load HDF5

    return h5py


def _text(value) -> str:
    if hasattr(value, "shape") and getattr(value, "shape", None) not in (None, ()):
        value = value.flat[0] if value.size else ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace").strip()
    return str(value).strip()


def _nx_class(obj) -> str:
    return _text(obj.attrs.get("NX_class", b""))


def _children(group, nx_class: str):
    h5py = _h5py()
    for name in group:
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.HardLink):
            child = group[name]
            if isinstance(child, h5py.Group) and _nx_class(child) == nx_class:
                yield child


def _first(group, nx_class: str):
    return next(_children(group, nx_class), None) if group is not None else None


def _dataset(group, name: str):
    h5py = _h5py()
    if group is None or name not in group:
        return None
    link = group.get(name, getlink=True)
    if not isinstance(link, h5py.HardLink | h5py.SoftLink):
        return None
    try:
        obj = group[name]
    except (KeyError, OSError):
        return None
    return obj if isinstance(obj, h5py.Dataset) else None


def _scale(dataset, table: dict, default: str) -> float:
    units = _text(dataset.attrs.get("units", default)).lower() or default
    return table.get(units, table.get(units.rstrip("s"), 1.0))


def _number(dataset, table=None, default="") -> float | None:
    """The dataset's (first) value as a float in the collection's units; None when absent or not a number."""
    if dataset is None:
        return None
    try:
        value = dataset[()]
        value = float(value.flat[0]) if hasattr(value, "flat") else float(value)
    except (TypeError, ValueError, IndexError, OSError):
        return None
    if not math.isfinite(value):
        return None
    return value * (_scale(dataset, table, default) if table else 1.0)


def _omega(entry) -> tuple[float | None, float | None, int | None]:
    """(start, increment, number of values) of the omega axis, found in an NXtransformations group (else any
    dataset named omega) under the entry."""
    h5py = _h5py()
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and name.rsplit("/", 1)[-1] == "omega":
            found.append((_nx_class(obj.parent) != "NXtransformations", name, obj))

    entry.visititems(visit)
    if not found:
        return None, None, None
    _, _, omega = sorted(found, key=lambda f: (f[0], f[1]))[0]
    try:
        values = omega[()]
    except OSError:
        return None, None, None
    scale = _scale(omega, ANGLE_TO_DEG, "deg")
    flat = [float(v) * scale for v in (values.flat if hasattr(values, "flat") else [values])]
    if not flat or not all(math.isfinite(v) for v in flat):
        return None, None, None
    increment = _number(_dataset(omega.parent, "omega_increment_set"), ANGLE_TO_DEG, "deg")
    if increment is None and len(flat) > 1:
        increment = flat[1] - flat[0]
    return flat[0], increment, len(flat) if len(flat) > 1 else None


def _images(entry, base_dir: Path | None) -> int | None:
    """Images in the NXdata datasets (their first dimension), following external links to data files only
    when reading a file under the data root, and only to files under it."""
    h5py = _h5py()
    total, seen = 0, False
    for data in _children(entry, "NXdata"):
        for name in data:
            link = data.get(name, getlink=True)
            dataset = None
            if isinstance(link, h5py.ExternalLink):
                if base_dir is None or not _under_data_root(base_dir / link.filename):
                    continue
                try:
                    dataset = data[name]
                except (KeyError, OSError):
                    continue
            elif isinstance(link, h5py.HardLink | h5py.SoftLink):
                dataset = data.get(name)
            if isinstance(dataset, h5py.Dataset) and dataset.ndim >= 3:
                total += dataset.shape[0]
                seen = True
    return total if seen else None


def _eiger_images(detector) -> int | None:
    specific = detector.get("detectorSpecific") if detector is not None else None
    if specific is None:
        return None
    nimages, ntrigger = _number(_dataset(specific, "nimages")), _number(_dataset(specific, "ntrigger"))
    if nimages is None:
        return None
    return int(nimages * (ntrigger or 1))


def _time_text(entry, *names) -> str | None:
    for name in names:
        dataset = _dataset(entry, name)
        if dataset is not None:
            try:
                return _text(dataset[()])
            except OSError:
                return None
    return None


def read_nxmx(source, *, base_dir: Path | None = None) -> dict:
    """The fields of a collection from an NXmx master file (see the module docstring)."""
    h5py = _h5py()
    try:
        handle = h5py.File(source, "r")
    except (OSError, ValueError):
        raise ValidationError({"file": ["This is not an HDF5 file (an NXmx master file is one)."]}) from None
    with handle:
        entry = _first(handle, "NXentry")
        if entry is None:
            raise ValidationError({"file": ["Not a NeXus file: it has no NXentry group (NX_class attribute)."]})
        definition = _text(entry["definition"][()]) if _dataset(entry, "definition") is not None else "NXmx"
        if definition and definition != "NXmx":
            raise ValidationError({"file": [f"Not an NXmx file: the entry's definition is {definition!r}."]})
        missing = []
        instrument = _first(entry, "NXinstrument")
        detector = _first(instrument, "NXdetector")
        beam = _first(instrument, "NXbeam") or _first(_first(entry, "NXsample"), "NXbeam")
        if instrument is None:
            missing.append("NXinstrument")
        elif detector is None:
            missing.append("NXinstrument/NXdetector")
        wavelength = _number(_dataset(beam, "incident_wavelength"), WAVELENGTH_TO_A, "angstrom")
        if wavelength is None:
            missing.append("NXbeam/incident_wavelength")
        start = _time_text(entry, "start_time")
        if not start:
            missing.append("NXentry/start_time")
        omega_start, omega_increment, omega_count = _omega(entry)
        images = _images(entry, base_dir) or omega_count or _eiger_images(detector)
        if images is None:
            missing.append("the number of images (NXdata datasets, an omega vector or detectorSpecific/nimages)")
        if missing:
            raise ValidationError({"file": ["Not a complete NXmx master file: missing " + ", ".join(missing) + "."]})

        pixel_x = _number(_dataset(detector, "x_pixel_size"), LENGTH_TO_MM, "m")
        pixel_y = _number(_dataset(detector, "y_pixel_size"), LENGTH_TO_MM, "m")
        fields = {
            "start_time": start,
            "end_time": _time_text(entry, "end_time", "end_time_estimated") or None,
            "wavelength": wavelength,
            "detector_distance": _number(_dataset(detector, "detector_distance"), LENGTH_TO_MM, "m")
            or _number(_dataset(detector, "distance"), LENGTH_TO_MM, "m"),
            "exposure_time": _number(_dataset(detector, "count_time"), TIME_TO_S, "s")
            or _number(_dataset(detector, "frame_time"), TIME_TO_S, "s"),
            "number_of_images": int(images),
            "oscillation_start": omega_start,
            "oscillation_range": omega_increment,
            "detector": _text(detector["description"][()])[:60] if _dataset(detector, "description") else "",
            "beam_centre_x": _beam_centre(_dataset(detector, "beam_center_x"), pixel_x),
            "beam_centre_y": _beam_centre(_dataset(detector, "beam_center_y"), pixel_y),
            "flux": _number(_dataset(beam, "total_flux")) or _number(_dataset(beam, "flux")),
        }
    return {key: value for key, value in fields.items() if value is not None and value != ""}


def _beam_centre(dataset, pixel_mm: float | None) -> float | None:
    """In pixels, as NXmx recommends; a centre given as a length is divided by the pixel size."""
    if dataset is None:
        return None
    units = _text(dataset.attrs.get("units", "pixel")).lower()
    if units in LENGTH_TO_MM:
        if not pixel_mm:
            return None
        return _number(dataset, LENGTH_TO_MM, "m") / pixel_mm
    return _number(dataset)


def data_root() -> Path:
    return Path(settings.DATA_ROOT).resolve()


def _under_data_root(path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(data_root())
    except (OSError, RuntimeError):
        return False


def resolve_data_path(path: str) -> Path:
    """``path`` (absolute, or relative to DATA_ROOT) as a real file under the data root; refused otherwise."""
    if not isinstance(path, str) or not path.strip() or "\x00" in path:
        raise ValidationError({"path": ["Give the master file's path."]})
    candidate = Path(path.strip())
    if not candidate.is_absolute():
        candidate = data_root() / candidate
    if not _under_data_root(candidate):
        raise ValidationError({"path": [f"The path is outside the data root ({data_root()})."]})
    resolved = candidate.resolve()
    if not resolved.is_file():
        raise ValidationError({"path": ["There is no such file."]})
    return resolved


def default_external_id(directory: str, file_name: str) -> str:
    """The collection's id when none is given: its master file's path (a digest of it when too long)."""
    path = f"{directory.rstrip('/')}/{file_name}"
    return path if len(path) <= 100 else "nxmx:" + hashlib.sha256(path.encode()).hexdigest()[:40]


def nxmx_ingest_fields(
    principal, fields: dict, directory: str, file_name: str, external_id, links: dict
) -> DataCollection:
    """The collection of a master file read by ``read_nxmx``: its path, and ``links`` (LINKS) besides."""
    unknown = set(links) - set(LINKS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    item = {
        **fields,
        "directory": directory,
        "file_template": file_name,
        "external_id": external_id or default_external_id(directory, file_name),
        "status": "successful" if fields.get("end_time") else "running",
        **{key: value for key, value in links.items() if value is not None},
    }
    (collection,) = ingest_collections(principal=principal, items=[item])
    return collection


def nxmx_ingest_path(*, principal, path: str, external_id: str | None = None, directory=None, **links):
    """Create or update the collection of the master file at ``path`` (under DATA_ROOT)."""
    file = resolve_data_path(path)
    fields = read_nxmx(str(file), base_dir=file.parent)
    return nxmx_ingest_fields(principal, fields, directory or str(file.parent), file.name, external_id, links)


def nxmx_ingest_upload(*, principal, upload, directory: str | None = None, external_id: str | None = None, **links):
    """Create or update a collection from an uploaded master file; ``directory`` says where its data are."""
    if not directory:
        raise ValidationError({"directory": ["Say where the data are (the directory of the master file)."]})
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": [f"A master file of at most {MAX_UPLOAD_BYTES // 2**20} MiB."]})
    source = upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else upload
    if not isinstance(source, str):
        upload.seek(0)
    fields = read_nxmx(source)
    return nxmx_ingest_fields(
        principal, fields, directory, os.path.basename(upload.name or "master.h5"), external_id, links
    )
