"""The "Where's my data?" catalogue as a query: the URL's parameters in, a page of collections out.

Pure of HTTP: the query is ``samples.data.catalogue_query.CatalogueQuery`` (the URL's state, parsed and written
back); ``catalogue_page(user, query)`` runs it on what the user may see (``collection_visible_to``) and answers
one page.

Why it stays fast at a million collections:
- Every filter is on a column of ``DataCollection`` itself (denormalised there, each with an index).
- Keyset pagination on (sort column, id), the cursor in the URL: page 1,000 costs what page 1 costs (no OFFSET).
- The count is exact up to ``COUNT_BOUND`` (a ``COUNT(*)`` over a ``LIMIT bound + 1`` subquery), then "10,000+".
- Search is ``search_text LIKE '%q%'`` on the lower-cased text, which PostgreSQL answers from the trigram index
  (``dc_search_trgm_idx``) and, for the newest first, from the index on the start time that carries the text
  (``dc_start_cover_idx``, read alone); SQLite scans. See ``_search``.
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
    """The rows of the page, in order, from the cursor on (one more than the page, to know if there is a next),
    with the related names the columns show joined (``_shown``). Going backwards ("previous"), the order is
    reversed to start from the cursor; the caller puts it right."""
    return _shown(_ordered(filtered, query), query)[: query.per_page + 1]


# ---- PostgreSQL: candidates first ----
#
# One scan of the matching rows, stopped at COUNT_BOUND + 1 (in whatever order the planner finds them fastest:
# a proposal's index for a member), materialised, gives both the bounded count and, when there are no more than
# COUNT_BOUND, the exact page (the top of at most 10,000 (id, sort value) pairs, sorted in memory). Only when
# there are more does the page need the sort's index. The rows are then fetched by id, their related names joined.
#
# A search (``_search``) is two statements (three at most) whose cost does not hang on the planner's estimates:
# first down the sort's index (for the newest first, index-only on ``dc_start_cover_idx``, which carries the
# search text), then the trigram index for every match, or the count (down the newest for a frequent term).

PROBE_ROWS = 10_000  # a search: how far down the sort's index to look for the page first
DENSE = 8  # a search's term in one row in 8 of those: counted down the newest rows, not through the trigrams
# The planner's choices that made a search's time swing from one run (or one ANALYZE) to the next, taken away:
# JIT compiling (tens of ms) and parallel workers (on a busy server, queueing behind the other requests).
STEADY = "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0; "
# And the trigram index always (bitmap scans only), never a scan of the table or of an index that carries the
# text: the estimate of LIKE '%term%' comes from the ~100 values of the column's histogram, so a rare term that
# one of them happens to hold is taken for a common one and, with the LIMIT, a scan looks cheap: it then reads
# every row (~300 ms at a million). (SET LOCAL in the statement's own string: an implicit transaction, so the
# settings end with the statement.)
TRIGRAM = STEADY + "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off; "


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


def _candidates(
    filtered: QuerySet[DataCollection], query: CatalogueQuery, *, every: bool = False, settings: str = ""
) -> tuple[int, list[tuple]]:
    """(how many match, up to ``COUNT_BOUND + 1`` (``every``: all); the page's (id, sort value) pairs, exact if
    that is no more than ``COUNT_BOUND``) in one statement, run after ``settings``."""
    column = COLUMNS[query.sort_key]
    descending = query.descending != bool(query.before)
    expression = column.sort if not isinstance(column.sort, str) else F(column.sort)
    inner = filtered.order_by().values_list("id", expression)
    sql, params = (inner if every else inner[: COUNT_BOUND + 1]).query.sql_with_params()
    where, where_params = "TRUE", []
    cursor_text = query.before or query.after
    if cursor_text:
        where, where_params = _after_sql(Cursor.decode(cursor_text, query.sort), descending, column.nullable)
    got = _fetch(
        filtered.db,
        f"{settings}WITH c (id, s) AS MATERIALIZED ({sql}) SELECT k.n, p.id, p.s FROM (SELECT count(*) AS n FROM c) k"
        f" LEFT JOIN LATERAL (SELECT id, s FROM c WHERE {where} ORDER BY {_order_sql(descending)} LIMIT %s) p"
        " ON TRUE",
        [*params, *where_params, query.per_page + 1],
    )
    return got[0][0], [(pk, value) for _, pk, value in got if pk is not None]


def _search(user, filtered: QuerySet[DataCollection], query: CatalogueQuery) -> tuple[int, list[tuple]]:
    """A search's (count, the page's (id, sort value) pairs), in two statements (three at most):
    1. down the sort's index from the cursor, ``PROBE_ROWS`` rows (index-only for the newest first): the first
       ``per_page + 1`` that match, and how many of them match;
    2. if that did not fill the page (a rare term, or one of years ago): every match through the trigram index,
       the count and the top of them (the page) at once;
    3. else the bounded count: down the newest, index-only, if the term is in at least one row in ``DENSE``
       there (a term in most rows, "master", has long lists in the trigram index: 100 ms to read them); else,
       or if that did not reach the bound, through the trigram index."""
    descending = query.descending != bool(query.before)
    unsearched = catalogue_queryset(user, replace(query, q=""))
    probe = _ordered(unsearched, query).values_list("id", "sort_value", "search_text")[:PROBE_ROWS]
    sql, params = probe.query.sql_with_params()
    pattern = f"%{connections[filtered.db].ops.prep_for_like_query(query.q.lower())}%"
    got = _fetch(
        filtered.db,
        f"{STEADY}SELECT id, s, m FROM (SELECT id, s, count(*) OVER () AS m FROM ({sql}) w (id, s, t)"
        f" WHERE t LIKE %s) p ORDER BY {_order_sql(descending)} LIMIT %s",
        [*params, pattern, query.per_page + 1],
    )
    if len(got) <= query.per_page:
        return _candidates(filtered, query, every=True, settings=TRIGRAM)
    page = [(pk, value) for pk, value, _ in got]
    if got[0][2] * DENSE >= PROBE_ROWS:
        newest = unsearched.order_by("-start_time", "-id").values_list("search_text")[: DENSE * (COUNT_BOUND + 1)]
        sql, params = newest.query.sql_with_params()
        n = _fetch(
            filtered.db,
            f"{STEADY}SELECT count(*) FROM (SELECT 1 FROM ({sql}) w (t) WHERE t LIKE %s LIMIT %s) c",
            [*params, pattern, COUNT_BOUND + 1],
        )[0][0]
        if n > COUNT_BOUND:
            return n, page
    sql, params = filtered.order_by().values_list("id")[: COUNT_BOUND + 1].query.sql_with_params()
    return _fetch(filtered.db, f"{TRIGRAM}SELECT count(*) FROM ({sql}) c", params)[0][0], page


# What the page's rows are read with: the shown columns' fields (and what every page needs: the metadata for the
# column chooser's keys, the sample for grouping), and the names the columns show of related rows, joined in the
# same query; one object a related row, shared by the rows that name it.
RELATED = {"proposal": ("code", "number"), "beamline": ("name",), "session": ("start",), "sample": ("name",)}
RELATED["protein"] = ("acronym",)
FIELDS = {"thumbnail": ("thumbnail_path",), "tags": ()}


def _related_shown(query: CatalogueQuery) -> list[str]:
    return [key for key in RELATED if key in query.columns or (key == "sample" and query.group == "sample")]


def _shown(rows: QuerySet[DataCollection], query: CatalogueQuery) -> QuerySet[DataCollection]:
    """``rows`` with only what the shown columns read (a column chosen later reads the rest, a query a row: the
    view shows only these), and the names of the related rows they show (``_attach_related`` makes them rows)."""
    keys = [key for key in query.columns if key in COLUMNS]
    fields = ["id", "metadata", "sample", *(f for key in keys for f in FIELDS.get(key, (key,)))]
    names = {f"shown_{key}_{name}": F(f"{key}__{name}") for key in _related_shown(query) for name in RELATED[key]}
    return rows.only(*fields).annotate(**names)


def _attach_related(rows: list[DataCollection], query: CatalogueQuery) -> None:
    """Where ``row.sample`` etc. find them, the related rows the columns show, from the names ``_shown`` read:
    one object a related row (five proposals on a page of 50 are five objects, not 50, as ``select_related``
    would make them: that was most of the page's Python)."""
    for key in _related_shown(query):
        field = DataCollection._meta.get_field(key)
        names = ["id", *RELATED[key]]
        made: dict = {}
        for row in rows:
            pk = getattr(row, field.attname)
            related = made.get(pk)
            if related is None and pk is not None:
                values = [pk, *(getattr(row, f"shown_{key}_{name}") for name in RELATED[key])]
                related = made[pk] = field.related_model.from_db(row._state.db, names, values)
            field.set_cached_value(row, related)


def _rows_by_id(pairs: list[tuple], query: CatalogueQuery) -> list[DataCollection]:
    """The collections of (id, sort value) pairs, in their order, each with its ``sort_value``."""
    found = _shown(DataCollection.objects.filter(pk__in=[pk for pk, _ in pairs]).order_by(), query)
    by_id = {row.pk: row for row in found}
    rows = []
    for pk, value in pairs:
        row = by_id.get(pk)
        if row is not None:  # deleted in between
            row.sort_value = value
            rows.append(row)
    return rows


def _attach_tags(rows: list[DataCollection], query: CatalogueQuery) -> None:
    """The tags' names as ``row.tag_names``, in one query by the page's ids (if the tags are shown)."""
    if not rows or "tags" not in query.columns:
        return
    by_row: dict[int, list[str]] = {row.pk: [] for row in rows}
    through = DataCollection.tags.through.objects.filter(datacollection_id__in=list(by_row))
    for pk, tag in through.order_by("tag__name").values_list("datacollection_id", "tag__name"):
        by_row[pk].append(tag)
    for row in rows:
        row.tag_names = by_row[row.pk]


def catalogue_page(user, query: CatalogueQuery) -> Page:
    """One page: the rows (with what the columns show fetched alongside), the bounded count, the cursors.

    Queries, whatever the page size: the candidates with the count (on SQLite: the count; a search on
    PostgreSQL: the probe, then the count or every match), the page with its related names, the tags if shown.
    """
    filtered = catalogue_queryset(user, query)
    backwards = bool(query.before)
    if connections[filtered.db].vendor == "postgresql":
        n, pairs = _search(user, filtered, query) if query.q else _candidates(filtered, query)
        count, bounded = (COUNT_BOUND, True) if n > COUNT_BOUND else (n, False)
        rows = _rows_by_id(pairs, query) if not bounded or query.q else list(page_queryset(filtered, query))
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
    _attach_related(rows, query)
    _attach_tags(rows, query)

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
