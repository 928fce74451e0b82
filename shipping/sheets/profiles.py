"""The sheet formats users already have, and how a file is recognised as one of them.

- this LIMS's own sheet (``NATIVE``): a header row naming the columns, in any order, with many spellings;
- ISPyB's shipping CSV as EXI and py-ispyb-ui write and read it (``ISPYB``): 28 fields in a fixed order, with no
  header (EXI's example files open with ``#`` lines) or with py-ispyb-ui's titled header ("Parcel Name", ...);
  shorter rows are allowed (MAX IV's EXI template stops after the cell);
- SynchWeb's CSV profiles (``client/src/js/csv/diamond.js`` and ``imca.js``): 33 and 23 fields in a fixed
  order, with or without their header row. SynchWeb reads them by position and skips lines whose first cell
  starts with ``#``, ``;`` or ``!``; so do we.

A header is looked for in the first rows (a title row or blank rows may sit above it); the format whose header
names match most cells wins. A file without a header is recognised by the shape of its rows (ISPyB's container
type in field 3 and position in field 4, SynchWeb Diamond's proposal code and numbers in fields 1 to 3, IMCA's
pin number in field 2). Header names are compared as ``_norm`` makes them: case, spaces, punctuation and units in
brackets do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .base import _BY_KEY, _HEADER_KEYS, COLUMNS, SheetProblem, _container_type, _norm, _text

# Keys a format's columns fill besides the sample's own fields (see parsing.py for what each does).
CHECKED_KEYS = ("proposal_code", "proposal_number", "visit_number", "shipping_name")
# A column the facility fills in (IMCA's staff comments, status and observed resolution): it must be empty.
FACILITY = "facility"
CELL = "cell"  # the six cell values in one column ("a, b, c, α, β, γ", or fewer: see crystals.complete_cell)
COMMENT_MARKS = ("#", ";", "!")
HEADER_SEARCH_ROWS = 10  # a header further down than this is not looked for
MIN_HEADER_MATCHES = 3


def _is_number(value) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    return bool(re.fullmatch(r"[-+]?\d+(?:[.,]\d+)?", _text(value)))


def _integer(value) -> bool:
    return bool(re.fullmatch(r"0*\d{1,3}", _text(value)))


@dataclass(frozen=True)
class Profile:
    """A sheet format: its columns in their fixed order (``keys``), the headers it writes for each
    (``titles``), the keys several of its columns fill (joined with " | ", as SynchWeb does), the keys a file
    must have, and the shape of one of its rows when there is no header."""

    slug: str
    name: str
    keys: tuple[str, ...]
    titles: tuple[tuple[str, ...], ...]
    required: tuple[str, ...]
    joined: frozenset[str] = frozenset()
    shape: Callable[[list], bool] | None = None
    names_samples: bool = False  # the format has no sample names: they are made from puck and pin

    def header_keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for key, titles in zip(self.keys, self.titles, strict=True):
            for title in titles:
                keys.setdefault(_norm(title), key)
        return keys

    def is_sample(self, cells: list) -> bool:
        """Whether a row that starts like a comment is a sample row all the same (a dewar named "#1 box"): it
        has every required column filled and a whole-number position."""
        values = {key: cells[i] for i, key in self.keys.items() if i < len(cells)}
        return all(_text(values.get(key)) for key in self.profile.required) and _integer(values.get("position"))

    def title(self, key: str) -> str:
        """The header this format gives the column of ``key`` (its first spelling)."""
        for k, titles in zip(self.keys, self.titles, strict=True):
            if k == key:
                return titles[0]
        return key


NATIVE = Profile(
    "native",
    "this LIMS's sample sheet",
    tuple(c.key for c in COLUMNS),
    tuple((c.header, *c.aliases) for c in COLUMNS),
    tuple(c.key for c in COLUMNS if c.required),
)


def _ispyb_shape(cells: list) -> bool:
    """EXI's and py-ispyb-ui's row: dewar, puck, a container type word, a position, protein, sample, ..."""
    return (
        len(cells) >= 6
        and all(_text(c) for c in cells[:2])
        and _container_type(_text(cells[2])) is not None
        and _integer(cells[3])
        and all(_text(c) for c in cells[4:6])
    )


# py-ispyb-ui src/legacy/helpers/mx/shipping/shippingcsv.ts (FIELDS, as EXI's "#" line names them) and the
# titles of its import table (src/legacy/pages/shipping/csv/importshipping.tsx).
_ISPYB = (
    ("dewar", "parcel name", "Parcel Name"),
    ("container", "container name", "Container Name"),
    ("container_type", "container type", "Container Type"),
    ("position", "container position", "Container Position"),
    ("protein_acronym", "protein acronym", "Protein Acronym"),
    ("name", "sample acronym", "Sample Acronym"),
    ("pin_code", "pin barcode", "Pin Barcode"),
    ("space_group", "SPG", "Spacegroup"),
    ("cell_a", "cellA", "A"),
    ("cell_b", "cellB", "B"),
    ("cell_c", "cellC", "C"),
    ("cell_alpha", "cellAlpha", "Alpha"),
    ("cell_beta", "cellBeta", "Beta"),
    ("cell_gamma", "cellGamma", "Gamma"),
    ("experiment_kind", "experimentType", "Experiment Type"),
    ("aimed_resolution", "aimed Resolution", "Aimed Resolution"),
    ("required_resolution", "required Resolution", "Required Resolution"),
    ("preferred_beam_size", "beam diameter", "Beam Diameter"),
    ("number_of_positions", "number of positions", "Number of positions"),
    ("aimed_multiplicity", "aimed multiplicity", "Aimed multiplicity"),
    ("aimed_completeness", "aimed completeness", "Aimed completeness"),
    ("forced_space_group", "forced SPG", "Forced Spacegroup"),
    ("radiation_sensitivity", "radiation sensitivity", "Radiation sensitivity"),
    ("smiles", "smiles", "Smiles"),
    ("total_rotation", "total rot. angle", "Total rot. angle"),
    ("min_oscillation", "min osc. angle", "Min osc. angle"),
    ("observed_resolution", "observed resolution", "Observed resolution"),
    ("comments", "comments", "Comments"),
)
ISPYB = Profile(
    "ispyb",
    "ISPyB shipping CSV (EXI, py-ispyb-ui)",
    tuple(k for k, *_ in _ISPYB),
    tuple(tuple(t) for _, *t in _ISPYB),
    ("dewar", "container", "position", "protein_acronym", "name"),
    shape=_ispyb_shape,
)


def _diamond_shape(cells: list) -> bool:
    """SynchWeb Diamond's row: proposal code, proposal number, visit number, ... location in field 15."""
    return (
        15 <= len(cells) <= 33
        and bool(re.fullmatch(r"[A-Za-z]{1,10}", _text(cells[0])))
        and bool(re.fullmatch(r"\d{1,10}", _text(cells[1])))
        and bool(re.fullmatch(r"\d{1,5}", _text(cells[2])))
        and _integer(cells[14])
    )


