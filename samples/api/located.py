"""The native sample lists of beamline control (a changer's, a session's), built from one row per sample.

``SampleLocatedSerializer`` says the shape (the schema, and the lists of people's pages); these lists are built
here from a values query instead, since beamline control polls a full changer (464 samples on an ISARA) all
day and DRF's field-by-field rendering cost 75 ms of CPU a request where this costs a few. Every field of the
serializer is a plain value (text, number, choice, JSON) that DRF hands out as it is, so a row's values are
the answer; ``tests/samples/beamline/test_beamline_api.py`` checks the two agree field for field.
"""

from __future__ import annotations

from types import SimpleNamespace

import orjson
from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import Http404

from lims.compiled import CompiledQuery
from lims.models import Beamline
from lims.selectors import beamline_visible_to
from samples.ispyb.compiled import MachineStandIn
from samples.models import CRYSTAL_FIELDS, DIFFRACTION_PLAN_FIELDS

from .filters import samples_of_beamline, samples_of_session

# The row of one sample: its own fields first (as named in the answer), then what the nested parts need.
OWN = ("id", "name", "pin_code", "position", "status", "last_centring_position", *CRYSTAL_FIELDS)
PLAN = (*DIFFRACTION_PLAN_FIELDS, "comments")
ROW = (
    *OWN[:5],
    "centring_text",  # last_centring_position as the database's JSON text: read by orjson, not row by row by Django
    *OWN[6:],
    *PLAN,
    "container__shipment__proposal__code",
    "container__shipment__proposal__number",
    "protein_id",
    "protein__acronym",
    "container_id",
    "container__name",
    "container__barcode",
    "container__container_type",
    "container__beamline_id",
    "container__changer_position",
    "container__beamline__name",
    "container__beamline__positions_per_cell",
)
_OWN, _PLAN = len(OWN), len(OWN) + len(PLAN)


def _values(queryset):
    return queryset.annotate(centring_text=Cast("last_centring_position", TextField())).values_list(*ROW)


def changer_beamline(view, pk) -> Beamline:
    """The beamline of a changer's list as the view's ``get_object`` finds it (404 when not the principal's): for
    a beamline's token through SQL compiled once per process, since beamline control asks all day."""
    user = view.request.user
    if not getattr(user, "is_machine", False):
        return view.get_object()
    number = int(pk) if str(pk).isdigit() else 0
    found = _MACHINE_BEAMLINE.objects(token=user.beamline_id, pk=number) if 0 < number < 2**63 else []
    if not found:
        raise Http404("No Beamline matches the given query.")
    view.check_object_permissions(view.request, found[0])
    return found[0]


def beamline_rows(user, beamline: Beamline):
    """The rows of the samples in ``beamline``'s changer that ``user`` sees: a beamline's token through SQL
    compiled once per process (its scope is its beamline), people through the ORM (theirs, their roles)."""
    if getattr(user, "is_machine", False):
        return _OF_BEAMLINE.rows(token=user.beamline_id, beamline=beamline.pk)
    return _values(samples_of_beamline(user, beamline))


def session_rows(user, session):
    """The rows of ``session``'s samples that ``user`` sees, as ``beamline_rows``."""
    if getattr(user, "is_machine", False):
        return _OF_SESSION.rows(
            token=user.beamline_id, session=session.pk, proposal=session.proposal_id, beamline=session.beamline_id
        )
    return _values(samples_of_session(user, session))


_MACHINE_BEAMLINE = CompiledQuery(lambda token, pk: beamline_visible_to(MachineStandIn(token)).filter(pk=pk))
_OF_BEAMLINE = CompiledQuery(
    lambda token, beamline: _values(samples_of_beamline(MachineStandIn(token), SimpleNamespace(pk=beamline)))
)
_OF_SESSION = CompiledQuery(
    lambda token, session, proposal, beamline: _values(
        samples_of_session(
            MachineStandIn(token), SimpleNamespace(pk=session, proposal_id=proposal, beamline_id=beamline)
        )
    )
)


# The answer's keys in order: the sample's own, what its puck shares with the puck's other pins, the pin's
# address, the plan. One dict a row, made at once from a tuple of its values.
KEYS = (
    *OWN,
    "proposal",
    "container",
    "beamline",
    "changer_position",
    "beamline_name",
    "changer_address",
    "position_code",
    "protein",
    "address",
    *PLAN,
)


def located_items(rows: list[tuple]) -> list[dict]:
    """The answer's items for rows of ``ROW`` (a ``values_list`` of the list's queryset). What a puck's sixteen
    pins share (its proposal, the puck, its place) and a protein's name are made once and shared."""
    pucks: dict[int, tuple] = {}
    proteins: dict[int, dict] = {}
    beamlines: dict[int, Beamline] = {}
    items = []
    for row in rows:
        code, number, protein_id, acronym, container_id, name, barcode, kind, beamline_id, position = row[_PLAN:-2]
        puck = pucks.get(container_id)
        if puck is None:
            place = _place(row, beamlines, beamline_id, position)
            puck = pucks[container_id] = (
                f"{code}{number}",  # Proposal.name
                {"id": container_id, "name": name, "barcode": barcode, "container_type": kind},
                beamline_id,
                position,
                place["beamline_name"],
                place["changer_address"],
                place["position_code"],
            )
        protein = proteins.get(protein_id)
        if protein is None:
            protein = proteins[protein_id] = {"id": protein_id, "acronym": acronym}
        address = None if puck[5] is None else f"{puck[5]}:{row[3]:02d}"  # row[3]: the pin's position
        centring = None if row[5] is None else orjson.loads(row[5])
        values = (*row[:5], centring, *row[6:_OWN], *puck, protein, address, *row[_OWN:_PLAN])
        items.append(dict(zip(KEYS, values, strict=True)))
    return items


def _place(row: tuple, beamlines: dict, beamline_id: int | None, position: int | None) -> dict:
    """Where a puck is, named as the beamline names it (its name and cells come with the row)."""
    if beamline_id is None:
        return {"beamline_name": None, "changer_address": None, "position_code": None}
    beamline = beamlines.get(beamline_id)
    if beamline is None:
        beamline = beamlines[beamline_id] = Beamline(pk=beamline_id, name=row[-2], positions_per_cell=row[-1])
    return {
        "beamline_name": beamline.name,
        "changer_address": beamline.address(position),
        "position_code": beamline.position_code(position),
    }
