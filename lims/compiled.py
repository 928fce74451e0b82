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

How: ``build`` is called once per shape (the names of the values given, None meaning not given) with a
stand-in for each value; each stand-in is then found among the compiled SQL's parameters, which tells where
each value goes. Values must be scalars that the ORM passes through as parameters (ids, codes), never None
or lists: those change the SQL itself.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.db.models import QuerySet
from django.db.models.query import get_related_populators

_STAND_IN_BASE = -(10**15)


class CompiledQuery:
    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._compiled: dict[tuple, _Compiled] = {}

    def rows(self, **values) -> list[tuple]:
        """The rows, with the database's converters applied as the ORM applies them (JSON, SQLite's times)."""
        sql, params, compiled = self._prepared(values)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
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
            cursor.execute(sql, params)
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