# SynchWeb client/src/js/csv/diamond.js: headers, with the ISPyB column each one fills.
_DIAMOND = (
    ("proposal_code", "Proposal Code"),  # PROPOSALCODE
    ("proposal_number", "Proposal Number"),  # PROPOSALNUMBER
    ("visit_number", "Visit Number"),  # VISITNUMBER
    ("shipping_name", "Shipping Name"),  # SHIPPINGNAME
    ("dewar", "Dewar Code"),  # FACILITYCODE
    ("container", "Puck"),  # CONTAINER
    ("observed_resolution", "preObsResolution"),  # OBSERVEDRESOLUTION
    ("minimum_resolution", "minimalResolution"),  # MINIMUMRESOLUTION
    ("oscillation_width", "Oscillation Range"),  # AXISRANGE (per image: SynchWeb divides the rotation by it)
    ("protein_acronym", "Protein Acronym"),  # ACRONYM
    ("protein_name", "Protein Name"),  # PROTEINNAME
    ("space_group", "Space Group"),  # SPACEGROUP
    ("pin_code", "Barcode"),  # CODE
    ("name", "Sample Name"),  # NAME
    ("position", "Location"),  # LOCATION
    ("comments", "Comments"),  # COMMENTS
    ("cell_a", "Cell A"),
    ("cell_b", "Cell B"),
    ("cell_c", "Cell C"),
    ("cell_alpha", "Cell Alpha"),
    ("cell_beta", "Cell Beta"),
    ("cell_gamma", "Cell Gamma"),
    ("sublocation", "Sublocation"),  # SUBLOCATION
    ("loop_type", "Loop Type"),  # LOOPTYPE
    ("required_resolution", "Required Resolution"),  # REQUIREDRESOLUTION
    ("centring_method", "Centring Method"),  # CENTRINGMETHOD
    ("experiment_kind", "Experiment Kind"),  # EXPERIMENTKIND
    ("radiation_sensitivity", "Radiation Sensitivity"),  # RADIATIONSENSITIVITY
    ("energy", "Energy"),  # ENERGY (eV)
    ("user_path", "User Path"),  # USERPATH
    ("screening_method", "Screen and Collect Recipe"),  # SCREENINGMETHOD: none, all, best
    ("screening_collect_value", "S&C N value"),  # SCREENINGCOLLECTVALUE
    ("sample_group", "Sample Group"),  # SAMPLEGROUPNAME
)
SYNCHWEB_DIAMOND = Profile(
    "synchweb-diamond",
    "SynchWeb CSV, Diamond profile",
    tuple(k for k, _ in _DIAMOND),
    tuple((t,) for _, t in _DIAMOND),
    ("container", "position", "protein_acronym", "name"),
    shape=_diamond_shape,
)


