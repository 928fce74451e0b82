"""What a sheet is made of: its columns, and the problems and results of an import."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from django.db import models

from lims.errors import InvalidInput
from samples.choices import ContainerType, DatasetKind, ExperimentKind, MailinRequest
from samples.models import Sample


@dataclass
class SheetProblem:
    line: int | None  # 1-based line/row number in the file (the header is line 1); None for the whole file
    column: str | None  # the column's header as in the template, e.g. "Sample name"
    message: str


class SheetError(InvalidInput):
    """A sheet that cannot be imported; every problem found, by line and column. Nothing was saved."""

    detail = "The sample sheet cannot be imported."
    code = "invalid_sheet"

    def __init__(self, problems: list[SheetProblem], read_as: str = ""):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems
        self.read_as = read_as  # the format the file was read as, once known ("Read as ISPyB shipping CSV, ...")

    def problems_json(self) -> list[dict]:
        return [{"line": p.line, "column": p.column, "message": p.message} for p in self.problems]


@dataclass
class ImportResult:
    """What an import wrote: the dewars and containers the sheet's rows are in (new or already in the
    shipment), the samples it created or replaced, and a summary for the user."""

    dewars: int = 0
    containers: int = 0
    samples: int = 0
    messages: list[str] = field(default_factory=list)
    format: str = ""  # the format the file was read as, e.g. "ISPyB shipping CSV (EXI, py-ispyb-ui)"


# --- the columns --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the sheet: its header in the template, the key it fills, the other headers accepted."""

    header: str
    key: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    width: int = 12


