"""Querysets whose SQL is compiled once per process, then run with each request's values.

The hot paths repeat the same few queries all day: beamline control's sample list and robot reports, a scan's
token, location and locks. On the facility's machines the ORM's building and compiling of such a query costs
more CPU than PostgreSQL's execution of it (1 ms against 0.1 ms for a report's lookup), so the SQL of each
shape of query is compiled once, from the queryset itself (the selectors and services stay the one statement
of what is read and locked), and run directly.

    QUERY = CompiledQuery(build)          build(**values) -> a queryset
    QUERY.rows(beamline=3, session=12)    -> list of tuples (build gives a values_list queryset)
    QUERY.objects(code="DW-1")            -> list of model instances, select_related ones attached, as the
                                             queryset itself would give them

On PostgreSQL each compiled statement is also PREPAREd on the database connection the first time that
connection runs it, then EXECUTEd: PostgreSQL plans a join of six tables in 1-2 ms, longer than it runs it, and
the plan of such a lookup does not change with its values. The parameters get the types of their first values
(int: bigint, str: text, ...; a value of another type is not prepared, it runs as plain SQL). ``DB_PREPARED=0``
turns this off (a pooler in transaction mode, PgBouncer's default, does not keep a session's statements).

How: ``build`` is called once per shape (the names of the values given, None meaning not given) with a
stand-in for each value; each stand-in is then found among the compiled SQL's parameters, which tells where
each value goes. Values must be scalars that the ORM passes through as parameters (ids, codes), never None
or lists: those change the SQL itself.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import QuerySet
from django.db.models.query import get_related_populators

_STAND_IN_BASE = -(10**15)
# PostgreSQL's type for a parameter, by its first value's Python type (bool before int: a bool is an int; a
# datetime before a date).
_PG_TYPES = (
    (bool, "boolean"),
    (int, "bigint"),
    (float, "double precision"),
    (Decimal, "numeric"),
    (str, "text"),
    (dt.datetime, "timestamp with time zone"),
    (dt.date, "date"),
)
_names = itertools.count(1)
_SOURCES: dict[str, str] = {}  # a prepared statement's name: its SQL


class CompiledQuery:
    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._compiled: dict[tuple, _Compiled] = {}

    def rows(self, **values) -> list[tuple]:
        """The rows, with the database's converters applied as the ORM applies them (JSON, SQLite's times)."""
        sql, params, compiled = self._prepared(values)
        with connection.cursor() as cursor:
            _execute(cursor, compiled, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [tuple(row) for row in compiled.compiler.apply_converters(rows, compiled.converters)]
        return rows

    def objects(self, **values) -> list:
        """The queryset's model instances, as ``ModelIterable`` makes them (its select_related included)."""
        sql, params, compiler = self._prepared(values)
        if compiler.materialise is None:
            compiler.materialise = _Materialiser(compiler.compiler, compiler.converters)
        with connection.cursor() as cursor:
            _execute(cursor, compiler, params)
            return compiler.materialise(cursor.fetchall())

    def _prepared(self, values: dict) -> tuple[str, list, _Compiled]:
        values = {name: value for name, value in values.items() if value is not None}
        key = (connection.vendor, *values)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(values)
        params = [values[name] if is_value else name for is_value, name in compiled.slots]
        return compiled.sql, params, compiled

    def _compile(self, values: dict) -> _Compiled:
        stand_ins = {
            name: f"\x01{name}\x01" if isinstance(value, str) else _STAND_IN_BASE - index
            for index, (name, value) in enumerate(values.items())
        }
        names = {stand_in: name for name, stand_in in stand_ins.items()}
        queryset = self.build(**stand_ins)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        # A parameter that is no stand-in is a constant of the query itself: kept as it is.
        slots = tuple((True, names[p]) if _hashable(p) and p in names else (False, p) for p in params)
        found = {name for is_value, name in slots if is_value}
        if found != set(values):
            # A value the ORM transformed (a pattern, a cast) cannot be found again: compiling would bake
            # the stand-in into the SQL. Refuse rather than answer wrongly; the selector must change.
            raise ValueError(f"CompiledQuery: values {sorted(set(values) - found)} are not plain parameters.")
        return _Compiled(sql, slots, compiler)


class _Compiled:
    def __init__(self, sql: str, slots: tuple, compiler):
        self.sql, self.slots, self.compiler = sql, slots, compiler
        self.converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
        self.materialise: _Materialiser | None = None
        self.name = f"lims_compiled_{next(_names)}"  # its prepared statement's, on PostgreSQL
        _SOURCES[self.name] = sql
        self.types: tuple[str, ...] | None = None  # its parameters' types, from their first values
        self.execute_sql = "EXECUTE " + self.name + (" (" + ", ".join(["%s"] * len(slots)) + ")" if slots else "")


def source_of(sql: str) -> str:
    """The SQL an ``EXECUTE`` of a compiled statement runs (any other SQL as it is): for reading captured queries."""
    if sql.startswith("EXECUTE lims_compiled_"):
        return _SOURCES.get(sql.split()[1], sql)
    return sql


def _execute(cursor, compiled: _Compiled, params: list) -> None:
    """Run a compiled statement: on PostgreSQL through the connection's prepared statement (made on first use)."""
    if connection.vendor != "postgresql" or not getattr(settings, "DB_PREPARED", True):
        cursor.execute(compiled.sql, params)
        return
    prepared = cursor.db.__dict__.setdefault("lims_prepared", {})  # emptied when the connection is new
    name = prepared.get(compiled.name)
    if name is None:
        name = prepared[compiled.name] = _prepare(cursor, compiled, params)
    if name and compiled.types == _types(params):
        cursor.execute(compiled.execute_sql, params)
    else:
        cursor.execute(compiled.sql, params)


def _prepare(cursor, compiled: _Compiled, params: list) -> str:
    """PREPARE the statement on this connection; "" when it cannot be (a parameter of no known type, an error)."""
    types = _types(params)
    if types is None or (compiled.types is not None and types != compiled.types):
        return ""
    sql = compiled.sql % tuple(f"${n}" for n in range(1, len(params) + 1))
    declared = f" ({', '.join(types)})" if types else ""
    try:
        with transaction.atomic():  # a savepoint inside a transaction: a failed PREPARE leaves it usable
            cursor.execute(f"PREPARE {compiled.name}{declared} AS {sql}")
    except DatabaseError:
        return ""
    compiled.types = types
    return compiled.name


def _types(params: list) -> tuple[str, ...] | None:
    types = []
    for value in params:
        pg_type = next((name for kind, name in _PG_TYPES if isinstance(value, kind)), None)
        if pg_type is None:
            return None
        types.append(pg_type)
    return tuple(types)


def _forget_prepared(sender, connection, **kwargs) -> None:
    """A new database connection has no prepared statement yet."""
    connection.__dict__.pop("lims_prepared", None)


connection_created.connect(_forget_prepared, dispatch_uid="lims.compiled.forget_prepared")


class _Materialiser:
    """Rows to model instances with what ``as_sql`` left on the compiler (its select and klass_info): the
    steps of Django's ``ModelIterable``, the database's converters included."""

    def __init__(self, compiler, converters: dict):
        self.compiler = compiler
        klass_info = compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in compiler.select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, compiler.select, compiler.using)
        self.converters = converters

    def __call__(self, rows: list[tuple]) -> list:
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        objects = []
        for row in rows:
            obj = self.model.from_db(self.compiler.using, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
