"""The "Where's my data?" catalogue as a query: the URL's parameters in, a page of collections out.

Pure of HTTP: the query is ``samples.data.catalogue_query.CatalogueQuery`` (the URL's state, parsed and written
back); ``catalogue_page(user, query)`` runs it on what the user may see (``collection_visible_to``) and answers
one page.

Why it stays fast at a million collections:
- Every filter is on a column of ``DataCollection`` itself (denormalised there, each with an index).
- Keyset pagination on (sort column, id), the cursor in the URL: page 1,000 costs what page 1 costs (no OFFSET).
- The count is exact up to ``COUNT_BOUND`` (a ``COUNT(*)`` over a ``LIMIT bound + 1`` subquery), then "10,000+".
- Search is ``search_text LIKE '%q%'`` on the lower-cased text, which PostgreSQL answers from the trigram index
  (``dc_search_trgm_idx``); SQLite scans.
- The free-metadata keys for the column chooser come from the page's own rows, never from a scan.

Empty values (a collection without a sample, a best resolution not known yet) sort as PostgreSQL's indexes
keep them: after every value going up, before every value going down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from django.db import connections
from django.db.models import F, Q, QuerySet

from .catalogue_query import COLUMNS, COUNT_BOUND, META_KEY_RE, META_KEYS_SHOWN, CatalogueQuery, Cursor
from .models import DataCollection
from .selectors import collection_visible_to


def _order(expression, descending: bool, nullable: bool):
    if not nullable:
        return expression.desc() if descending else expression.asc()
    # As PostgreSQL's btree indexes keep NULLs: last going up, first going down (so a backward scan serves).
    return expression.desc(nulls_first=True) if descending else expression.asc(nulls_last=True)


def _after(cursor: Cursor, descending: bool, nullable: bool) -> Q:
    """The rows after ``cursor`` in the order (sort value, id), both going the same way, NULLs as the
    greatest value. Written so that the leading column has a range condition an index can start from."""
    v, pk = cursor.value, cursor.id
    if descending:
        if v is None:
            return Q(sort_value__isnull=True, id__lt=pk) | Q(sort_value__isnull=False)
        return Q(sort_value__lte=v) & (Q(sort_value__lt=v) | Q(id__lt=pk))
    if v is None:
        return Q(sort_value__isnull=True, id__gt=pk)
    later = Q(sort_value__gte=v) & (Q(sort_value__gt=v) | Q(id__gt=pk))
    return later | Q(sort_value__isnull=True) if nullable else later


@dataclass
class Page:
    """One page of the catalogue and the links around it."""

    query: CatalogueQuery
    rows: list[DataCollection]
    count: int
    count_bounded: bool  # True: there are more than ``count`` (shown as "10,000+")
    next_url: str
    previous_url: str
    meta_keys: list[str]
    groups: list[dict]

    @property
    def count_label(self) -> str:
        return f"{self.count:,}+" if self.count_bounded else f"{self.count:,}"


def bounded_count(collections: QuerySet, bound: int | None = None) -> tuple[int, bool]:
    """Exact up to ``bound``, else (bound, True): ``SELECT COUNT(*) FROM (... LIMIT bound + 1)``."""
    bound = COUNT_BOUND if bound is None else bound
    n = collections.order_by()[: bound + 1].count()
    return (bound, True) if n > bound else (n, False)


def catalogue_queryset(user, query: CatalogueQuery) -> QuerySet[DataCollection]:
    """What ``user`` may see, filtered: the set that the count counts and the pages walk."""
    return query.filter(collection_visible_to(user))


def _ordered(filtered: QuerySet[DataCollection], query: CatalogueQuery) -> QuerySet[DataCollection]:
    """``filtered`` with its ``sort_value``, from the cursor on, in the page's order (reversed going back)."""
    column = COLUMNS[query.sort_key]
    expression = column.sort if not isinstance(column.sort, str) else F(column.sort)
    rows_qs = filtered.annotate(sort_value=expression)
    descending = query.descending != bool(query.before)
    cursor_text = query.before or query.after
    if cursor_text:
        rows_qs = rows_qs.filter(_after(Cursor.decode(cursor_text, query.sort), descending, column.nullable))
    return rows_qs.order_by(
        _order(F("sort_value"), descending, column.nullable), F("id").desc() if descending else F("id").asc()
    )


