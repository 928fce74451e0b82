"""NXmx master files written by Diamond's nexgen, and their expected fields read by dials' ``nxmx``.

Every maker takes a directory and returns the master file's Path. The files are small: 12 × 16 pixel images
(the detectors' ``image_size`` is declared as (slow, fast) = (12, 16)), at most a few tens of frames, data
files written here with h5py (nexgen writes only the master file and the links to them). What nexgen cannot
express (a dataset in another unit, a field removed, the energy instead of the wavelength) is edited
afterwards with h5py.

``truth(path)`` gives the expected values, in the LIMS's units, from dials' reader ``nxmx`` (with pint and
numpy) and from nothing in ``samples``: it is the reference ``samples.data.nxmx.read_nxmx`` is compared with.

The NXmx field called ``detector_distance`` here (the LIMS's name) is the NXdetector's ``distance`` dataset,
which is where nexgen writes it (and where ``nxmx.NXdetector.distance`` reads it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np

IMAGE_SIZE = (12, 16)  # (slow, fast) pixels, as nexgen declares it
START = "2026-03-10T10:00:00Z"
END = "2026-03-10T10:00:07Z"
ESTIMATED_END = "2026-03-10T10:00:05Z"
WAVELENGTH = 0.9763  # Å
EXPOSURE = 0.01  # s

# Where with_units rewrites a field, and the factor from the unit nexgen writes it in to each other spelling
# (written by hand: not computed with pint, which the reader and truth() both use).
FIELDS = {
    "detector_distance": ("/entry/instrument/detector/distance", "m"),
    "incident_wavelength": ("/entry/instrument/beam/incident_wavelength", "angstrom"),
    "count_time": ("/entry/instrument/detector/count_time", "s"),
}
FACTORS = {
    "m": {"mm": 1e3, "m": 1.0, "cm": 1e2, "centimeter": 1e2, "\u00b5m": 1e6, "\u03bcm": 1e6, "nanometer": 1e9},
    "angstrom": {"angstrom": 1.0, "\u00c5": 1.0, "nm": 0.1, "nanometer": 0.1, "m": 1e-10},
    "s": {"s": 1.0, "ms": 1e3, "microsecond": 1e6},
}
UNIT_CASES = [
    ("detector_distance", "mm"),
    ("detector_distance", "m"),
    ("detector_distance", "cm"),
    ("detector_distance", "centimeter"),
    ("detector_distance", "\u00b5m"),  # micro sign
    ("detector_distance", "\u03bcm"),  # Greek small letter mu
    ("detector_distance", "nanometer"),
    ("incident_wavelength", "angstrom"),
    ("incident_wavelength", "\u00c5"),
    ("incident_wavelength", "nm"),
    ("incident_wavelength", "nanometer"),
    ("incident_wavelength", "m"),
    ("count_time", "s"),
    ("count_time", "ms"),
    ("count_time", "microsecond"),
]


# --------------------------------------------------------------------------------------------------- nexgen


def _nexgen():
    from nexgen.nxs_utils import (
        Attenuator,
        Axis,
        Beam,
        Detector,
        EigerDetector,
        Goniometer,
        JungfrauDetector,
        SinglaDetector,
        Source,
        TransformationType,
    )
    from nexgen.nxs_write.nxmx_writer import NXmxFileWriter

    return {
        "Attenuator": Attenuator,
        "Axis": Axis,
        "Beam": Beam,
        "Detector": Detector,
        "EigerDetector": EigerDetector,
        "Goniometer": Goniometer,
        "JungfrauDetector": JungfrauDetector,
        "SinglaDetector": SinglaDetector,
        "Source": Source,
        "R": TransformationType.ROTATION,
        "T": TransformationType.TRANSLATION,
        "NXmxFileWriter": NXmxFileWriter,
    }


def _i24_gonio(omega_start=10.0, omega_increment=0.1, images=20, grid=None):
    """I24's goniometer (omega, then sam_z, sam_y, sam_x); ``grid`` = ((x step, x points), (y step, y points))
    turns it into a grid scan on sam_x/sam_y with omega fixed at ``omega_start``."""
    n = _nexgen()
    axis, rot, tr = n["Axis"], n["R"], n["T"]
    if grid is None:
        omega = axis("omega", ".", rot, (-1, 0, 0), omega_start, omega_increment, images)
        x = axis("sam_x", "sam_y", tr, (1, 0, 0))
        y = axis("sam_y", "sam_z", tr, (0, 1, 0))
    else:
        (x_step, x_points), (y_step, y_points) = grid
        omega = axis("omega", ".", rot, (-1, 0, 0), omega_start)
        x = axis("sam_x", "sam_y", tr, (1, 0, 0), 0.1, x_step, x_points)
        y = axis("sam_y", "sam_z", tr, (0, 1, 0), -0.2, y_step, y_points)
    z = axis("sam_z", "omega", tr, (0, 0, 1))
    return n["Goniometer"]([omega, z, y, x])


def _i19_kappa_gonio(omega, kappa, phi_start, phi_increment, images):
    """I19-2's kappa goniometer (nexgen.beamlines.I19_2_params), rotating about phi."""
    n = _nexgen()
    axis, rot, tr = n["Axis"], n["R"], n["T"]
    return n["Goniometer"](
        [
            axis("omega", ".", rot, (-1, 0, 0), omega),
            axis("kappa", "omega", rot, (-0.642788, -0.766044, 0), kappa),
            axis("phi", "kappa", rot, (-1, 0, 0), phi_start, phi_increment, images),
            axis("sam_z", "phi", tr, (0, 0, 1)),
            axis("sam_y", "sam_z", tr, (0, 1, 0)),
            axis("sam_x", "sam_y", tr, (1, 0, 0)),
        ]
    )