def _imca_shape(cells: list) -> bool:
    """SynchWeb IMCA's row: puck, pin number, project (protein acronym), priority, mode, ..."""
    return (
        3 <= len(cells) <= 23
        and bool(_text(cells[0]))
        and _integer(cells[1])
        and bool(_text(cells[2]))
        and (len(cells) < 4 or not _text(cells[3]) or _integer(cells[3]))
        and (len(cells) < 5 or _text(cells[4]).casefold() in ("", "manual", "auto", "automatic"))
    )


# SynchWeb client/src/js/csv/imca.js. Two columns fill the comments (SynchWeb joins them with " | "); the
# last three are the facility's (written on export, never by users).
_IMCA = (
    ("container", "Puck"),  # CONTAINER
    ("position", "Pin"),  # LOCATION
    ("protein_acronym", "Project"),  # ACRONYM
    ("mailin_priority", "Priority"),  # PRIORITY
    ("collection_mode", "Mode"),  # COLLECTIONMODE
    ("comments", "Notes to Staff"),  # COMMENTS
    ("comments", "Collection strategy"),  # COMMENTS
    ("contact_person", "Contact person"),  # OWNER
    ("space_group", "Expected space group"),  # SPACEGROUP
    (CELL, "Expected Cell Dimensions"),  # CELL
    ("aimed_resolution", "Expected Resolution"),  # AIMEDRESOLUTION
    ("required_resolution", "Minimum Resolution Required to Collect"),  # REQUIREDRESOLUTION
    ("recipe", "Recipe"),  # RECIPE
    ("exposure_time", "Exposure time"),  # EXPOSURETIME
    ("oscillation_width", "Image Width"),  # AXISRANGE
    ("total_rotation", "Phi"),  # AXISROTATION
    ("transmission", "Attenuation"),  # TRANSMISSION
    ("preferred_beam_size", "Aperture"),  # PREFERREDBEAMSIZEX
    ("detector_distance", "Detector Distance"),  # DETECTORDISTANCE
    ("image_prefix", "Prefix for frames"),  # PREFIX
    (FACILITY, "Observed Resolution"),  # DCRESOLUTION: the resolution collected
    (FACILITY, "Comments From Staff"),  # STAFFCOMMENTS
    (FACILITY, "Status"),  # STATUS
)
SYNCHWEB_IMCA = Profile(
    "synchweb-imca",
    "SynchWeb CSV, IMCA profile",
    tuple(k for k, _ in _IMCA),
    tuple((t,) for _, t in _IMCA),
    ("container", "position", "protein_acronym"),
    joined=frozenset({"comments", FACILITY}),
    shape=_imca_shape,
    names_samples=True,
)

PROFILES = (NATIVE, ISPYB, SYNCHWEB_DIAMOND, SYNCHWEB_IMCA)
_PROFILE_KEYS = {p.slug: (_HEADER_KEYS if p is NATIVE else p.header_keys()) for p in PROFILES}