def page_queryset(filtered: QuerySet[DataCollection], query: CatalogueQuery) -> QuerySet[DataCollection]:
    """The rows of the page, in order, from the cursor on (one more than the page, to know if there is a next):
    one table (a join only for a sort on a related column); what the columns show of related rows is fetched
    afterwards (``_attach``). Going backwards ("previous"), the order is reversed to start from the cursor; the
    caller puts it right."""
    return _ordered(filtered, query).defer("search_text")[: query.per_page + 1]


# ---- PostgreSQL: candidates first ----
#
# One scan of the matching rows, stopped at COUNT_BOUND + 1 (in whatever order the planner finds them fastest:
# the trigram index for a search, a proposal's index for a member), materialised, gives both the bounded count
# and, when there are no more than COUNT_BOUND, the exact page (the top of at most 10,000 (id, sort value) pairs,
# sorted in memory). Only when there are more does the page need the sort's index. The rows are then fetched by
# id from the one table, their related names in a small query per relation shown.

PROBE_ROWS = 10_000  # a search with more matches than the bound: how far down the sort's index to look first


def _order_sql(descending: bool) -> str:
    # As ``_order``: NULLs as the greatest value (what PostgreSQL's indexes do), then id the same way.
    return "s DESC NULLS FIRST, id DESC" if descending else "s ASC NULLS LAST, id ASC"


def _after_sql(cursor: Cursor, descending: bool, nullable: bool) -> tuple[str, list]:
    """``_after`` over the columns (id, s) of a materialised set of candidates."""
    v, pk = cursor.value, cursor.id
    if descending:
        if v is None:
            return "((s IS NULL AND id < %s) OR s IS NOT NULL)", [pk]
        return "(s < %s OR (s = %s AND id < %s))", [v, v, pk]
    if v is None:
        return "(s IS NULL AND id > %s)", [pk]
    return "(s > %s OR (s = %s AND id > %s)" + (" OR s IS NULL)" if nullable else ")"), [v, v, pk]


def _fetch(using: str, sql: str, params) -> list[tuple]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _candidates(filtered: QuerySet[DataCollection], query: CatalogueQuery) -> tuple[int, list[tuple]]:
    """(how many match, up to ``COUNT_BOUND + 1``; the page's (id, sort value) pairs if that is no more than
    ``COUNT_BOUND``) in one statement."""
    column = COLUMNS[query.sort_key]
    descending = query.descending != bool(query.before)
    expression = column.sort if not isinstance(column.sort, str) else F(column.sort)
    inner = filtered.order_by().values_list("id", expression)[: COUNT_BOUND + 1]
    sql, params = inner.query.sql_with_params()
    where, where_params = "TRUE", []
    cursor_text = query.before or query.after
    if cursor_text:
        where, where_params = _after_sql(Cursor.decode(cursor_text, query.sort), descending, column.nullable)
    got = _fetch(
        filtered.db,
        f"WITH c (id, s) AS MATERIALIZED ({sql}) SELECT k.n, p.id, p.s FROM (SELECT count(*) AS n FROM c) k"
        f" LEFT JOIN LATERAL (SELECT id, s FROM c WHERE {where} ORDER BY {_order_sql(descending)} LIMIT %s) p"
        " ON TRUE",
        [*params, *where_params, query.per_page + 1],
    )
    return got[0][0], [(pk, value) for _, pk, value in got if pk is not None]


