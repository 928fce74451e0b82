"""The suite's one way to count queries: ``with count_queries() as queries: ...`` then ``len(queries)``.

A page or list must make the same number of queries for one row and for many (no N+1); the tests compare
counts across sizes or check an upper bound, always through this, on the default database.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def count_queries() -> CaptureQueriesContext:
    """A context that records every query run inside it (``len()`` of it, or ``.captured_queries``)."""
    return CaptureQueriesContext(connection)