def _detector(kind: str, distance_mm: float, beam_centre: tuple[float, float]):
    n = _nexgen()
    if kind == "eiger":
        params = n["EigerDetector"]("Eiger 2X 9M", IMAGE_SIZE, "CdTe", 50649, -1)
    elif kind == "jungfrau":
        params = n["JungfrauDetector"]("Jungfrau 1M", IMAGE_SIZE)
    elif kind == "singla":
        params = n["SinglaDetector"]("Singla 1M", IMAGE_SIZE)
    else:
        raise ValueError(kind)
    axes = [n["Axis"]("det_z", ".", n["T"], (0, 0, 1), distance_mm)]
    return n["Detector"](params, axes, list(beam_centre), EXPOSURE, [(-1, 0, 0), (0, -1, 0)])


def _data_file(path: Path, frames: int) -> Path:
    """A data file as the detector writes it: /data of ``frames`` images of IMAGE_SIZE."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("data", data=np.zeros((frames, *IMAGE_SIZE), dtype=np.uint16))
    return path


def _eiger_meta(path: Path) -> Path:
    """The Eiger's _meta.h5, with what nexgen links the master file to (flatfield, mask, _dectris/...)."""
    with h5py.File(path, "w") as h5:
        h5["flatfield"] = np.ones(IMAGE_SIZE, dtype=np.float32)
        h5["mask"] = np.zeros(IMAGE_SIZE, dtype=np.uint32)
        dectris = h5.create_group("_dectris")
        dectris["flatfield_correction_applied"] = 1
        dectris["pixel_mask_applied"] = 1
        dectris["bit_depth_image"] = 16
        dectris["detector_readout_time"] = 1e-7
        dectris["threshold_energy"] = 6350.0
        dectris["photon_energy"] = 12700.0
        dectris["software_version"] = np.bytes_("1.8.0")
        dectris["ntrigger"] = 1
    return path