COLUMNS: tuple[Column, ...] = (
    Column("Dewar", "dewar", ("dewar name",), required=True),
    Column("Container", "container", ("container name", "puck", "puck name"), required=True),
    Column("Container type", "container_type", ("puck type", "type of container"), width=15),
    Column("Position", "position", ("sample position", "pin position", "sample location", "pos"), required=True),
    Column("Protein acronym", "protein_acronym", ("protein", "acronym"), required=True, width=16),
    Column("Sample name", "name", ("sample", "name", "crystal name"), required=True, width=16),
    Column("Pin barcode", "pin_code", ("pin code", "barcode", "pin", "sample barcode", "pin barcodes"), width=14),
    Column("Space group", "space_group", ("spacegroup", "sg", "spg", "crystal space group"), width=12),
    Column("a", "cell_a", ("cell a", "unit cell a", "cella"), width=8),
    Column("b", "cell_b", ("cell b", "unit cell b", "cellb"), width=8),
    Column("c", "cell_c", ("cell c", "unit cell c", "cellc"), width=8),
    Column("alpha", "cell_alpha", ("α", "cell alpha", "cell α", "unit cell alpha", "cellalpha"), width=8),
    Column("beta", "cell_beta", ("β", "cell beta", "cell β", "unit cell beta", "cellbeta"), width=8),
    Column("gamma", "cell_gamma", ("γ", "cell gamma", "cell γ", "unit cell gamma", "cellgamma"), width=8),
    Column("Experiment kind", "experiment_kind", ("experiment type", "experiment", "kind of experiment"), width=18),
    Column("Required resolution", "required_resolution", ("resolution", "req resolution"), width=19),
    Column("Comments", "comments", ("comment", "remarks", "notes"), width=30),
    Column("Anomalous scatterer", "anomalous_scatterer", ("scatterer", "heavy atom", "anomalous atom"), width=10),
    # A mail-in proposal's request (other proposals leave these empty; shipping.services refuses values).
    Column(
        "Request",
        "mailin_request",
        ("mxpress request", "mail-in request", "mailin request", "service request", "request type", "mxpress"),
        width=18,
    ),
    Column("Data set", "mailin_dataset_kind", ("dataset", "data set kind", "dataset kind", "data set type"), width=10),
    Column(
        "Collect if better than",
        "mailin_collect_better_than",
        ("collect better than", "collect if better", "collect resolution", "collect if diffracts better than"),
        width=20,
    ),
    Column("Priority", "mailin_priority", ("mxpress priority", "mail-in priority", "request priority"), width=9),
    Column(
        "Request comments",
        "mailin_comments",
        ("mxpress comments", "mail-in comments", "request comment", "mxpress comment"),
        width=30,
    ),
    # The rest of the diffraction plan, as ISPyB (EXI, py-ispyb-ui) and SynchWeb sheets name it.
    Column("Aimed resolution", "aimed_resolution", ("expected resolution",), width=16),
    Column("Aimed completeness", "aimed_completeness", ("completeness",), width=18),
    Column("Aimed multiplicity", "aimed_multiplicity", ("multiplicity", "redundancy"), width=17),
    Column("Beam size", "preferred_beam_size", ("beam diameter", "preferred beam size", "preferred beam diameter")),
    Column("Number of positions", "number_of_positions", ("positions per sample",), width=18),
    Column("Radiation sensitivity", "radiation_sensitivity", (), width=20),
    Column("SMILES", "smiles", ("ligand smiles", "ligand"), width=20),
    Column("Forced space group", "forced_space_group", ("forced spg", "forced spacegroup"), width=18),
    Column("Observed resolution", "observed_resolution", ("preobsresolution", "pre obs resolution"), width=19),
    Column("Minimum resolution", "minimum_resolution", ("minimal resolution", "minimalresolution"), width=18),
    Column("Total rotation", "total_rotation", ("total rot angle", "total rotation angle", "rotation"), width=14),
    Column("Oscillation per image", "oscillation_width", ("oscillation range", "image width", "oscillation")),
    Column("Minimum oscillation", "min_oscillation", ("min osc angle", "minimum oscillation angle"), width=19),
    Column("Exposure time", "exposure_time", ("exposure",), width=13),
    Column("Transmission", "transmission", (), width=12),
    Column("Detector distance", "detector_distance", ("distance",), width=17),
    Column("Energy", "energy", ("energy ev", "beam energy"), width=10),
    Column("Centring method", "centring_method", ("centering method", "centring"), width=15),
    Column("Collection mode", "collection_mode", ("mode",), width=15),
    Column("Screen and collect recipe", "screening_method", ("screening method", "sc recipe"), width=22),
    Column("S&C N value", "screening_collect_value", ("number to collect", "collect best n", "scn value")),
    Column("Sample group", "sample_group", ("group", "sample group name"), width=14),
    Column("Sublocation", "sublocation", ("sub location",), width=11),
    Column("User path", "user_path", ("data subdirectory", "subdirectory"), width=16),
    Column("Prefix for images", "image_prefix", ("prefix", "prefix for frames", "image prefix"), width=16),
    Column("Recipe", "recipe", (), width=14),
    Column("Contact person", "contact_person", ("contact",), width=16),
    Column("Loop type", "loop_type", ("loop",), width=10),
    Column("Holder length", "holder_length", ("pin length",), width=13),
    Column("Protein name", "protein_name", (), width=20),
)
HEADERS = tuple(c.header for c in COLUMNS)
_BY_KEY = {c.key: c for c in COLUMNS}
# Keys that describe where a row goes, or that are checked rather than stored on the sample.
PLACE_KEYS = ("dewar", "container", "container_type", "position")
SAMPLE_KEYS = tuple(c.key for c in COLUMNS if c.key not in PLACE_KEYS)


def _sample_keys_of(*kinds) -> tuple[str, ...]:
    fields = {f.name: f for f in Sample._meta.get_fields()}
    return tuple(k for k in SAMPLE_KEYS if k in fields and isinstance(fields[k], kinds))


