"""NXmx (NeXus/HDF5) master files: read a collection's fields with h5py, ingest them through ``ingest``.

    read_nxmx(source) -> dict          source: a path or a binary file object; ValidationError when malformed
    nxmx_ingest_path(*, principal, path, external_id=None, **links) -> DataCollection     a file under DATA_ROOT
    nxmx_ingest_upload(*, principal, upload, directory, external_id=None, **links) -> DataCollection
    nxmx_ingest_fields(principal, fields, directory, file_name, external_id, links)   (the command's way in)

What is read (https://manual.nexusformat.org/classes/applications/NXmx.html), with units through pint as dials'
``nxmx`` reader reads them (its unit registry and transformation axes):
- the NXentry's start_time, and end_time, else end_time_estimated (then marked ``end_time_estimated`` and the
  collection left running);
- NXbeam incident_wavelength (the weighted mean of a spectrum given with incident_wavelength_weights), else
  incident_energy converted (λ = hc/E); total_flux (photons/s as written);
- NXdetector distance (or detector_distance), else the distance along the beam of the origin its ``depends_on``
  transformation chain puts it at; count_time (else frame_time); description; beam_center_x/y in pixels (a
  length is divided by the pixel size);
- the scan axis: the rotation of the sample's ``depends_on`` chain whose values change (omega, or phi on a
  kappa goniometer), else any rotation in an NXtransformations group; its name, first value, increment per image
  (``<axis>_increment_set``, else the step) and number of values. A grid scan has none;
- the number of images, counted once: the NXdata signal dataset (a VDS over the data files, whose shape is read
  without opening them) when there is one, else the data files linked one by one (followed only for a file under
  DATA_ROOT, only to files under it), else the scan axis's length, else the Eiger's nimages × ntrigger.
Every value is converted to the collection's units (Å, mm, s, °, pixels); a unit pint does not know, or of the
wrong kind, refuses the file naming the field and the unit. Required: an NXentry with an NXinstrument, an
NXdetector, the wavelength (or energy), the start time and the number of images; the error names whichever of
them is missing. ``links`` are what ``ingest_collections`` takes besides the file's fields: beamline, sample,
pin_code, session, group, experiment_type, status.
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


def _h5py():
    import h5py  # imported when needed: the web workers that never read NXmx do not load HDF5

    return h5py


def _units():
    """dials' NXmx reader and its pint unit registry (NeXus units are UDUNITS strings: pint reads them)."""
    import nxmx

    return nxmx


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