def _write(
    directory: Path,
    stem: str,
    *,
    detector,
    goniometer,
    images: int,
    beam=None,
    vds: bool = False,
    start: str | None = START,
    end: str | None = END,
    estimated_end: str | None = ESTIMATED_END,
    data_dir: Path | None = None,
    data_frames: int | None = None,
) -> Path:
    """The master file ``<stem>_master.h5`` in ``directory`` with its data file ``<stem>_000001.h5`` (in
    ``data_dir`` when given, holding ``data_frames`` images when given) linked as /entry/data/data_000001."""
    n = _nexgen()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    master = directory / f"{stem}_master.h5"
    datafile = _data_file((data_dir or directory) / f"{stem}_000001.h5", data_frames or images)
    if detector.detector_params.hasMeta:
        _eiger_meta(directory / f"{stem}_meta.h5")
    writer = n["NXmxFileWriter"](
        master,
        goniometer,
        detector,
        n["Source"]("I24"),
        beam or n["Beam"](WAVELENGTH),
        n["Attenuator"](0.5),
        images,
    )
    writer.write(image_datafiles=[datafile], image_filename=stem, start_time=start, est_end_time=estimated_end)
    if vds:
        writer.write_vds(vds_shape=(images, *IMAGE_SIZE))
    if end:
        writer.update_timestamps(end, "end_time")
    return master


# --------------------------------------------------------------------------------------------------- makers


def eiger_rotation(directory) -> Path:
    """Eiger, omega from 10° by 0.1° for 20 images; data_000001 linked and a VDS at /entry/data/data; start,
    end and (nexgen's) estimated end times. Distance 200 mm, beam centre (8.25, 5.5) px."""
    return _write(
        directory,
        "eiger",
        detector=_detector("eiger", 200.0, (8.25, 5.5)),
        goniometer=_i24_gonio(),
        images=20,
        vds=True,
    )


def eiger_links_only(directory) -> Path:
    """eiger_rotation without the VDS: the images only through the data_000001 link."""
    return _write(
        directory,
        "eigerlinks",
        detector=_detector("eiger", 200.0, (8.25, 5.5)),
        goniometer=_i24_gonio(),
        images=20,
    )


def jungfrau_rotation(directory) -> Path:
    """Jungfrau, omega from -5° by 0.5° for 16 images, 123.4 mm, beam centre (3.5, 9.75) px; no VDS."""
    return _write(
        directory,
        "jf",
        detector=_detector("jungfrau", 123.4, (3.5, 9.75)),
        goniometer=_i24_gonio(-5.0, 0.5, 16),
        images=16,
    )


def singla_rotation(directory) -> Path:
    """Singla (nexgen 0.11.2 has no Pilatus), omega from 180° by 0.25° for 10 images, 312.5 mm, beam centre
    (7.125, 6.875) px; no VDS."""
    return _write(
        directory,
        "singla",
        detector=_detector("singla", 312.5, (7.125, 6.875)),
        goniometer=_i24_gonio(180.0, 0.25, 10),
        images=10,
    )


def kappa_phi_scan(directory) -> Path:
    """I19-2's kappa goniometer turning phi from 30° by 0.2° for 25 images, omega fixed at 45°, kappa at 20°."""
    return _write(
        directory,
        "kappa",
        detector=_detector("eiger", 150.0, (8.0, 6.0)),
        goniometer=_i19_kappa_gonio(45.0, 20.0, 30.0, 0.2, 25),
        images=25,
        vds=True,
    )


def grid_scan(directory) -> Path:
    """A 4 × 3 grid on sam_x (0.01 mm steps) and sam_y (0.02 mm steps), omega fixed at 90°: 12 images."""
    return _write(
        directory,
        "grid",
        detector=_detector("eiger", 180.0, (8.25, 5.5)),
        goniometer=_i24_gonio(90.0, grid=((0.01, 4), (0.02, 3))),
        images=12,
        vds=True,
    )


def with_units(directory, field: str, unit: str) -> Path:
    """eiger_rotation with ``field`` (a key of FIELDS) rewritten in ``unit``: the same physical value."""
    master = eiger_rotation(directory)
    name, written = FIELDS[field]
    factor = FACTORS[written][unit]
    with h5py.File(master, "r+") as h5:
        old = h5[name]
        assert old.attrs["units"] in (written, written.encode()), old.attrs["units"]
        value = old[()] * factor
        del h5[name]
        h5[name] = value
        h5[name].attrs["units"] = unit  # a str attribute: h5py stores it as UTF-8
    return master


