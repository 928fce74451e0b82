"""Reads of the ISPyB-compatible API, in the shapes beamline control reads.

The sample list is what beamline control polls: one SQL query (sample, container, protein joined) read as
plain tuples, and items built from them in one pass, never model instances.
"""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone

from lims.access import facility_roles, is_facility_staff, member_proposal_ids
from lims.compiled import CompiledQuery
from lims.models import Proposal, Session
from lims.selectors import proposal_visible_to, session_visible_to

from ..models import CRYSTAL_FIELDS, Container, Sample
from ..selectors import sample_visible_to
from .compiled import MachineStandIn
from .http import iso

# "MX2345", "mx2345", "mx-2345": a proposal as beamline control names it (code + number, any case).
PROPOSAL_NAME = re.compile(r"^\s*([A-Za-z]{1,10})[-_ ]?([0-9]{1,10})\s*$")


def proposal_match(name, prefix: str = "") -> Q:
    """The proposal named ``name`` (code and number, case-insensitive), through ``prefix``; none if no name."""
    match = PROPOSAL_NAME.match(str(name))
    if match is None:
        return Q(pk__in=[])
    return Q(**{f"{prefix}code": match[1].lower(), f"{prefix}number": match[2]})


def proposal_search(text) -> Q:
    """``GET proposals?search=``: the proposal so named ("MX2345", "mx-2345") when the text is a proposal's
    name (MXCuBE takes the first answer as the proposal it asked for), else the proposals whose title holds
    the text."""
    if PROPOSAL_NAME.match(str(text)):
        return proposal_match(text)
    return Q(title__icontains=str(text).strip()[:100])


def person_item(principal) -> dict:
    """ISPyB's ``user/current``: the person signed in, or the person answerable for an API token (its name
    when nobody is)."""
    person = principal.token.user if getattr(principal, "is_machine", False) else principal
    roles = sorted(facility_roles(person)) if person is not None else []
    if person is None:
        return {
            "personId": None,
            "login": principal.username,
            "givenName": principal.token.name,
            "familyName": "",
            "emailAddress": None,
            "Permissions": [],
            "beamLineGroups": [],
            "beamLines": [principal.beamline.name],
        }
    machine = getattr(principal, "is_machine", False)
    return {
        "personId": person.pk,
        "login": person.get_username(),
        "givenName": person.first_name,
        "familyName": person.last_name,
        "emailAddress": person.email or None,
        "Permissions": roles,
        "beamLineGroups": [],
        "beamLines": [principal.beamline.name] if machine else [],
    }


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


def proposals_listed_for(principal) -> QuerySet[Proposal]:
    """The bare ``GET proposals``: MXCuBE books a session at login for every proposal listed that has none
    today on its beamline, so a person's list is their own proposals (ISPyB's "own proposals"), and facility
    staff's adds only those with a session running now, never every proposal of the facility. A token's is
    its beamline's (``proposals_for``); ``search`` and ``proposalId`` reach whatever the principal sees."""
    if getattr(principal, "is_machine", False):
        return proposals_for(principal)
    listed = Q(id__in=member_proposal_ids(principal))
    if is_facility_staff(principal):
        now = timezone.now()
        listed |= Q(id__in=Session.objects.filter(start__lte=now, end__gt=now).values("proposal_id"))
    return proposal_visible_to(principal).filter(listed)


def proposal_items(proposals: QuerySet[Proposal]) -> list[dict]:
    rows = proposals.order_by("code", "number").values_list("id", "code", "number", "title")
    return [
        {"proposalId": pk, "proposalCode": code, "proposalNumber": number, "title": title, "proposal": code + number}
        for pk, code, number, title in rows
    ]


# Sessions.

SESSION_COLUMNS = (
    "id",
    "proposal_id",
    "proposal__code",
    "proposal__number",
    "proposal__title",
    "beamline__name",
    "start",
    "end",
    "comments",
    "beamline_setup_link__setup_id",
)


