"""The inputs of the shipment form, block by block: the shipment, a dewar, a puck and a puck's positions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from samples.choices import CONTAINER_CAPACITY, ContainerType, ExperimentKind, MailinRequest

TEXT, NUMBER, DATE, SELECT, TEXTAREA = "text", "number", "date", "select", "textarea"
NEW_CARD, SAME_CARD = "new", "same"
DEFAULT_CAPACITY = CONTAINER_CAPACITY[ContainerType.UNIPUCK]


@dataclass(frozen=True)
class Spec:
    """One input: the service's field name, its label, the kind of input and a CSS width class."""

    field: str
    label: str
    kind: str = TEXT
    css: str = ""
    datalist: str = ""  # id of a <datalist> of suggestions (couriers)
    short: str = ""  # the grid's column heading, when the label is too long for it


HEADER = (
    Spec("name", "Shipment name"),
    Spec("expected_arrival", "Expected arrival at the facility", DATE),
    Spec("sending_contact", 'Lab contact "to facility"', SELECT),
    Spec("return_contact", 'Lab contact "home lab" (return)', SELECT),
    Spec("return_courier", "Return courier", datalist="couriers"),
    Spec("return_courier_account", "Return courier account number"),
    Spec("safety_level", "Safety level", SELECT),
    Spec("comments", "Comments", TEXTAREA, "wide"),
)
DEWAR = (
    Spec("name", "Dewar name"),
    Spec("delivery_location", "Deliver to", SELECT),
    Spec("session", "Experiment (session)", SELECT),
    Spec("local_contact", "Facility local contact", SELECT),
    Spec("customs_value", "Average customs value", NUMBER),
    Spec("transport_value", "Average transport value", NUMBER),
    Spec("courier_to_facility", "Courier to the facility", datalist="couriers"),
    Spec("tracking_to_facility", "Tracking number to the facility"),
    Spec("courier_from_facility", "Courier back", datalist="couriers"),
    Spec("tracking_from_facility", "Tracking number back"),
    Spec("comments", "Comments", TEXTAREA, "wide"),
)
PUCK = (
    Spec("name", "Puck name"),
    Spec("container_type", "Type", SELECT),
    Spec("capacity", "Positions", NUMBER, "narrow"),
    Spec("barcode", "Puck barcode"),
    Spec("comments", "Comments", TEXT, "wide"),
)
SAMPLE = (
    Spec("name", "Sample name", TEXT, "w-name"),
    Spec("protein_acronym", "Protein acronym", TEXT, "w-acr", short="Protein"),
    Spec("pin_code", "Pin barcode", TEXT, "w-pin"),
    Spec("space_group", "Space group", TEXT, "w-sg", short="Sp. group"),
    Spec("cell_a", "a (Å)", NUMBER, "w-cell"),
    Spec("cell_b", "b (Å)", NUMBER, "w-cell"),
    Spec("cell_c", "c (Å)", NUMBER, "w-cell"),
    Spec("cell_alpha", "α (°)", NUMBER, "w-cell"),
    Spec("cell_beta", "β (°)", NUMBER, "w-cell"),
    Spec("cell_gamma", "γ (°)", NUMBER, "w-cell"),
    Spec("experiment_kind", "Experiment kind", SELECT, "w-exp", short="Experiment"),
    Spec("required_resolution", "Required resolution (Å)", NUMBER, "w-cell", short="Res. (Å)"),
    Spec("comments", "Comments", TEXT, "w-comm"),
)
# The rest of the diffraction plan, behind the row's "more" toggle.
SAMPLE_MORE = (
    Spec("aimed_resolution", "Aimed resolution (Å)", NUMBER),
    Spec("aimed_completeness", "Aimed completeness (%)", NUMBER),
    Spec("aimed_multiplicity", "Aimed multiplicity", NUMBER),
    Spec("preferred_beam_size", "Preferred beam size (µm)", NUMBER),
    Spec("anomalous_scatterer", "Anomalous scatterer"),
    Spec("number_of_positions", "Number of positions", NUMBER),
    Spec("radiation_sensitivity", "Radiation sensitivity", NUMBER),
    Spec("loop_type", "Loop type"),
    Spec("holder_length", "Holder length (mm)", NUMBER),
    Spec("smiles", "Ligand SMILES"),
    Spec("forced_space_group", "Forced space group"),
    Spec("observed_resolution", "Observed resolution (Å)", NUMBER),
    Spec("minimum_resolution", "Minimum resolution (Å)", NUMBER),
    Spec("total_rotation", "Total rotation (°)", NUMBER),
    Spec("oscillation_width", "Oscillation per image (°)", NUMBER),
    Spec("min_oscillation", "Minimum oscillation (°)", NUMBER),
    Spec("exposure_time", "Exposure time (s)", NUMBER),
    Spec("transmission", "Transmission (%)", NUMBER),
    Spec("detector_distance", "Detector distance (mm)", NUMBER),
    Spec("energy", "Energy (eV)", NUMBER),
    Spec("centring_method", "Centring method", SELECT),
    Spec("collection_mode", "Collection mode", SELECT),
    Spec("screening_method", "Screen-and-collect recipe", SELECT),
    Spec("screening_collect_value", "Collect the best N", NUMBER),
    Spec("sample_group", "Sample group"),
    Spec("sublocation", "Sublocation (multi-pin)", NUMBER),
    Spec("user_path", "Data subdirectory"),
    Spec("image_prefix", "Prefix for images"),
    Spec("recipe", "Recipe"),
    Spec("contact_person", "Contact person"),
)
# A mail-in proposal's request, on a line of its own under each position (the anomalous scatterer moves
# there from "more": a SAD or MAD data set needs it).
REQUEST = (
    Spec("mailin_request", "Request", SELECT, "w-req"),
    Spec("mailin_dataset_kind", "Data set", SELECT),
    Spec("mailin_collect_better_than", "Collect if better than (Å)", NUMBER, "narrow"),
    Spec("anomalous_scatterer", "Anomalous scatterer", TEXT, "narrow"),
    Spec("mailin_priority", "Priority (1 = most urgent)", SELECT, "narrow"),
    Spec("mailin_comments", "Request comments", TEXT, "wide"),
)
_MORE_FIELDS = {s.field for s in SAMPLE_MORE}
MAILIN_ONLY = tuple(s for s in REQUEST if s.field not in _MORE_FIELDS)
SAMPLE_MORE_MAILIN = tuple(s for s in SAMPLE_MORE if s.field not in {r.field for r in REQUEST})
SAMPLE_PLAIN = SAMPLE + SAMPLE_MORE
SAMPLE_ALL = SAMPLE_PLAIN + MAILIN_ONLY
# What a new position shows before the user picks anything.
DEFAULTS = {"mailin_request": MailinRequest.SCREEN, "mailin_priority": "3"}