def weighted_spectrum(directory) -> Path:
    """A polychromatic beam: three wavelengths with unequal weights (weighted mean 0.984 Å, not 0.97)."""
    n = _nexgen()
    return _write(
        directory,
        "spectrum",
        detector=_detector("eiger", 200.0, (8.25, 5.5)),
        goniometer=_i24_gonio(),
        images=20,
        beam=n["Beam"]([0.97, 0.98, 1.0], [0.2, 0.5, 0.3]),
        vds=True,
    )


def estimated_end_only(directory) -> Path:
    """Only /entry/end_time_estimated (the collection still running), no end_time."""
    return _write(
        directory,
        "running",
        detector=_detector("eiger", 200.0, (8.25, 5.5)),
        goniometer=_i24_gonio(),
        images=20,
        vds=True,
        end=None,
    )


def distance_only_in_chain(directory) -> Path:
    """eiger_rotation (at 245.5 mm) without the detector's distance dataset: only its det_z translation."""
    master = _write(
        directory,
        "chain",
        detector=_detector("eiger", 245.5, (8.25, 5.5)),
        goniometer=_i24_gonio(),
        images=20,
        vds=True,
    )
    with h5py.File(master, "r+") as h5:
        detector = h5["/entry/instrument/detector"]
        for name in ("distance", "detector_distance"):
            if name in detector:
                del detector[name]
        assert "det_z" in detector["transformations"]
    return master


def energy_only(directory) -> Path:
    """eiger_rotation with incident_energy = 12.4 keV in place of the wavelength."""
    master = eiger_rotation(directory)
    with h5py.File(master, "r+") as h5:
        beam = h5["/entry/instrument/beam"]
        del beam["incident_wavelength"]
        beam["incident_energy"] = 12.4
        beam["incident_energy"].attrs["units"] = "keV"
    return master


def unknown_unit(directory) -> Path:
    """eiger_rotation with the detector distance in "bogomm", which pint does not know."""
    master = eiger_rotation(directory)
    with h5py.File(master, "r+") as h5:
        h5["/entry/instrument/detector/distance"].attrs["units"] = "bogomm"
    return master


def outside_link(directory, *, vds: bool = True) -> Path:
    """A master file in ``directory/data`` whose data file is ``directory/outside/out_000001.h5`` (an
    absolute external link, out of a data root of ``directory/data``). That file holds 7 images, not the 20
    the scan describes: a reader that opened it would count 7."""
    directory = Path(directory)
    return _write(
        directory / "data",
        "out",
        detector=_detector("eiger", 200.0, (8.25, 5.5)),
        goniometer=_i24_gonio(),
        images=20,
        vds=vds,
        data_dir=directory / "outside",
        data_frames=7,
    )


MAKERS = {
    "eiger_rotation": eiger_rotation,
    "eiger_links_only": eiger_links_only,
    "jungfrau_rotation": jungfrau_rotation,
    "singla_rotation": singla_rotation,
    "kappa_phi_scan": kappa_phi_scan,
    "grid_scan": grid_scan,
    "weighted_spectrum": weighted_spectrum,
    "estimated_end_only": estimated_end_only,
    "distance_only_in_chain": distance_only_in_chain,
    "energy_only": energy_only,
}


