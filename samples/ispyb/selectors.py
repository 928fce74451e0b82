"""Reads of the ISPyB-compatible API, in the shapes beamline control reads.

The sample list is what beamline control polls: one SQL query (sample, container, protein joined) read as
plain tuples, and items built from them in one pass, never model instances.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import Q, QuerySet

from lims.access import member_proposal_ids
from lims.models import Proposal, Session
from lims.selectors import proposal_visible_to

from ..models import Container, Sample
from .http import iso

# "MX2345", "mx2345", "mx-2345": a proposal as beamline control names it (code + number, any case).
PROPOSAL_NAME = re.compile(r"^\s*([A-Za-z]{1,10})[-_ ]?([0-9]{1,10})\s*$")


def proposal_match(name, prefix: str = "") -> Q:
    """The proposal named ``name`` (code and number, case-insensitive), through ``prefix``; none if no name."""
    match = PROPOSAL_NAME.match(str(name))
    if match is None:
        return Q(pk__in=[])
    return Q(**{f"{prefix}code": match[1].lower(), f"{prefix}number": match[2]})


# Proposals.


def proposals_for(principal) -> QuerySet[Proposal]:
    """People: their proposals (staff: all). A beamline's API token: proposals with a session on its beamline
    or a puck in its sample changer."""
    if getattr(principal, "is_machine", False):
        beamline_id = principal.beamline_id
        return Proposal.objects.filter(
            Q(id__in=Session.objects.filter(beamline_id=beamline_id).values("proposal_id"))
            | Q(id__in=Container.objects.filter(beamline_id=beamline_id).values("shipment__proposal_id"))
        )
    return proposal_visible_to(principal)


def proposal_items(proposals: QuerySet[Proposal]) -> list[dict]:
    rows = proposals.order_by("code", "number").values_list("id", "code", "number", "title")
    return [
        {"proposalId": pk, "proposalCode": code, "proposalNumber": number, "title": title, "proposal": code + number}
        for pk, code, number, title in rows
    ]


# Sessions.

SESSION_COLUMNS = ("id", "proposal_id", "proposal__code", "proposal__number", "beamline__name", "start", "end")


def session_items(sessions: QuerySet[Session]) -> list[dict]:
    return [
        {
            "sessionId": pk,
            "proposalId": proposal_id,
            "proposal": code + number,
            "beamLineName": beamline,
            "startDate": iso(start),
            "endDate": iso(end),
        }
        for pk, proposal_id, code, number, beamline, start, end in sessions.values_list(*SESSION_COLUMNS)
    ]


# Samples.

SAMPLE_COLUMNS = (
    "id",
    "name",
    "pin_code",
    "position",
    "status",
    "container_id",
    "container__name",
    "container__barcode",
    "container__changer_position",
    "space_group",
    "cell_a",
    "cell_b",
    "cell_c",
    "cell_alpha",
    "cell_beta",
    "cell_gamma",
    "protein_id",
    "protein__acronym",
    "experiment_kind",
    "required_resolution",
    "aimed_resolution",
    "aimed_completeness",
    "aimed_multiplicity",
    "preferred_beam_size",
    "anomalous_scatterer",
    "number_of_positions",
    "radiation_sensitivity",
)
# Stand-ins for the values of changer_sample_query, to find where each lands among the compiled SQL's params.
SENTINELS = {
    "beamline": -(10**15) - 1,
    "proposal": -(10**15) - 2,
    "code": "\x01code",
    "number": "\x01number",
    "member": -(10**15) - 3,
}
_compiled: dict[tuple, tuple[str, tuple[str, ...]]] = {}


def changer_sample_query(
    *, beamline: int, proposal: int | None = None, code: str | None = None, number: str | None = None, member=None
) -> QuerySet:
    """The samples whose puck is in ``beamline``'s sample changer, by changer position then pin position, as
    tuples of ``SAMPLE_COLUMNS``: of one proposal (by id, or by code and number) if given, of the proposals of
    the user ``member`` (an id) if given. One query: sample, container and protein joined."""
    samples = Sample.objects.filter(container__beamline_id=beamline, retired_at__isnull=True)
    if proposal is not None:
        samples = samples.filter(container__shipment__proposal_id=proposal)
    if code is not None:
        samples = samples.filter(container__shipment__proposal__code=code, container__shipment__proposal__number=number)
    if member is not None:
        samples = samples.filter(container__shipment__proposal_id__in=member_proposal_ids(member))
    return samples.order_by("container__changer_position", "position").values_list(*SAMPLE_COLUMNS)


def changer_samples(**filters) -> list[dict]:
    """The items of ``changer_sample_rows``: what ``GET samples`` answers."""
    return sample_items(changer_sample_rows(**filters))


def changer_sample_rows(
    *, beamline_id: int, proposal_id: int | None = None, proposal_name: str | None = None, member=None
) -> list[tuple]:
    """The rows of ``changer_sample_query``; ``proposal_name`` as beamline control sends it ("MX2345")."""
    values = {"beamline": beamline_id}
    if proposal_id is not None:
        values["proposal"] = proposal_id
    if proposal_name is not None:
        match = PROPOSAL_NAME.match(str(proposal_name))
        if match is None:
            return []
        values["code"], values["number"] = match[1].lower(), match[2]
    if member is not None:
        values["member"] = member.pk
    # Beamline control polls this list: the SQL of each shape of query is compiled once per process (the
    # ORM's build and compile cost more than PostgreSQL's execution), then run with this request's values.
    key = (connection.vendor, *values)
    if key not in _compiled:
        sql, params = changer_sample_query(**{name: SENTINELS[name] for name in values}).query.sql_with_params()
        names = {value: name for name, value in SENTINELS.items()}
        _compiled[key] = sql, tuple(names[param] for param in params)
    sql, names = _compiled[key]
    with connection.cursor() as cursor:
        cursor.execute(sql, [values[name] for name in names])
        return cursor.fetchall()


def sample_item(sample_id: int) -> dict:
    """One sample in the list's shape (its puck may be in no changer: null positions)."""
    return sample_items(Sample.objects.filter(pk=sample_id).values_list(*SAMPLE_COLUMNS))[0]