def session_items(sessions: QuerySet[Session]) -> list[dict]:
    """Sessions as ISPyB answers them: dates in the facility's wall-clock time (``iso``), the proposal's
    title, and the beamline setup the session ran with."""
    return [
        {
            "sessionId": pk,
            "proposalId": proposal_id,
            "proposal": code + number,
            "title": title,
            "beamLineName": beamline,
            "startDate": iso(start),
            "endDate": iso(end),
            "comments": comments or None,
            "beamLineSetupId": setup_id,
            "BeamLineSetup": {"beamLineSetupId": setup_id} if setup_id is not None else None,
        }
        for pk, proposal_id, code, number, title, beamline, start, end, comments, setup_id in sessions.values_list(
            *SESSION_COLUMNS
        )
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
    *CRYSTAL_FIELDS,
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
    "forced_space_group",
    "observed_resolution",
    "total_rotation",
    "min_oscillation",
    "energy",
)


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
    # Beamline control polls this list: its SQL is compiled once per process (see .compiled).
    return _CHANGER_SAMPLES.rows(**values)


_CHANGER_SAMPLES = CompiledQuery(changer_sample_query)


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
        forced_space_group,
        observed_resolution,
        total_rotation,
        min_oscillation,
        energy,
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
                    "forcedSpaceGroup": forced_space_group or None,
                    "observedResolution": observed_resolution,
                    "axisRange": total_rotation,
                    "minOscWidth": min_oscillation,
                    "energy": energy,
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


# Robot reports.


def report_session_query(principal, *, session: int, sample: int | None = None, pin_code: str | None = None):
    """A robot report's session if ``principal`` sees it: (id, beamline id[, the sample by id][, the sample by
    pin code]), each sample one the principal sees or None. One query, the samples as subqueries."""
    linkable = sample_visible_to(principal).order_by().values("pk")
    columns = {}
    if sample is not None:
        columns["sample_by_id"] = Subquery(linkable.filter(pk=sample)[:1])
    if pin_code is not None:
        columns["sample_by_code"] = Subquery(linkable.filter(pin_code=pin_code, retired_at__isnull=True)[:1])
    sessions = session_visible_to(principal).filter(pk=session).order_by()
    return sessions.annotate(**columns).values_list("pk", "beamline_id", *columns)[:1]


def report_sample_query(principal, *, sample: int | None = None, pin_code: str | None = None):
    """A sample the principal sees, by id or by the pin code of a sample in circulation: (id,)."""
    samples = sample_visible_to(principal).order_by()
    if sample is not None:
        samples = samples.filter(pk=sample)
    if pin_code is not None:
        samples = samples.filter(pin_code=pin_code, retired_at__isnull=True)
    return samples.values_list("pk")[:1]


_REPORT_SESSION = CompiledQuery(lambda beamline, **values: report_session_query(MachineStandIn(beamline), **values))
_REPORT_SAMPLE = CompiledQuery(lambda beamline, **values: report_sample_query(MachineStandIn(beamline), **values))


def _rows(compiled: CompiledQuery, build, principal, **values) -> list[tuple]:
    """A beamline's API token (the hot path) through the compiled SQL; people through the ORM, since what
    they see depends on their roles."""
    if getattr(principal, "is_machine", False):
        return compiled.rows(beamline=principal.beamline_id, **values)
    return list(build(principal, **{name: value for name, value in values.items() if value is not None}))


def report_targets(
    principal, *, session: int | None, sample: int | None, pin_code: str | None
) -> tuple[tuple[int, int] | None, int | None]:
    """What a robot report refers to, among what ``principal`` sees: ((session id, its beamline id) or None,
    the sample's id or None), the sample by id, else by pin code. One query when a session is given (as
    beamline control gives it), else one per way of finding the sample."""
    if session is not None:
        rows = _rows(
            _REPORT_SESSION, report_session_query, principal, session=session, sample=sample, pin_code=pin_code
        )
        if not rows:
            return None, None
        found = [pk for pk in rows[0][2:] if pk is not None]
        return rows[0][:2], (found[0] if found else None)
    for lookup in ({"sample": sample}, {"pin_code": pin_code}):
        if next(iter(lookup.values())) is not None:
            rows = _rows(_REPORT_SAMPLE, report_sample_query, principal, **lookup)
            if rows:
                return None, rows[0][0]
    return None, None
