"""The suite's one way to count queries: ``with count_queries() as queries: ...`` then ``len(queries)``.

A page or list must make the same number of queries for one row and for many (no N+1); the tests compare
counts across sizes or check an upper bound, always through this, on the default database.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from lims.compiled import source_of


def count_queries() -> CaptureQueriesContext:
    """A context that records every query run inside it (``len()`` of it, or ``.captured_queries``)."""
    return CaptureQueriesContext(connection)


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The SQL of each captured query; a prepared statement's EXECUTE (lims.compiled, PostgreSQL) as its SQL."""
    return [source_of(query["sql"]) for query in queries.captured_queries]
