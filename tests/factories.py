"""factory_boy factories for every model; personas are built from them in conftest.py."""

import datetime as dt
import itertools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from lims.models import Beamline, LabContact, Proposal, ProposalMember, Session
from samples.models import Container, Protein, Sample
from shipping.choices import LocationKind
from shipping.models import Dewar, Location, Shipment

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=name)[0])
        if create:
            self.save()


class ProposalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Proposal

    code = "mx"
    number = factory.Sequence(lambda n: str(1000 + n))
    title = factory.Faker("sentence", nb_words=5)


class ProposalMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProposalMember

    proposal = factory.SubFactory(ProposalFactory)
    user = factory.SubFactory(UserFactory)


class BeamlineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Beamline
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"BL{n:02d}")
    sample_changer_model = "ISARA"
    puck_positions = 29
    accepted_container_types = ["unipuck"]


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    proposal = factory.SubFactory(ProposalFactory)
    beamline = factory.SubFactory(BeamlineFactory)
    start = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=7))
    end = factory.LazyAttribute(lambda s: s.start + dt.timedelta(hours=24))


class LabContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LabContact

    proposal = factory.SubFactory(ProposalFactory)
    card_name = factory.Sequence(lambda n: f"Card {n}")
    name = factory.Faker("name")
    telephone = "+33 4 76 00 00 00"
    email = factory.Faker("email")
    lab_name = "Structural Biology Lab"
    address = "1 Lab Road\n38000 Grenoble\nFrance"
    default_courier = "DHL"
    courier_account = "123456789"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Shelf {n}")
    kind = LocationKind.STORES
    barcode = factory.Sequence(lambda n: f"LOC{n:04d}")


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    proposal = factory.SubFactory(ProposalFactory)
    name = factory.Sequence(lambda n: f"Shipment-{n}")
    sending_contact = factory.SubFactory(LabContactFactory, proposal=factory.SelfAttribute("..proposal"))
    return_contact = factory.SelfAttribute("sending_contact")


class DewarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dewar

    shipment = factory.SubFactory(ShipmentFactory)
    name = factory.Sequence(lambda n: f"Dewar-{n}")
    barcode = factory.Sequence(lambda n: f"TD{n:06d}")


class ProteinFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Protein

    proposal = factory.SubFactory(ProposalFactory)
    acronym = factory.Sequence(lambda n: f"PROT{n}")


class ContainerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Container

    dewar = factory.SubFactory(DewarFactory)
    shipment = factory.SelfAttribute("dewar.shipment")
    name = factory.Sequence(lambda n: f"Puck-{n}")
    container_type = "unipuck"
    capacity = 16


class SampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sample

    container = factory.SubFactory(ContainerFactory)
    position = factory.Sequence(lambda n: n % 16 + 1)
    name = factory.Sequence(lambda n: f"xtal{n}")
    protein = factory.SubFactory(ProteinFactory, proposal=factory.SelfAttribute("..container.shipment.proposal"))


def shipment_tree(*, proposal, user=None, dewars=1, pucks=1, samples=1, name="Tree", **fields):
    """A draft shipment registered through the service: ``dewars`` × ``pucks`` × ``samples``."""
    from shipping.services import shipment_create

    contact = LabContactFactory(proposal=proposal)
    data = {
        "name": name,
        "sending_contact": contact,
        "return_contact": contact,
        **fields,
        "dewars": [
            {
                "name": f"{name}-D{d + 1}",
                "containers": [
                    {
                        "name": f"{name}-D{d + 1}-P{p + 1}",
                        "container_type": "unipuck",
                        "samples": [
                            {"position": s + 1, "name": f"{name}-{d}-{p}-{s}", "protein_acronym": "LYS"}
                            for s in range(samples)
                        ],
                    }
                    for p in range(pucks)
                ],
            }
            for d in range(dewars)
        ],
    }
    user = user or UserFactory()
    return shipment_create(proposal=proposal, user=user, data=data)


def api_token(beamline, *, name="MXCuBE", created_by=None, user=None) -> str:
    """A new API token for ``beamline`` made through the service; returns its key (shown once)."""
    from lims.tokens import api_token_create

    _, key = api_token_create(name=name, beamline=beamline, created_by=created_by, user=user)
    return key


def at_facility(shipment, *, location=None):
    """Send ``shipment`` (if still a draft) and receive its dewars at ``location`` (or the stores)."""
    from shipping.choices import LocationKind, ShipmentStatus
    from shipping.services import dewar_receive, shipment_send

    stores = UserFactory(username="factory-stores", groups=["stores"])
    if shipment.status == ShipmentStatus.DRAFT:
        shipment_send(shipment=shipment, user=stores)
    location = location or LocationFactory(name="Stores", kind=LocationKind.STORES, barcode="LOC-STORES")
    for dewar in shipment.dewars.order_by("id"):
        dewar_receive(dewar=dewar, user=stores, location=location)
    shipment.refresh_from_db()
    return shipment


_data_ids = itertools.count(1)
COLLECTIONS_T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def collection_group(*, proposal, beamline, sample=None, session=None, experiment_type="osc"):
    """A data collection group, as ingest makes one."""
    from samples.data.models import DataCollectionGroup

    return DataCollectionGroup.objects.create(
        proposal=proposal,
        beamline=beamline,
        session=session,
        sample=sample,
        experiment_type=experiment_type,
        external_id=f"g{next(_data_ids)}",
    )


def collection(group, **fields):
    """A collection written as ingest writes one: denormalised from its group and sample, with its search text
    (``samples.data.ingest.search_text``); ``tags=[names]`` adds tags. Each is an hour older than the last."""
    from samples.data.choices import CollectionStatus
    from samples.data.ingest import search_text
    from samples.data.models import DataCollection, Tag

    n = next(_data_ids)
    sample = group.sample
    values = {
        "group": group,
        "proposal_id": group.proposal_id,
        "beamline_id": group.beamline_id,
        "session_id": group.session_id,
        "sample": sample,
        "protein_id": sample.protein_id if sample else None,
        "experiment_type": group.experiment_type,
        "external_id": f"dc{n}",
        "status": CollectionStatus.SUCCESSFUL,
        "start_time": COLLECTIONS_T0 - dt.timedelta(hours=n),
        "directory": f"/data/visitor/dc{n}",
        "file_template": f"x_{n}_####.cbf",
        "number_of_images": 10,
        **fields,
    }
    tags = values.pop("tags", ())
    made = DataCollection(**values)
    made.search_text = search_text(
        sample_name=sample.name if sample else "",
        protein_acronym=sample.protein.acronym if sample else "",
        directory=made.directory,
        file_template=made.file_template,
    )
    made.save()
    for name in tags:
        made.tags.add(Tag.objects.get_or_create(name=name)[0])
    return made