def _search_page(user, filtered: QuerySet[DataCollection], query: CatalogueQuery) -> list[tuple]:
    """A search's page when more than ``COUNT_BOUND`` match: first down the sort's index, at most
    ``PROBE_ROWS`` rows (a frequent term among recent rows: 50 matches found in a few hundred); if that did not
    fill the page (a term of years ago), the top of every match, found through the trigram index and sorted."""
    descending = query.descending != bool(query.before)
    unsearched = _ordered(catalogue_queryset(user, replace(query, q="")), query)
    sql, params = unsearched.values_list("id", "sort_value", "search_text")[:PROBE_ROWS].query.sql_with_params()
    pattern = f"%{connections[filtered.db].ops.prep_for_like_query(query.q.lower())}%"
    order = _order_sql(descending)
    got = _fetch(
        filtered.db,
        f"SELECT id, s FROM ({sql}) w (id, s, t) WHERE t LIKE %s ORDER BY {order} LIMIT %s",
        [*params, pattern, query.per_page + 1],
    )
    if len(got) > query.per_page:
        return got
    sql, params = _ordered(filtered, query).order_by().values_list("id", "sort_value").query.sql_with_params()
    return _fetch(
        filtered.db,
        f"WITH c (id, s) AS MATERIALIZED ({sql}) SELECT id, s FROM c ORDER BY {order} LIMIT %s",
        [*params, query.per_page + 1],
    )


def _rows_by_id(pairs: list[tuple]) -> list[DataCollection]:
    """The collections of (id, sort value) pairs, in their order, each with its ``sort_value``."""
    found = DataCollection.objects.filter(pk__in=[pk for pk, _ in pairs]).order_by().defer("search_text")
    by_id = {row.pk: row for row in found}
    rows = []
    for pk, value in pairs:
        row = by_id.get(pk)
        if row is not None:  # deleted in between
            row.sort_value = value
            rows.append(row)
    return rows


def _attach(rows: list[DataCollection], query: CatalogueQuery) -> None:
    """What the shown columns need of related rows, one small query per relation (by the page's ids), put
    where ``row.sample`` etc. find them; the tags' names as ``row.tag_names``. No prefetch machinery: at 50 rows
    it cost more than the queries."""
    from lims.models import Beamline, Proposal, Session
    from samples.models import Protein, Sample

    if not rows:
        return
    shown = set(query.columns)
    for name, model, fields in (
        ("proposal", Proposal, ("id", "code", "number")),
        ("beamline", Beamline, ("id", "name")),
        ("session", Session, ("id", "start")),
        ("sample", Sample, ("id", "name")),
        ("protein", Protein, ("id", "acronym")),
    ):
        if name not in shown and not (name == "sample" and query.group == "sample"):
            continue
        field = DataCollection._meta.get_field(name)
        ids = {getattr(row, field.attname) for row in rows}
        ids.discard(None)
        found = {obj.pk: obj for obj in model.objects.filter(pk__in=ids).order_by().only(*fields)} if ids else {}
        for row in rows:
            field.set_cached_value(row, found.get(getattr(row, field.attname)))
    if "tags" in shown:
        by_row: dict[int, list[str]] = {row.pk: [] for row in rows}
        through = DataCollection.tags.through.objects.filter(datacollection_id__in=list(by_row))
        for pk, tag in through.order_by("tag__name").values_list("datacollection_id", "tag__name"):
            by_row[pk].append(tag)
        for row in rows:
            row.tag_names = by_row[row.pk]


def catalogue_page(user, query: CatalogueQuery) -> Page:
    """One page: the rows (with what the columns show fetched alongside), the bounded count, the cursors.

    Queries, whatever the page size: the candidates with the count (on SQLite: the count), the page (a search
    with more than ``COUNT_BOUND`` matches: one or two more), and one per related relation the columns show.
    """
    filtered = catalogue_queryset(user, query)
    backwards = bool(query.before)
    if connections[filtered.db].vendor == "postgresql":
        n, pairs = _candidates(filtered, query)
        count, bounded = (COUNT_BOUND, True) if n > COUNT_BOUND else (n, False)
        if not bounded:
            rows = _rows_by_id(pairs)
        elif query.q:
            rows = _rows_by_id(_search_page(user, filtered, query))
        else:
            rows = list(page_queryset(filtered, query))
    else:
        count, bounded = bounded_count(filtered)
        rows = list(page_queryset(filtered, query))
    more = len(rows) > query.per_page
    rows = rows[: query.per_page]
    if backwards:
        if not more:
            # Back at the start: the first page as it is now (a full page, not the rest before the cursor).
            return catalogue_page(user, replace(query, before=""))
        rows.reverse()
    _attach(rows, query)

    def cursor(row) -> str:
        return Cursor(query.sort, row.sort_value, row.id).encode()

    # Forwards there are rows before the page if it started after a cursor; backwards, rows after it.
    has_next = bool(rows) and (backwards or more)
    has_previous = bool(rows) and (bool(query.after) or backwards)
    next_url = query.url(after=cursor(rows[-1]), before="") if has_next else ""
    previous_url = query.url(before=cursor(rows[0]), after="") if has_previous else ""
    if query.after and not rows:
        # Past the end (rows deleted since the link was made): offer the way back.
        previous_url = query.first_page()

    return Page(
        query=query,
        rows=rows,
        count=count,
        count_bounded=bounded,
        next_url=next_url,
        previous_url=previous_url,
        meta_keys=meta_keys(rows, query),
        groups=group_by_sample(rows) if query.group == "sample" else [],
    )


