"""Reads of proteins, containers and samples, scoped to the user."""

from django.db.models import QuerySet

from lims.access import scope

from .models import Container, Protein, Sample


def protein_visible_to(user) -> QuerySet[Protein]:
    return scope(Protein.objects.select_related("proposal"), user, "proposal")


def container_visible_to(user) -> QuerySet[Container]:
    return scope(Container.objects.select_related("dewar", "shipment"), user, "shipment__proposal")


def sample_visible_to(user) -> QuerySet[Sample]:
    return scope(
        Sample.objects.select_related("container__dewar", "container__shipment__proposal", "protein"),
        user,
        "container__shipment__proposal",
    )


def container_detail(user) -> QuerySet[Container]:
    """Containers the user may see, with their samples (and proteins) fetched for a puck page."""
    return container_visible_to(user).select_related("shipment__proposal").prefetch_related("samples__protein")


def container_audits(container: Container) -> QuerySet:
    """The puck audits of a container, newest first, with who ran them."""
    return container.audits.select_related("user")
