"""Queries compiled once (lims.compiled): the same rows and instances as the queryset, the SQL built once."""

import pytest
from django.conf import settings
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


# --- PostgreSQL: each compiled statement prepared once per connection ------------------------------------------

postgres_only = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="prepared statements: PostgreSQL"
)


def _prepared_statements() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name, parameter_types::text FROM pg_prepared_statements")
        return dict(cursor.fetchall())


@postgres_only
@pytest.mark.django_db(transaction=True)  # the connection is closed and opened again
def test_a_compiled_statement_is_prepared_once_per_connection_and_answers_the_same(shipment):
    from django.db import connection

    dewar = shipment.dewars.get()
    query = CompiledQuery(lambda pk, name: Dewar.objects.filter(pk=pk, name=name).values_list("barcode"))
    assert query.rows(pk=dewar.pk, name=dewar.name) == [(dewar.barcode,)]
    assert query.rows(pk=dewar.pk, name="no such name") == []
    (compiled,) = query._compiled.values()
    assert _prepared_statements()[compiled.name] in (
        "{bigint,text}",
        "{text,bigint}",
    )  # in the order the ORM writes them
    connection.close()  # a new connection: prepared again, not "does not exist"
    assert query.rows(pk=dewar.pk, name=dewar.name) == [(dewar.barcode,)]
    assert compiled.name in _prepared_statements()


@postgres_only
def test_a_statement_that_cannot_be_prepared_runs_as_plain_sql_in_a_usable_transaction(shipment):
    from django.db import connection

    dewar = shipment.dewars.get()
    query = CompiledQuery(lambda pk: Dewar.objects.filter(pk=pk).values_list("name"))
    query._prepared({"pk": dewar.pk})  # compiled, not yet run: its name is known
    (compiled,) = query._compiled.values()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"PREPARE {compiled.name} AS SELECT 1")  # the name taken: PREPARE fails
        assert query.rows(pk=dewar.pk) == [(dewar.name,)]
        assert Dewar.objects.filter(pk=dewar.pk).exists()  # the transaction was not aborted


@postgres_only
def test_no_prepared_statement_when_turned_off_or_for_a_value_of_another_type(shipment, settings):
    dewar = shipment.dewars.get()
    settings.DB_PREPARED = False
    off = CompiledQuery(lambda pk: Dewar.objects.filter(pk=pk).values_list("name"))
    assert off.rows(pk=dewar.pk) == [(dewar.name,)]
    assert next(iter(off._compiled.values())).name not in _prepared_statements()
    settings.DB_PREPARED = True
    query = CompiledQuery(lambda pk: Dewar.objects.filter(pk=pk).values_list("name"))
    assert query.rows(pk=dewar.pk) == [(dewar.name,)]
    assert next(iter(query._compiled.values())).name in _prepared_statements()
    assert query.rows(pk=str(dewar.pk)) == [(dewar.name,)]  # not the prepared bigint: plain SQL, still right
