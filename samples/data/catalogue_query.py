"""The "Where's my data?" catalogue's state, as its URL holds it: filters, sort, columns, page size, cursor.

``CatalogueQuery.parse(params)`` reads a query string (a ``QueryDict`` or a plain mapping), keeps what is valid
and says what is not (a message per bad parameter, never an exception), and ``CatalogueQuery.to_params()``
writes it back, so a view is a shareable URL. Running it is ``samples.data.catalogue``'s.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.db.models.functions import Concat
from django.utils import timezone

from lims.api.parsers import loads
from lims.validators import datetime_in_range

from .choices import CollectionStatus, ExperimentType, Flag
from .models import DataCollection

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
