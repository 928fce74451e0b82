"""Ingest: the one place that writes data collections, screening and processing results from the pipelines.

    ingest_collections(*, principal, items, partial=False) -> [DataCollection]     1..1000 items, one upsert
    collection_update(*, principal, external_id, changes, beamline=None) -> DataCollection   a running update
    ingest_screenings(*, principal, items) -> [ScreeningResult]
    ingest_processings(*, principal, items) -> [ProcessingResult]
    search_text(...) -> str        the catalogue's lower-cased search column (use it wherever a collection changes)

Every item is validated by hand first (types, ranges, choices, times): a serializer or ``full_clean`` per item
would cost more than the whole database work of a batch. Links are then resolved in bulk (one query each:
beamlines, samples, sessions, the stored collections, groups), and any bad item raises one ``BatchError``
carrying ``{index: {field: [messages]}}``; nothing is written then. A good batch is written in one
``INSERT ... ON CONFLICT (beamline, external_id) DO UPDATE``, so a re-sent item updates its collection and
never makes a second one. Fields an item leaves out keep their stored values (defaults for a new one); the
links (group, session, sample) are resolved again from what the item names, and kept when it names none.

A token writes its own beamline's collections only: the beamline is part of the unique key, and another
beamline named in an item is refused. Who owns the data follows from the sample (by id or pin barcode,
among the samples the principal sees) or the session (named, or the one running on the beamline at the
start time); an item with neither is refused ("cannot tell whose data this is").

No AuditEntry is written per ingested item: a beamline writes thousands an hour, and the rows carry
their token and timestamps (``token``, ``created_at``, ``updated_at``). Users' later edits (flags, tags,
moves) are audited by their own services.
"""

from .collections import collection_update, ingest_collections
from .results import best_resolution_update, ingest_processings, ingest_screenings
from .values import MAX_BATCH, BatchError, search_text

__all__ = [
    "MAX_BATCH",
    "BatchError",
    "best_resolution_update",
    "collection_update",
    "ingest_collections",
    "ingest_processings",
    "ingest_screenings",
    "search_text",
]