def _refuse(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def _values(dataset, field: str, unit: str | None, default: str = ""):
    """The dataset's values (a flat list of floats) in ``unit``, from its own ``units`` attribute (``default``
    when it has none). A unit pint does not know, or one of another kind (a time for a length), refuses the
    file naming the field and the unit: nothing is stored with a guessed unit."""
    if dataset is None:
        return None
    factor = 1.0
    if unit is not None:
        written = _text(dataset.attrs.get("units", default)) or default
        try:
            factor = _units().ureg.Quantity(1.0, written).to(unit).magnitude
        except Exception:  # pint's UndefinedUnitError, DimensionalityError, or a parse error of the text
            raise _refuse(f'{field}: the unit "{written}" is not a unit of this kind ({unit}).') from None
    try:
        raw = dataset[()]
    except OSError:
        return None
    try:
        flat = [float(v) * factor for v in (raw.flat if hasattr(raw, "flat") else [raw])]
    except (TypeError, ValueError):
        raise _refuse(f"{field}: not a number.") from None
    if not flat or not all(math.isfinite(v) for v in flat):
        return None
    return flat


def _value(dataset, field: str, unit: str | None, default: str = "") -> float | None:
    values = _values(dataset, field, unit, default)
    return values[0] if values else None


def _wavelength(beam) -> float | None:
    """Å: the wavelength, the weighted mean of a spectrum given with weights, or from the energy (λ = hc/E)."""
    values = _values(_dataset(beam, "incident_wavelength"), "incident_wavelength", "angstrom", "angstrom")
    if values:
        weights = _dataset(beam, "incident_wavelength_weights")
        if weights is not None and len(values) > 1:
            try:
                w = [float(v) for v in weights[()].flat]
            except (TypeError, ValueError, OSError):
                w = []
            if len(w) == len(values) and sum(w) > 0:
                return sum(v * x for v, x in zip(values, w, strict=True)) / sum(w)
        return values[0]
    energy = _value(_dataset(beam, "incident_energy"), "incident_energy", "keV", "keV")
    if energy:
        ureg = _units().ureg
        return (ureg.planck_constant * ureg.speed_of_light / ureg.Quantity(energy, "keV")).to("angstrom").magnitude
    return None


def _axis(dataset):
    """dials' axis object of a transformation dataset (units, vector, depends_on, offset)."""
    return _units().NXtransformationsAxis(dataset)


def _chain_start(entry, path_dataset):
    """The transformation a ``depends_on`` dataset names, or None."""
    if path_dataset is None:
        return None
    target = _text(path_dataset[()])
    if not target or target == ".":
        return None
    try:
        obj = entry.file[target]
    except (KeyError, OSError, ValueError):
        return None
    return _axis(obj) if isinstance(obj, _h5py().Dataset) else None


def _chain(start) -> list:
    chain, seen = [], set()
    while start is not None and start.path not in seen and len(chain) < 50:
        seen.add(start.path)
        chain.append(start)
        try:
            start = start.depends_on
        except (KeyError, OSError, ValueError):
            break
    return chain


def _scan(entry) -> dict:
    """The axis the goniometer turned during the scan: its name, first value, increment per image (the
    ``<axis>_increment_set``, else the step between values) and number of values; empty when no rotation axis
    changes (a grid scan). Read from the sample's ``depends_on`` chain, else from any NXtransformations group."""
    h5py = _h5py()
    sample = _first(entry, "NXsample")
    axes = [a._handle for a in _chain(_chain_start(entry, _dataset(sample, "depends_on")))]
    if not axes:
        found = []

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and _nx_class(obj.parent) == "NXtransformations":
                found.append(obj)

        entry.visititems(visit)
        axes = sorted(found, key=lambda d: d.name.rsplit("/", 1)[-1] != "omega")
    for dataset in axes:
        kind = _text(dataset.attrs.get("transformation_type", ""))
        name = dataset.name.rsplit("/", 1)[-1]
        if kind != "rotation" and not (kind == "" and name == "omega"):
            continue
        values = _values(dataset, name, "degree", "degree")
        increment = _value(
            _dataset(dataset.parent, f"{name}_increment_set"), f"{name}_increment_set", "degree", "degree"
        )
        moving = bool(values) and len(values) > 1 and any(v != values[0] for v in values)
        if not values or not (moving or increment):  # a fixed axis (a scalar with a non-zero increment turns)
            continue
        if increment is None:
            increment = values[1] - values[0]
        count = len(values) if len(values) > 1 else None
        return {"scan_axis": name, "oscillation_start": values[0], "oscillation_range": increment, "count": count}
    return {}


def _distance(entry, detector) -> float | None:
    """mm: the detector's distance field, else the distance along the beam of the origin its transformation
    chain puts it at."""
    for name in ("distance", "detector_distance"):
        value = _value(_dataset(detector, name), f"detector_distance (NXdetector/{name})", "mm", "m")
        if value is not None:
            return value
    chain = _chain(_chain_start(entry, _dataset(detector, "depends_on")))
    if not chain:
        return None
    for axis in chain:  # the same unit rule as every field: refuse what pint cannot convert
        kind = _text(axis._handle.attrs.get("transformation_type", ""))
        _values(
            axis._handle,
            axis._handle.name.rsplit("/", 1)[-1],
            "mm" if kind == "translation" else "degree",
            "mm" if kind == "translation" else "degree",
        )
    try:
        matrix = _units().get_cumulative_transformation(chain)
    except Exception:
        raise _refuse("The detector's transformation chain cannot be followed.") from None
    origin = matrix[0] @ [0.0, 0.0, 0.0, 1.0]
    return abs(float(origin[2])) or None


def _images(entry, base_dir: Path | None) -> int | None:
    """Images the NXdata group describes, counted once: its signal dataset (``data``, a virtual dataset over
    the data files, or the images themselves) when there is one, else the data files it links to one by one
    (followed only when reading a file under the data root, and only to files under it)."""
    h5py = _h5py()
    for data in _children(entry, "NXdata"):
        signal = _text(data.attrs.get("signal", "data")) or "data"
        if signal in data:
            link = data.get(signal, getlink=True)
            if isinstance(link, h5py.HardLink | h5py.SoftLink):
                dataset = data.get(signal)
                if isinstance(dataset, h5py.Dataset) and dataset.ndim >= 3:
                    return int(dataset.shape[0])  # a VDS's shape is known without opening its sources
        total, seen = 0, False
        for name in data:
            link = data.get(name, getlink=True)
            if not isinstance(link, h5py.ExternalLink):
                continue
            if base_dir is None or not _under_data_root(base_dir / link.filename):
                continue
            try:
                dataset = data[name]
            except (KeyError, OSError):
                continue
            if isinstance(dataset, h5py.Dataset) and dataset.ndim >= 3:
                total += dataset.shape[0]
                seen = True
        if seen:
            return total
    return None


def _eiger_images(detector) -> int | None:
    specific = detector.get("detectorSpecific") if detector is not None else None
    if specific is None:
        return None
    nimages = _value(_dataset(specific, "nimages"), "nimages", None)
    ntrigger = _value(_dataset(specific, "ntrigger"), "ntrigger", None)
    if nimages is None:
        return None
    return int(nimages * (ntrigger or 1))


def _time_text(entry, name) -> str | None:
    dataset = _dataset(entry, name)
    if dataset is None:
        return None
    try:
        return _text(dataset[()]) or None
    except OSError:
        return None


def _beam_centre(dataset, field: str, pixel_mm: float | None) -> float | None:
    """In pixels, as NXmx recommends; a centre given as a length is divided by the pixel size."""
    if dataset is None:
        return None
    written = _text(dataset.attrs.get("units", "pixel")) or "pixel"
    if written.lower().rstrip("s") == "pixel":
        return _value(dataset, field, None)
    length = _value(dataset, field, "mm", "mm")
    return length / pixel_mm if length is not None and pixel_mm else None


def read_nxmx(source, *, base_dir: Path | None = None) -> dict:
    """The fields of a collection from an NXmx master file (see the module docstring)."""
    h5py = _h5py()
    try:
        handle = h5py.File(source, "r")
    except (OSError, ValueError):
        raise _refuse("This is not an HDF5 file (an NXmx master file is one).") from None
    with handle:
        entry = _first(handle, "NXentry")
        if entry is None:
            raise _refuse("Not a NeXus file: it has no NXentry group (NX_class attribute).")
        definition = _text(entry["definition"][()]) if _dataset(entry, "definition") is not None else "NXmx"
        if definition and definition != "NXmx":
            raise _refuse(f"Not an NXmx file: the entry's definition is {definition!r}.")
        missing = []
        instrument = _first(entry, "NXinstrument")
        detector = _first(instrument, "NXdetector")
        beam = _first(instrument, "NXbeam") or _first(_first(entry, "NXsample"), "NXbeam")
        if instrument is None:
            missing.append("NXinstrument")
        elif detector is None:
            missing.append("NXinstrument/NXdetector")
        wavelength = _wavelength(beam)
        if wavelength is None:
            missing.append("NXbeam/incident_wavelength (or incident_energy)")
        start = _time_text(entry, "start_time")
        if not start:
            missing.append("NXentry/start_time")
        scan = _scan(entry)
        images = _images(entry, base_dir) or scan.get("count") or _eiger_images(detector)
        if images is None:
            missing.append("the number of images (NXdata datasets, a scan axis or detectorSpecific/nimages)")
        if missing:
            raise _refuse("Not a complete NXmx master file: missing " + ", ".join(missing) + ".")

        end, estimated = _time_text(entry, "end_time"), False
        if end is None:
            end = _time_text(entry, "end_time_estimated")
            estimated = end is not None
        pixel_x = _value(_dataset(detector, "x_pixel_size"), "x_pixel_size", "mm", "m")
        pixel_y = _value(_dataset(detector, "y_pixel_size"), "y_pixel_size", "mm", "m")
        exposure = _value(_dataset(detector, "count_time"), "count_time", "s", "s")
        if exposure is None:
            exposure = _value(_dataset(detector, "frame_time"), "frame_time", "s", "s")
        # Photons per second: written with no unit or in words pint does not know ("ph/s"); taken as it is.
        flux = _value(_dataset(beam, "total_flux"), "total_flux", None)
        if flux is None:
            flux = _value(_dataset(beam, "flux"), "flux", None)
        fields = {
            "start_time": start,
            "end_time": end,
            "end_time_estimated": estimated,
            "wavelength": wavelength,
            "detector_distance": _distance(entry, detector),
            "exposure_time": exposure,
            "number_of_images": int(images),
            "scan_axis": scan.get("scan_axis"),
            "oscillation_start": scan.get("oscillation_start"),
            "oscillation_range": scan.get("oscillation_range"),
            "detector": _text(detector["description"][()])[:60] if _dataset(detector, "description") else "",
            "beam_centre_x": _beam_centre(_dataset(detector, "beam_center_x"), "beam_center_x", pixel_x),
            "beam_centre_y": _beam_centre(_dataset(detector, "beam_center_y"), "beam_center_y", pixel_y),
            "flux": flux,
        }
    return {key: value for key, value in fields.items() if value is not None and value != ""}


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
        "status": "successful" if fields.get("end_time") and not fields.get("end_time_estimated") else "running",
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