@dataclass
class Layout:
    """How a file's columns are read: its format, the line of its header (None: no header), each column's
    key by index and the title shown for each key in messages."""

    profile: Profile
    header_line: int | None
    keys: dict[int, str]
    titles: dict[str, str] = field(default_factory=dict)
    column_titles: dict[int, str] = field(default_factory=dict)

    @property
    def description(self) -> str:
        how = f"with its header on line {self.header_line}" if self.header_line else "without a header row"
        return f"Read as {self.profile.name}, {how}."

    def is_sample(self, cells: list) -> bool:
        """Whether a row that starts like a comment is a sample row all the same (a dewar named "#1 box"): it
        has every required column filled and a whole-number position."""
        values = {key: cells[i] for i, key in self.keys.items() if i < len(cells)}
        return all(_text(values.get(key)) for key in self.profile.required) and _integer(values.get("position"))

    def title(self, key: str) -> str:
        """The header of the column ``key`` came from, for messages: as in the file, else as the format names
        it, else the native sheet's."""
        if key in self.titles:
            return self.titles[key]
        if key in self.profile.keys:
            return self.profile.title(key)
        if key.startswith("cell_") and CELL in self.profile.keys:
            return self.title(CELL)
        column = _BY_KEY.get(key)
        return column.header if column else key


def is_comment(cells: list) -> bool:
    """A comment line as ISPyB (``#``) and SynchWeb (``#``, ``;``, ``!``) write them: its first cell starts so.
    (A sample row whose dewar's name starts so is told apart by ``Layout.is_sample``.)"""
    return bool(cells) and isinstance(cells[0], str) and cells[0].lstrip().startswith(COMMENT_MARKS)


def _header_score(profile: Profile, cells: list) -> int:
    keys = _PROFILE_KEYS[profile.slug]
    return sum(1 for c in cells if isinstance(c, str) and c.strip() and _norm(c) in keys)


def find_header(rows: list[tuple[int, list]]) -> tuple[int, Profile] | None:
    """The index (in ``rows``) of the header row and its format; None when the first rows hold no header."""
    best: tuple[int, int, Profile] | None = None
    for index, (_line, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(_is_number(c) for c in cells):
            continue  # a header names columns; a row with a number in it (a position) is a sample
        for profile in PROFILES:
            score = _header_score(profile, cells)
            # The native sheet accepts every spelling: another format wins only with more names of its own.
            if score >= MIN_HEADER_MATCHES and (best is None or score > best[1]):
                best = (index, score, profile)
        if best is not None:
            return best[0], best[2]
    return None


def header_layout(profile: Profile, line: int, cells: list, problems: list[SheetProblem]) -> Layout:
    """Each header cell's key: by the format's own names first, then by any name the native sheet knows."""
    own = _PROFILE_KEYS[profile.slug]
    layout = Layout(profile, line, {})
    seen: dict[str, str] = {}
    for index, cell in enumerate(cells):
        title = _text(cell)
        if not title:
            continue
        key = own.get(_norm(title)) or _HEADER_KEYS.get(_norm(title))
        if key is None:
            known = ", ".join(t[0] for t in profile.titles)
            problems.append(
                SheetProblem(line, title, f'Unknown column "{title}". Remove it or use a known header: {known}.')
            )
        elif key in seen and key not in profile.joined:
            problems.append(
                SheetProblem(
                    line, title, f'Columns "{seen[key]}" and "{title}" are both {layout.title(key)}; keep one.'
                )
            )
        else:
            layout.keys[index] = key
            layout.column_titles[index] = title
            seen.setdefault(key, title)
            layout.titles.setdefault(key, title)
    for key in profile.required:
        if key not in seen:
            title = profile.title(key)
            problems.append(SheetProblem(line, title, f'The required column "{title}" is missing.'))
    return layout


def shape_layout(rows: list[tuple[int, list]]) -> Layout | None:
    """The format of a file without a header, from the shape of its first rows; None if none fits most."""
    sample = [_trimmed(cells) for _line, cells in rows[:20]]
    scores = {p.slug: sum(1 for cells in sample if p.shape(cells)) for p in PROFILES if p.shape is not None}
    best = max(scores, key=scores.get)
    # Two rows in three of one shape: the others are that format's rows with mistakes, reported by line.
    if 3 * scores[best] < 2 * len(sample):
        return None
    profile = next(p for p in PROFILES if p.slug == best)
    titles = {index: names[0] for index, names in enumerate(profile.titles)}
    return Layout(profile, None, dict(enumerate(profile.keys)), column_titles=titles)


def any_shape(cells: list) -> bool:
    """Whether a row has the shape of a headerless format's sample row."""
    return any(p.shape(_trimmed(cells)) for p in PROFILES if p.shape is not None)


def _trimmed(cells: list) -> list:
    """The cells without the empty ones at the end (spreadsheets pad rows with empty cells)."""
    end = len(cells)
    while end and not _text(cells[end - 1]):
        end -= 1
    return cells[:end]