# Fields whose empty input means "no value" (None) rather than an empty string.
NULLABLE = {
    "expected_arrival",
    "customs_value",
    "transport_value",
    "capacity",
    "pin_code",
    *(s.field for s in SAMPLE_ALL if s.kind == NUMBER),
}
# Values a blank grid row or puck still carries because a select always has one.
# (None: the field never makes a row or puck count as filled in; capacity follows the type.)
IDLE = {
    "experiment_kind": {"", ExperimentKind.DEFAULT},
    "container_type": None,
    "capacity": None,
    "mailin_request": {"", MailinRequest.SCREEN},
    "mailin_priority": {"", DEFAULTS["mailin_priority"]},
}

FOREIGN_KEYS = {"delivery_location", "session", "local_contact"}

DEWAR_KEY = re.compile(r"^d-(\d+)-name$")
PUCK_KEY = re.compile(r"^d-(\d+)-c-(\d+)-name$")
ROW_KEY = re.compile(r"^d-(\d+)-c-(\d+)-s-(\d+)-")
# The block an input name belongs to: "" (the shipment), "d-0-", "d-0-c-1-" or "d-0-c-1-s-3-".
ROW_PREFIX = re.compile(r"^(?:d-\d+-(?:c-\d+-(?:s-\d+-)?)?)?")
