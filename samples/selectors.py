"""Reads of proteins, containers and samples, scoped to the user."""

import copy

from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects

from lims.access import is_facility_staff, scope
from lims.models import Beamline

from .choices import ContainerStatus
from .models import Container, ContainerHistory, Protein, RobotAction, Sample


def protein_visible_to(user) -> QuerySet[Protein]:
    return scope(Protein.objects.select_related("proposal"), user, "proposal")


def _on_beamline(prefix: str, beamline_id: int) -> Q:
    """What a beamline's API token reaches: containers in its changer, or whose dewar is booked on one of
    its sessions (``prefix`` leads to the container)."""
    return Q(**{f"{prefix}beamline_id": beamline_id}) | Q(**{f"{prefix}dewar__session__beamline_id": beamline_id})


def container_visible_to(user) -> QuerySet[Container]:
    containers = Container.objects.select_related("dewar", "shipment")
    if getattr(user, "is_machine", False):
        return containers.filter(_on_beamline("", user.beamline_id))
    return scope(containers, user, "shipment__proposal")


def sample_visible_to(user) -> QuerySet[Sample]:
    samples = Sample.objects.select_related("container__dewar", "container__shipment__proposal", "protein")
    if getattr(user, "is_machine", False):
        return samples.filter(_on_beamline("container__", user.beamline_id))
    return scope(samples, user, "container__shipment__proposal")


def changer_contents(beamline: Beamline) -> list[dict]:
    """Every position of ``beamline``'s sample changer in order: its address, the types it takes and the
    container in it (None when empty) with the container's proposal and sample count. Two queries."""
    containers = {
        c.changer_position: c
        for c in Container.objects.filter(beamline=beamline)
        .select_related("shipment__proposal", "dewar")
        .annotate(sample_count=Count("samples"))
    }
    return [
        {
            "position": position,
            "address": beamline.address(position),
            "code": beamline.position_code(position),
            "accepts": beamline.accepts(position),
            "container": containers.get(position),
        }
        for position in beamline.positions
    ]


def container_history(container: Container) -> QuerySet[ContainerHistory]:
    return container.history.select_related("beamline", "session", "user", "token")


def sample_journey(sample: Sample) -> dict:
    """What happened to a sample so far, each part newest first: its dewar's transport events, its puck's
    assignments, the robot's actions on it and its status history."""
    from shipping.models import DewarEvent

    container = sample.container
    return {
        "dewar_events": DewarEvent.objects.filter(dewar_id=container.dewar_id)
        .select_related("location", "user")
        .order_by("-at", "-id"),
        "assignments": container_history(container),
        "robot_actions": sample.robot_actions.select_related("beamline", "session", "user", "token"),
        "status_history": sample.status_history.select_related("user", "token"),
    }


def robot_action_visible_to(user) -> QuerySet[RobotAction]:
    """A beamline's API token sees its beamline's actions; staff all; users those on their samples."""
    actions = RobotAction.objects.select_related("beamline", "session", "sample")
    if getattr(user, "is_machine", False):
        return actions.filter(beamline_id=user.beamline_id)
    if is_facility_staff(user):
        return actions
    return scope(actions.filter(sample__isnull=False), user, "sample__container__shipment__proposal")


def container_detail(user) -> QuerySet[Container]:
    """Containers the user may see, with their samples (and proteins) fetched for a puck page."""
    return container_visible_to(user).select_related("shipment__proposal").prefetch_related("samples__protein")


def container_audits(container: Container) -> QuerySet:
    """The puck audits of a container, newest first, with who ran them."""
    return container.audits.select_related("user")


def session_loaded(session) -> list[Container]:
    """The pucks of ``session``'s proposal that were in its beamline's changer at some time during the
    session, from their history (not today's changer), by position: each with ``code`` (its position then),
    ``loaded_at`` and ``unloaded_at`` (None: still in at the end of the session), its samples prefetched."""
    rows = (
        ContainerHistory.objects.filter(
            container__shipment__proposal_id=session.proposal_id,
            container__in=ContainerHistory.objects.filter(beamline_id=session.beamline_id).values("container_id"),
            at__lte=session.end,
        )
        .order_by("container_id", "at", "id")
        .values_list("container_id", "at", "status", "beamline_id", "changer_position")
    )
    stays, current = [], {}
    for container_id, at, status, beamline_id, position in rows:
        if container_id in current:
            stays.append((*current.pop(container_id), at))
        if status == ContainerStatus.IN_SAMPLE_CHANGER and beamline_id == session.beamline_id:
            current[container_id] = (container_id, position, at)
    stays += [(*stay, None) for stay in current.values()]
    stays = [s for s in stays if s[3] is None or s[3] >= session.start]
    pucks = Container.objects.in_bulk({s[0] for s in stays})
    samples = Prefetch("samples", queryset=Sample.objects.select_related("protein").order_by("position"))
    prefetch_related_objects(list(pucks.values()), samples)
    loaded = []
    for container_id, position, loaded_at, unloaded_at in sorted(stays, key=lambda s: (s[1], s[2])):
        puck = copy.copy(pucks[container_id])
        puck.changer_position, puck.code = position, session.beamline.position_code(position)
        puck.loaded_at, puck.unloaded_at = loaded_at, unloaded_at
        loaded.append(puck)
    return loaded
