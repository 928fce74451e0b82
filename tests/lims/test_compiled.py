"""Queries compiled once (lims.compiled): the same rows and instances as the queryset, the SQL built once."""

import pytest
from django.db import transaction

from lims.compiled import CompiledQuery
from shipping.models import Dewar
from shipping.services import dewar_receive, shipment_send

pytestmark = pytest.mark.django_db


def test_objects_are_the_querysets_own_with_their_related_rows(shipment, member, stores, stores_location):
    shipment_send(shipment=shipment, user=member)
    received = shipment.dewars.get()
    dewar_receive(dewar=received, user=stores)
    other = Dewar.objects.create(shipment=shipment, name="Spare", barcode="DW-SPARE-1")  # no location: a null join
    built = []

    def build(code):
        built.append(code)
        return Dewar.objects.select_related("location", "shipment__proposal", "session").filter(barcode=code)

    query = CompiledQuery(build)
    for dewar in (received, other):
        (found,) = query.objects(code=dewar.barcode)
        expected = build(dewar.barcode).get()
        assert found.pk == expected.pk and found.__class__ is Dewar
        assert found.shipment.proposal.name == expected.shipment.proposal.name
        assert found.location == expected.location and found.session is None
        assert found.status == expected.status and found.shipment.created_at == expected.shipment.created_at
        assert found.shipment.created_at.tzinfo is not None  # the database's converters applied (SQLite)
    assert len(built) == 3  # compiled once, with stand-ins; the two others are the test's own querysets
    assert query.objects(code="DW-NONE") == []


def test_a_locking_query_compiles_inside_a_transaction_and_locks(shipment):
    query = CompiledQuery(lambda pk: Dewar.objects.select_for_update(of=("self",)).filter(pk=pk))
    dewar = shipment.dewars.get()
    with transaction.atomic():
        (found,) = query.objects(pk=dewar.pk)
    assert found.pk == dewar.pk


def test_a_value_the_orm_transforms_is_refused_not_baked_in():
    query = CompiledQuery(lambda code: Dewar.objects.filter(barcode__icontains=code))
    with pytest.raises(ValueError, match="not plain parameters"):
        query.rows(code="DW")