def meta_keys(rows: list[DataCollection], query: CatalogueQuery) -> list[str]:
    """The free-metadata keys the column chooser offers: those of the page's rows (never a scan) and the
    ones already chosen, sorted."""
    keys = set(query.meta_columns)
    for row in rows:
        if isinstance(row.metadata, dict):
            keys.update(k for k in row.metadata if isinstance(k, str) and META_KEY_RE.match(k))
    return sorted(keys)[:META_KEYS_SHOWN] if len(keys) > META_KEYS_SHOWN else sorted(keys)


def group_by_sample(rows: list[DataCollection]) -> list[dict]:
    """The page's rows under their sample, samples in the order they first appear, with the count on the page."""
    groups: dict[int | None, dict] = {}
    for row in rows:
        group = groups.setdefault(row.sample_id, {"sample": row.sample, "rows": []})
        group["rows"].append(row)
    return [{**g, "count": len(g["rows"])} for g in groups.values()]


def sample_collections(user, sample, limit: int = 100) -> tuple[list[DataCollection], int | None]:
    """A sample's collections, newest first, each with ``best_screening`` and ``best_processing`` (and the
    latter's ``overall`` shell): four queries whatever their number. The second value is how many there are
    in all when more than ``limit`` (else None)."""
    from django.db.models import Prefetch

    from .models import ProcessingResult, ScreeningResult

    collections = list(
        collection_visible_to(user)
        .filter(sample=sample)
        .select_related("beamline", "session")
        .defer("search_text", "metadata")
        .prefetch_related(
            Prefetch("screenings", queryset=ScreeningResult.objects.order_by("id")),
            Prefetch("processings", queryset=ProcessingResult.objects.prefetch_related("shells").order_by("id")),
        )
        .order_by("-start_time", "-id")[: limit + 1]
    )
    total = None
    if len(collections) > limit:
        collections = collections[:limit]
        total = collection_visible_to(user).filter(sample=sample).count()
    for collection in collections:
        collection.best_screening = best_screening(collection.screenings.all())
        collection.best_processing = best_processing(collection.processings.all())
    return collections, total


def best_screening(screenings):
    """The screening to show first: indexed before not, then the best estimated resolution, then the ranking."""
    inf = float("inf")
    return min(
        screenings,
        key=lambda s: (not s.indexing_success, s.estimated_resolution or inf, -(s.ranking or 0), s.id),
        default=None,
    )


def best_processing(processings):
    """The processing with the best (smallest) overall high-resolution limit; its shells as ``overall``."""
    inf = float("inf")
    for processing in processings:
        shells = {shell.shell: shell for shell in processing.shells.all()}
        processing.overall = shells.get("overall") or shells.get("outer")
    return min(
        processings,
        key=lambda p: ((p.overall.resolution_high if p.overall else None) or inf, p.id),
        default=None,
    )


def meta_value(row: DataCollection, key: str):
    """A free-metadata value to show: scalars as they are, the rest as compact JSON."""
    value = row.metadata.get(key) if isinstance(row.metadata, dict) else None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, separators=(",", ":"))[:200]