def copy_master(master: Path, directory: Path) -> Path:
    """The master file and its neighbours (data, meta) copied to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for file in master.parent.iterdir():
        if file.is_file():
            shutil.copy2(file, directory / file.name)
    return directory / master.name


# --------------------------------------------------------------------------------------------------- truth


def truth(path) -> dict:
    """The expected fields of the master file at ``path``, read with dials' ``nxmx`` (and pint, numpy):

    wavelength          Å: incident_wavelength; the weights' weighted mean when incident_wavelength_weights is
                        given; hc/E from incident_energy when there is no wavelength.
    detector_distance   mm: NXdetector/distance; else |z| of the origin of the detector's cumulative
                        transformation (its depends_on chain).
    exposure_time       s: NXdetector/count_time.
    number_of_images    the length of the sample's scan axis (the rotation or translation of its depends_on
                        chain whose values change); when /entry/data/data is a dataset (the VDS) its first
                        dimension must agree (checked here, AssertionError otherwise). Never from a data file.
    scan_axis           the rotation axis whose values change (None when none does: a grid scan).
    oscillation_start   ° its first value (None for a grid scan).
    oscillation_range   ° its increment per image: <axis>_increment_set, else the step between its first values.
    beam_centre_x/_y    pixels.
    start_time, end_time, end_time_estimated    aware datetimes (None when absent).
    """
    import nxmx

    ureg = nxmx.ureg
    with h5py.File(path, "r") as handle:
        (entry,) = nxmx.NXmx(handle).entries
        instrument = entry.instruments[0]
        detector = instrument.detectors[0]
        beam = instrument.beams[0]

        if "incident_wavelength" in beam:
            wavelengths = np.atleast_1d(beam.incident_wavelength.to("angstrom").magnitude)
            if "incident_wavelength_weights" in beam and wavelengths.size > 1:
                weights = np.asarray(beam["incident_wavelength_weights"][()], dtype=float)
                wavelength = float(np.average(wavelengths, weights=weights))
            else:
                wavelength = float(wavelengths.flat[0])
        else:
            dataset = beam["incident_energy"]
            energy = np.asarray(dataset[()]).flat[0] * nxmx.units(dataset)
            wavelength = float((ureg.planck_constant * ureg.speed_of_light / energy).to("angstrom").magnitude)

        if detector.distance is not None:
            distance = float(detector.distance.to("mm").magnitude)
        else:
            chain = nxmx.get_dependency_chain(detector.depends_on)
            origin = nxmx.get_cumulative_transformation(chain)[0] @ np.array([0.0, 0.0, 0.0, 1.0])
            distance = abs(float(origin[2]))

        sample_chain = nxmx.get_dependency_chain(entry.samples[0].depends_on)
        moving = [t for t in sample_chain if len(t) > 1 and not np.all(t[()].magnitude == t[()].magnitude[0])]
        assert moving, "no axis of the sample's chain moves"
        images = len(moving[0])
        assert all(len(t) == images for t in moving)
        data = entry.data[0]
        if isinstance(data._handle.get("data"), h5py.Dataset):
            assert data["data"].shape[0] == images, (data["data"].shape, images)

        rotations = nxmx.get_rotation_axes(sample_chain)
        scanned = [i for i, is_scan in enumerate(rotations.is_scan_axis) if is_scan]
        assert len(scanned) <= 1
        if scanned:
            (i,) = scanned
            scan_axis = str(rotations.names[i])
            start = float(rotations.angles[i])
            axis = next(t for t in sample_chain if t.path.rsplit("/", 1)[-1] == scan_axis)
            if axis.increment_set is not None:
                increment = float(np.asarray(axis.increment_set.to("degree").magnitude).flat[0])
            else:
                values = axis[()].to("degree").magnitude
                increment = float(values[1] - values[0])
        else:
            scan_axis = start = increment = None

        return {
            "wavelength": wavelength,
            "detector_distance": distance,
            "exposure_time": float(detector.count_time.to("s").magnitude),
            "number_of_images": int(images),
            "scan_axis": scan_axis,
            "oscillation_start": start,
            "oscillation_range": increment,
            "beam_centre_x": float(detector.beam_center_x.to("pixel").magnitude),
            "beam_centre_y": float(detector.beam_center_y.to("pixel").magnitude),
            "start_time": entry.start_time,
            "end_time": entry.end_time,
            "end_time_estimated": entry.end_time_estimated,
        }
