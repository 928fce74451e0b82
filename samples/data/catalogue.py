"""The "Where's my data?" catalogue as a query: the URL's parameters in, a page of collections out.

Pure of HTTP: ``CatalogueQuery.parse(params)`` reads a query string (a ``QueryDict`` or a plain mapping),
keeps what is valid and says what is not (a message per bad parameter, never an exception), and
``CatalogueQuery.to_params()`` writes it back, so a view is a shareable URL. ``catalogue_page(user, query)``
runs it on what the user may see (``collection_visible_to``) and answers one page.

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

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from django.db import connections
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Concat
from django.utils import timezone

from lims.api.parsers import loads
from lims.validators import datetime_in_range

from .choices import CollectionStatus, ExperimentType, Flag
from .models import DataCollection
from .selectors import collection_visible_to

COUNT_BOUND = 10_000
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
DEFAULT_SORT = "-start_time"
MAX_SEARCH = 100
MIN_SEARCH = 3  # below a trigram, the index cannot help: a scan of a million rows
META_PREFIX = "meta."
META_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,60}$")
META_KEYS_SHOWN = 40


@dataclass(frozen=True)
class Column:
    """A column of the results: its label, what it sorts by (None: not sortable) and whether that may be empty."""

    key: str
    label: str
    sort: object = None  # a field name or an expression
    kind: str = "text"  # text, number, time: how a cursor's value is read back
    nullable: bool = True
    numeric: bool = False


COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("thumbnail", "Picture"),
        Column("start_time", "Start", "start_time", "time", nullable=False),
        Column("end_time", "End", "end_time", "time"),
        Column("proposal", "Proposal", Concat("proposal__code", "proposal__number"), nullable=False),
        Column("beamline", "Beamline", "beamline__name", nullable=False),
        Column("session", "Session", "session__start", "time"),
        Column("sample", "Sample", "sample__name"),
        Column("protein", "Protein", "protein__acronym"),
        Column("experiment_type", "Type", "experiment_type", nullable=False),
        Column("status", "Status", "status", nullable=False),
        Column("best_resolution", "Best res. (Å)", "best_resolution", "number", numeric=True),
        Column("flags", "Flags", "flags", "number", nullable=False),
        Column("tags", "Tags"),
        Column("directory", "Directory", "directory", nullable=False),
        Column("file_template", "File template", "file_template", nullable=False),
        Column("number_of_images", "Images", "number_of_images", "number", nullable=False, numeric=True),
        Column("wavelength", "Wavelength (Å)", "wavelength", "number", numeric=True),
        Column("exposure_time", "Exposure (s)", "exposure_time", "number", numeric=True),
        Column("oscillation_range", "Osc. range (°)", "oscillation_range", "number", numeric=True),
        Column("detector_distance", "Distance (mm)", "detector_distance", "number", numeric=True),
        Column("resolution", "Res. at edge (Å)", "resolution", "number", numeric=True),
        Column("transmission", "Transmission (%)", "transmission", "number", numeric=True),
        Column("flux", "Flux (ph/s)", "flux", "number", numeric=True),
        Column("detector", "Detector", "detector", nullable=False),
        Column("comments", "Comments", "comments", nullable=False),
    )
}
DEFAULT_COLUMNS = (
    "thumbnail",
    "start_time",
    "sample",
    "protein",
    "experiment_type",
    "status",
    # What people look for first, in view at 1280 px: the resolution, the flags and the tags (a user's
    # proposal and beamline, the same on most rows, come after them).
    "best_resolution",
    "flags",
    "tags",
    "proposal",
    "beamline",
    "number_of_images",
    "file_template",
)
FLAG_NAMES = {flag.name.lower(): flag for flag in Flag}
SCALAR_FILTERS = ("proposal", "session", "beamline", "sample", "protein")


class CursorError(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: the sort's value and the id of the row on the page's edge (both in the URL)."""

    sort: str
    value: object
    id: int

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, dt.datetime) else self.value
        raw = json.dumps([self.sort, value, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            cursor_sort, value, pk = loads(raw)
        except (binascii.Error, ValueError, TypeError):
            raise CursorError("That page link is damaged: showing the first page.") from None
        if cursor_sort != sort:
            raise CursorError("That page link belongs to another sort order: showing the first page.")
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise CursorError("That page link is damaged: showing the first page.")
        column = COLUMNS[sort.lstrip("-")] if sort.lstrip("-") != "id" else Column("id", "Id", "id", "number")
        if value is None:
            if not column.nullable:
                raise CursorError("That page link is damaged: showing the first page.")
        elif column.kind == "time":
            try:
                value = dt.datetime.fromisoformat(value)
            except (TypeError, ValueError):
                raise CursorError("That page link is damaged: showing the first page.") from None
            if not datetime_in_range(value):
                raise CursorError("That page link is damaged: showing the first page.")
        elif column.kind == "number":
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise CursorError("That page link is damaged: showing the first page.")
        elif not isinstance(value, str):
            raise CursorError("That page link is damaged: showing the first page.")
        return cls(sort, value, pk)


@dataclass(frozen=True)
class CatalogueQuery:
    """What the user asked for, valid values only (see ``parse``); ``errors`` says what was left out."""

    proposal: int | None = None
    session: int | None = None
    beamline: int | None = None
    sample: int | None = None
    protein: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    experiment_types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    flags: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    resolution_min: float | None = None
    resolution_max: float | None = None
    q: str = ""
    sort: str = DEFAULT_SORT
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    group: str = ""
    after: str = ""
    before: str = ""
    per_page: int = DEFAULT_PAGE_SIZE
    errors: tuple[str, ...] = field(default=(), compare=False)

    # ---- reading and writing the URL ----

    @classmethod
    def parse(cls, params) -> CatalogueQuery:
        """Read a query string's parameters; a bad value is left out with a message in ``errors``."""
        errors: list[str] = []

        def values(name: str) -> list[str]:
            got = params.getlist(name) if hasattr(params, "getlist") else params.get(name, [])
            if isinstance(got, str):
                got = [got]
            return [v.strip() for v in got if v is not None and v.strip()]

        def one(name: str) -> str:
            got = values(name)
            return got[-1] if got else ""

        def integer(name: str, label: str) -> int | None:
            text = one(name)
            if not text:
                return None
            if not text.isdigit() or len(text) > 18:
                errors.append(f"{label}: “{text[:40]}” is not a valid id; that filter was left out.")
                return None
            return int(text)

        def date(name: str, label: str) -> dt.date | None:
            text = one(name)
            if not text:
                return None
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                errors.append(f"{label}: “{text[:40]}” is not a date (YYYY-MM-DD); that filter was left out.")
                return None
            # The filter compares times from the day's midnight to the next one's: both must be storable.
            if not datetime_in_range(dt.datetime.combine(day, dt.time.min)) or day >= dt.date.max:
                errors.append(f"{label}: “{text[:40]}” is out of range; that filter was left out.")
                return None
            return day

        def number(name: str, label: str) -> float | None:
            text = one(name)
            if not text:
                return None
            try:
                value = float(text.replace(",", "."))
            except ValueError:
                value = None
            if value is None or value != value or value in (float("inf"), float("-inf")) or value < 0:
                errors.append(f"{label}: “{text[:40]}” is not a resolution in Å; that filter was left out.")
                return None
            return value

        def choices(name: str, label: str, allowed) -> tuple[str, ...]:
            chosen = []
            for value in values(name):
                if value in allowed:
                    if value not in chosen:
                        chosen.append(value)
                else:
                    errors.append(f"{label}: “{value[:40]}” is not one of {', '.join(allowed)}; it was left out.")
            return tuple(chosen)

        fields: dict = {name: integer(name, name.capitalize()) for name in SCALAR_FILTERS}
        fields["date_from"] = date("from", "From")
        fields["date_to"] = date("to", "To")
        if fields["date_from"] and fields["date_to"] and fields["date_from"] > fields["date_to"]:
            errors.append("The date range ends before it starts; the dates were left out.")
            fields["date_from"] = fields["date_to"] = None
        fields["experiment_types"] = choices("type", "Experiment type", ExperimentType.values)
        fields["statuses"] = choices("status", "Status", CollectionStatus.values)
        flags = []
        for name in choices("flag", "Flag", list(FLAG_NAMES)):
            flags.append(int(FLAG_NAMES[name]))
        fields["flags"] = tuple(flags)
        tags = []
        for value in values("tag"):
            for tag in value.split(","):
                tag = tag.strip().lower()
                if tag and tag not in tags:
                    if len(tag) > 40:
                        errors.append(f"Tag: “{tag[:40]}…” is longer than a tag can be; it was left out.")
                    else:
                        tags.append(tag)
        fields["tags"] = tuple(tags)
        fields["resolution_min"] = number("res_min", "Resolution from")
        fields["resolution_max"] = number("res_max", "Resolution to")
        low, high = fields["resolution_min"], fields["resolution_max"]
        if low is not None and high is not None and low > high:
            errors.append("The resolution range ends before it starts; it was left out.")
            fields["resolution_min"] = fields["resolution_max"] = None

        q = " ".join(one("q").split())
        if len(q) > MAX_SEARCH:
            errors.append(f"The search is longer than {MAX_SEARCH} characters; it was cut.")
            q = q[:MAX_SEARCH]
        if q and "\x00" in q:
            errors.append("The search holds a character that cannot be searched for; it was left out.")
            q = ""
        if q and len(q) < MIN_SEARCH:
            errors.append(f"Search for at least {MIN_SEARCH} characters; “{q}” was left out.")
            q = ""
        fields["q"] = q

        sort = one("sort") or DEFAULT_SORT
        if COLUMNS.get(sort.removeprefix("-")) is None or COLUMNS[sort.removeprefix("-")].sort is None:
            errors.append(f"Sort: “{sort[:40]}” is not a column that sorts; sorted by start, newest first.")
            sort = DEFAULT_SORT
        fields["sort"] = sort

        chosen = values("col")
        if chosen:
            columns = []
            for key in chosen:
                known = key in COLUMNS or (key.startswith(META_PREFIX) and META_KEY_RE.match(key[len(META_PREFIX) :]))
                if not known:
                    errors.append(f"Column: “{key[:40]}” is not a column; it was left out.")
                elif key not in columns:
                    columns.append(key)
            fields["columns"] = tuple(columns) or DEFAULT_COLUMNS
        group = one("group")
        if group and group != "sample":
            errors.append(f"Group: “{group[:40]}” is not a grouping (only “sample”); not grouped.")
            group = ""
        fields["group"] = group

        per_page = one("n")
        if per_page:
            if per_page.isdigit() and int(per_page) in PAGE_SIZES:
                fields["per_page"] = int(per_page)
            else:
                errors.append(f"Page size: “{per_page[:40]}” is not one of {', '.join(map(str, PAGE_SIZES))}.")

        for name in ("after", "before"):
            text = one(name)
            if text:
                try:
                    Cursor.decode(text, sort)
                except CursorError as exc:
                    errors.append(str(exc))
                else:
                    fields[name] = text
        if fields.get("after") and fields.get("before"):
            fields["before"] = ""
        return cls(**fields, errors=tuple(errors))

    def to_params(self) -> list[tuple[str, str]]:
        """The query as (name, value) pairs, defaults left out: ``parse(to_params())`` gives it back."""
        out: list[tuple[str, str]] = []
        for name in SCALAR_FILTERS:
            value = getattr(self, name)
            if value is not None:
                out.append((name, str(value)))
        if self.date_from:
            out.append(("from", self.date_from.isoformat()))
        if self.date_to:
            out.append(("to", self.date_to.isoformat()))
        out += [("type", v) for v in self.experiment_types]
        out += [("status", v) for v in self.statuses]
        out += [("flag", Flag(v).name.lower()) for v in self.flags]
        if self.tags:
            out.append(("tag", ",".join(self.tags)))
        if self.resolution_min is not None:
            out.append(("res_min", _number(self.resolution_min)))
        if self.resolution_max is not None:
            out.append(("res_max", _number(self.resolution_max)))
        if self.q:
            out.append(("q", self.q))
        if self.sort != DEFAULT_SORT:
            out.append(("sort", self.sort))
        if self.columns != DEFAULT_COLUMNS:
            out += [("col", c) for c in self.columns]
        if self.group:
            out.append(("group", self.group))
        if self.per_page != DEFAULT_PAGE_SIZE:
            out.append(("n", str(self.per_page)))
        if self.after:
            out.append(("after", self.after))
        if self.before:
            out.append(("before", self.before))
        return out

    def url(self, **changes) -> str:
        """The query string (with its "?") of this query changed by ``changes`` (``dataclasses.replace``)."""
        params = urlencode(replace(self, **changes).to_params() if changes else self.to_params())
        return f"?{params}" if params else "?"

    def first_page(self, **changes) -> str:
        """A link that changes the view: back to the first page (a cursor belongs to one order and filter)."""
        return self.url(after="", before="", **changes)

    def sort_url(self, key: str) -> str:
        """A column header's link: sort by it (newest/biggest first for times, else ascending), or flip it."""
        if self.sort == key:
            return self.first_page(sort=f"-{key}")
        if self.sort == f"-{key}":
            return self.first_page(sort=key)
        return self.first_page(sort=f"-{key}" if COLUMNS[key].kind == "time" else key)

    @property
    def sort_key(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def meta_columns(self) -> tuple[str, ...]:
        return tuple(c[len(META_PREFIX) :] for c in self.columns if c.startswith(META_PREFIX))

    @property
    def filtered(self) -> bool:
        return any(
            [
                *(getattr(self, name) is not None for name in SCALAR_FILTERS),
                self.date_from,
                self.date_to,
                self.experiment_types,
                self.statuses,
                self.flags,
                self.tags,
                self.resolution_min is not None,
                self.resolution_max is not None,
                self.q,
            ]
        )

    # ---- the database ----

    def filter(self, collections: QuerySet[DataCollection]) -> QuerySet[DataCollection]:
        """The filters and the search on ``collections`` (no order, no page)."""
        for name in SCALAR_FILTERS:
            value = getattr(self, name)
            if value is not None:
                collections = collections.filter(**{f"{name}_id": value})
        if self.date_from:
            collections = collections.filter(start_time__gte=_midnight(self.date_from))
        if self.date_to:
            collections = collections.filter(start_time__lt=_midnight(self.date_to + dt.timedelta(days=1)))
        if self.experiment_types:
            collections = collections.filter(experiment_type__in=self.experiment_types)
        if self.statuses:
            collections = collections.filter(status__in=self.statuses)
        if self.flags:
            # "Any of": the few masks (of 2**4) that share a bit with the chosen flags, so no bit arithmetic.
            mask = sum(self.flags)
            all_bits = sum(int(flag) for flag in Flag)
            collections = collections.filter(flags__in=[m for m in range(all_bits + 1) if m & mask])
        if self.tags:
            through = DataCollection.tags.through
            collections = collections.filter(
                id__in=through.objects.filter(tag__name__in=self.tags).values("datacollection_id")
            )
        if self.resolution_min is not None:
            collections = collections.filter(best_resolution__gte=self.resolution_min)
        if self.resolution_max is not None:
            collections = collections.filter(best_resolution__lte=self.resolution_max)
        if self.q:
            collections = collections.filter(search_text__contains=self.q.lower())
        return collections


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` in the facility's time zone, as the index on start_time can use it."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


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