# Read as numbers, and as whole numbers: by the kind of the Sample field the column fills.
NUMBER_KEYS = _sample_keys_of(models.FloatField)
INTEGER_KEYS = _sample_keys_of(models.PositiveSmallIntegerField, models.IntegerField)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
# Formatting can make a spreadsheet carry many empty rows; past this many we stop reading at all.
MAX_SCANNED_ROWS = 20 * MAX_ROWS
# An XLSX is a zip: what it unpacks to is checked (from the zip's directory, before anything is unpacked) so
# that a zip bomb is refused at once. A full sheet (5,000 rows × 40 columns) unpacks to about 12 MB at a
# ratio of about 4; Excel's own files have a dozen members.
MAX_XLSX_MEMBERS = 500
MAX_XLSX_UNPACKED = 50 * 1024 * 1024
MAX_XLSX_RATIO = 100  # per member, for members above 1 MB unpacked


def _text(value) -> str:
    """A cell as text: Excel turns "0012" into 12 and "10" into 10.0, so integral numbers lose the ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).replace("\u00a0", " ").strip()


def _norm(text: str) -> str:
    """A header or choice as compared: case-folded, without units in brackets, spaces or punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\(.*?\)|\[.*?\]", "", text)
    return "".join(ch for ch in text if ch.isalnum())


_HEADER_KEYS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        assert _HEADER_KEYS.setdefault(_norm(_name), _column.key) == _column.key, f"{_name} names two columns"

# "SPINE", "Spine puck", "SPINE puck (10)", "unipuck", "Uni-Puck", "UniPuck (16)", "other" ...
_CONTAINER_TYPES = {
    "spine": ContainerType.SPINE,
    "spine10": ContainerType.SPINE,
    "uni": ContainerType.UNIPUCK,
    "uni16": ContainerType.UNIPUCK,
    "other": ContainerType.OTHER,
    "others": ContainerType.OTHER,
}
_EXPERIMENT_KINDS: dict[str, str] = {}
for _value, _label in ExperimentKind.choices:
    for _name in (_value, _label):
        _EXPERIMENT_KINDS[_norm(_name)] = _value
# SynchWeb's words for them (client/src/js/utils/experimentkinds.js).
_EXPERIMENT_KINDS |= {"native": ExperimentKind.OSC, "phasing": ExperimentKind.SAD, "ligand": ExperimentKind.LIGAND}

# The request as clients write it: "screen", "screen and collect", "data set", or the data set itself
# ("SAD" asks for a SAD data set). Values are (request, data set kind or None).
_MAILIN_REQUESTS: dict[str, tuple[str, str | None]] = {}
for _names, _meaning in (
    (("screen", "screen only", "screening", "screening only"), (MailinRequest.SCREEN, None)),
    (
        ("screen and collect", "screen & collect", "screen_collect", "screen collect", "screen then collect"),
        (MailinRequest.SCREEN_COLLECT, None),
    ),
    (("data set", "dataset", "full data set", "collect", "collect a full data set"), (MailinRequest.DATASET, None)),
    (("native", "native data set", "osc"), (MailinRequest.DATASET, DatasetKind.NATIVE)),
    (("sad", "sad data set"), (MailinRequest.DATASET, DatasetKind.SAD)),
    (("mad", "mad data set"), (MailinRequest.DATASET, DatasetKind.MAD)),
):
    for _name in _names:
        _MAILIN_REQUESTS[_norm(_name)] = _meaning
for _value, _label in MailinRequest.choices:
    _MAILIN_REQUESTS.setdefault(_norm(_value), (_value, None))
    _MAILIN_REQUESTS.setdefault(_norm(_label), (_value, None))
_DATASET_KINDS = {_norm(v): v for v in DatasetKind.values} | {_norm("osc"): DatasetKind.NATIVE}
MAILIN_REQUEST_WORDS = ("screen", "screen and collect", "data set", "native", "SAD", "MAD")


def _container_type(text: str) -> str | None:
    key = re.sub(r"[^a-z0-9]", "", text.casefold()).replace("puck", "")
    return _CONTAINER_TYPES.get(key)