def sample_items(rows) -> list[dict]:
    """Items as beamline control reads them: every key present (null where unknown); ``location`` and
    ``sampleChangerLocation`` are digit strings (an integer silently breaks the client's matching);
    the flat aliases are for older clients."""
    items = []
    append = items.append
    for (
        pk,
        name,
        pin_code,
        position,
        status,
        container_id,
        container_name,
        container_barcode,
        changer_position,
        space_group,
        cell_a,
        cell_b,
        cell_c,
        cell_alpha,
        cell_beta,
        cell_gamma,
        protein_id,
        acronym,
        experiment_kind,
        required_resolution,
        aimed_resolution,
        aimed_completeness,
        aimed_multiplicity,
        preferred_beam_size,
        anomalous_scatterer,
        number_of_positions,
        radiation_sensitivity,
    ) in rows:
        location = str(position)
        changer_location = None if changer_position is None else str(changer_position)
        space_group = space_group or None
        append(
            {
                "blSampleId": pk,
                "name": name,
                "code": pin_code,
                "location": location,
                "blSampleStatus": status.upper(),
                "Container": {
                    "containerId": container_id,
                    "code": container_name,
                    "barcode": container_barcode,
                    "sampleChangerLocation": changer_location,
                },
                "Crystal": {
                    "crystalId": pk,
                    "space_group": space_group,
                    "cell_a": cell_a,
                    "cell_b": cell_b,
                    "cell_c": cell_c,
                    "cell_alpha": cell_alpha,
                    "cell_beta": cell_beta,
                    "cell_gamma": cell_gamma,
                    "Protein": {"proteinId": protein_id, "acronym": acronym},
                },
                "DiffractionPlan": {
                    "diffractionPlanId": pk,
                    "experimentKind": experiment_kind or None,
                    "requiredResolution": required_resolution,
                    "aimedResolution": aimed_resolution,
                    "aimedCompleteness": aimed_completeness,
                    "aimedMultiplicity": aimed_multiplicity,
                    "preferredBeamSize": preferred_beam_size,
                    "anomalousScatterer": anomalous_scatterer or None,
                    "numberOfPositions": number_of_positions,
                    "radiationSensitivity": radiation_sensitivity,
                },
                "sampleId": pk,
                "sampleName": name,
                "sampleLocation": location,
                "containerCode": container_name,
                "containerSampleChangerLocation": changer_location,
                "proteinAcronym": acronym,
                "crystalSpaceGroup": space_group,
                "cellA": cell_a,
                "cellB": cell_b,
                "cellC": cell_c,
                "cellAlpha": cell_alpha,
                "cellBeta": cell_beta,
                "cellGamma": cell_gamma,
            }
        )
    return items
