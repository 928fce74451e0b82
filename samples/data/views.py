"""Pages of the data: "Where's my data?" (the catalogue), a collection's page, and its images.

Who sees what: members their proposals' collections, facility staff all (``collection_visible_to``);
another proposal's collection is a 404. The catalogue's state is all in its URL (``samples.data.catalogue``),
so a view can be shared; a bad parameter is left out with a message beside the results (a 400), never a 500.
"""

import html
import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.safestring import mark_safe

from lims.models import Beamline
from lims.selectors import proposal_visible_to, session_visible_to
from samples.selectors import protein_visible_to, sample_visible_to
from samples.templatetags.data_words import powers_of_ten

from .actions import collection_change_log
from .catalogue import catalogue_page, meta_value
from .catalogue_query import COLUMNS, FLAG_NAMES, META_PREFIX, PAGE_SIZES, CatalogueQuery
from .choices import CollectionStatus, ExperimentType, Flag
from .links import url_maker
from .models import DataCollection, ProcessingResult, ScreeningResult
from .selectors import collection_visible_to

IMAGE_KINDS = ("thumbnail", "snapshot")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
SIBLINGS_SHOWN = 50
CHANGES_SHOWN = 200
# What the collection page lists under "Collection", as the model names them.
DETAIL_FIELDS = (
    "start_time",
    "end_time",
    "end_time_estimated",
    "directory",
    "file_template",
    "first_image",
    "number_of_images",
    "wavelength",
    "exposure_time",
    "scan_axis",
    "oscillation_start",
    "oscillation_range",
    "detector_distance",
    "resolution",
    "transmission",
    "beam_size_x",
    "beam_size_y",
    "flux",
    "detector",
    "beam_centre_x",
    "beam_centre_y",
    "best_resolution",
    "external_id",
)


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _num(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return number_format(round(value, 4 if abs(value) < 10 else 2), use_l10n=False)
    return str(int(value)) if isinstance(value, float) else str(value)


def esc(value) -> str:
    """As Django's ``escape``, without its lazy-string wrapping (a page escapes a thousand values)."""
    return html.escape(str(value))


def _link_makers() -> dict:
    return {
        "session": url_maker("beamline:session"),
        "sample": url_maker("beamline:sample"),
        "collection": url_maker("data:collection"),
        "thumbnail": url_maker("data:thumbnail"),
    }


def _row_renderer(columns: tuple[str, ...], with_box: bool):
    """``row -> its <tr>`` for the chosen columns: what each cell shows (text, a link, a CSS class), built here
    rather than by a template or an include per row (at 50 rows they were most of the page's time on a busy
    2-core server); the links by formatting from one reversed prefix (``url_maker``), the labels from dicts made
    once a page. Every value is escaped. The row's way to its page is the first cell that has text and no link
    of its own."""
    urls = _link_makers()
    collection_url, session_url, sample_url, thumbnail_url = (
        urls["collection"],
        urls["session"],
        urls["sample"],
        urls["thumbnail"],
    )
    types, statuses = dict(ExperimentType.choices), dict(CollectionStatus.choices)
    flag_labels = [(int(flag), flag.label) for flag in Flag]

    def pills(items) -> str:
        return "".join(f'<span class="pill">{esc(item)}</span>' for item in items)

    def cell(row, key: str) -> tuple[str, str, str | None, str | None]:
        """(CSS class, text, own link, the cell's HTML when not its text): text may open the row's page."""
        if key.startswith(META_PREFIX):
            value = meta_value(row, key[len(META_PREFIX) :])
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            return ("num" if numeric else ""), ("" if value is None else str(value)), None, None
        if key in ("start_time", "end_time"):
            return "nowrap", _when(getattr(row, key)), None, None
        if key == "proposal":
            return "", row.proposal.name, None, None
        if key == "beamline":
            return "", row.beamline.name, None, None
        if key == "session":
            if row.session_id:
                return "", _when(row.session.start)[:10], session_url(row.session_id), None
            return "", "", None, None
        if key == "sample":
            if row.sample_id:
                return "", row.sample.name, sample_url(row.sample_id), None
            return "", "", None, None
        if key == "protein":
            return "", (row.protein.acronym if row.protein_id else ""), None, None
        if key == "thumbnail":
            # The picture links to the collection's page; lims.js hides one whose file is gone.
            if row.thumbnail_path:
                return (
                    "thumb-cell",
                    "",
                    None,
                    (
                        f'<a href="{collection_url(row.pk)}" tabindex="-1"><img class="thumb"'
                        f' src="{thumbnail_url(row.pk)}" alt="" width="40" height="40" loading="lazy"'
                        ' decoding="async"></a>'
                    ),
                )
            return "thumb-cell", "", None, ""
        if key == "experiment_type":
            return "", types.get(row.experiment_type, row.experiment_type), None, None
        if key == "status":
            label = esc(statuses.get(row.status, row.status))
            return "", "", None, f'<span class="status status-{esc(row.status)}">{label}</span>'
        if key == "flags":
            return "", "", None, pills(label for bit, label in flag_labels if row.flags & bit)
        if key == "tags":
            names = getattr(row, "tag_names", None)
            return "", "", None, pills(names if names is not None else [tag.name for tag in row.tags.all()])
        if key in ("directory", "file_template"):
            return "mono", getattr(row, key), None, None
        if COLUMNS[key].numeric:
            return "num", _num(getattr(row, key)), None, None
        return "", str(getattr(row, key) or ""), None, None

    box = '<td><input type="checkbox" name="ids" value="{0}" aria-label="Select collection {0}"></td>'

    def render(row: DataCollection) -> str:
        out = [f'<tr data-id="{row.pk}">', box.format(row.pk) if with_box else ""]
        opened = False
        for key in columns:
            cls, text, url, html = cell(row, key)
            if html is None:
                if url is not None:
                    html = f'<a href="{url}">{esc(text)}</a>'
                elif text and not opened:
                    html, opened = f'<a href="{collection_url(row.pk)}" class="open">{esc(text)}</a>', True
                else:
                    html = esc(text)
            out.append(f'<td class="{cls}">{html}</td>')
        out.append("</tr>")
        return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)

    return render


def _options(choices, selected) -> str:
    """A select's options after "Any": (value, label) pairs, the selected one marked; escaped."""
    return mark_safe(  # noqa: S308 (escaped)
        "".join(
            f'<option value="{esc(value)}"{" selected" if value == selected else ""}>{esc(label)}</option>'
            for value, label in choices
        )
    )


META_NOTE = ' <span class="muted">(metadata)</span>'


def _checks(name: str, items) -> str:
    """Checkboxes named ``name``: (value, label, checked, meta) for each; escaped. A metadata column says so."""
    return mark_safe(  # noqa: S308 (escaped)
        "".join(
            f'<label class="check{" meta" if meta else ""}"><input type="checkbox" name="{name}"'
            f' value="{esc(value)}"{" checked" if checked else ""}> {esc(label)}{META_NOTE if meta else ""}</label>'
            for value, label, checked, meta in items
        )
    )


def _headers(query: CatalogueQuery) -> list[dict]:
    headers = []
    for key in query.columns:
        if key.startswith(META_PREFIX):
            headers.append({"key": key, "label": key[len(META_PREFIX) :], "url": None, "meta": True})
            continue
        column = COLUMNS[key]
        header = {"key": key, "label": column.label, "url": None, "numeric": column.numeric}
        if column.sort is not None:
            header["url"] = query.sort_url(key)
            if query.sort_key == key:
                header["sorted"] = "descending" if query.descending else "ascending"
        headers.append(header)
    return headers


def _chips(user, query: CatalogueQuery) -> list[dict]:
    """The filters that have no field of their own in the form (session, sample, protein: set from a link),
    named, each with the link that drops it. One query per filter that is set."""
    chips = []
    for name, selector, describe in (
        ("session", session_visible_to, lambda s: f"Session {s.proposal} on {s.beamline} {_when(s.start)[:10]}"),
        ("sample", sample_visible_to, lambda s: f"Sample {s.name}"),
        ("protein", protein_visible_to, lambda p: f"Protein {p.acronym} ({p.proposal})"),
    ):
        pk = getattr(query, name)
        if pk is None:
            continue
        found = selector(user).filter(pk=pk).first()
        label = describe(found) if found else f"{name.capitalize()} #{pk} (not yours or gone)"
        chips.append({"name": name, "value": pk, "label": label, "drop": query.first_page(**{name: None})})
    return chips


@login_required
def catalogue(request):
    """Where's my data: every collection the user may see, filtered, searched, sorted, a page at a time."""
    query = CatalogueQuery.parse(request.GET)
    page = catalogue_page(request.user, query)
    chooser = [(key, c.label, key in query.columns, False) for key, c in COLUMNS.items()]
    chooser += [(f"{META_PREFIX}{k}", k, f"{META_PREFIX}{k}" in query.columns, True) for k in page.meta_keys]
    bulk_url = reverse("data:bulk")
    render_row = _row_renderer(query.columns, bool(bulk_url))
    rows = [{"row": row, "html": render_row(row)} for row in page.rows]
    by_id = {r["row"].pk: r for r in rows}
    groups = [
        {"sample": g["sample"], "count": g["count"], "rows": [by_id[row.pk] for row in g["rows"]]} for g in page.groups
    ]
    catalogue_url = reverse("data:catalogue")
    types, statuses = ExperimentType.choices, CollectionStatus.choices
    chosen_flags = [Flag(v).name.lower() for v in query.flags]
    proposals = proposal_visible_to(request.user).order_by("code", "number").values_list("pk", "code", "number")
    context = {
        "query": query,
        "page": page,
        "rows": rows,
        "groups": groups,
        "headers": _headers(query),
        "chooser": _checks("col", chooser),
        "chips": _chips(request.user, query),
        "proposal_options": _options(((pk, f"{code}{number}") for pk, code, number in proposals), query.proposal),
        "beamline_options": _options(Beamline.objects.order_by("name").values_list("pk", "name"), query.beamline),
        "type_checks": _checks("type", ((v, label, v in query.experiment_types, False) for v, label in types)),
        "status_checks": _checks("status", ((v, label, v in query.statuses, False) for v, label in statuses)),
        "flag_checks": _checks("flag", ((n, Flag[n.upper()].label, n in chosen_flags, False) for n in FLAG_NAMES)),
        "flag_values": Flag.choices,
        "page_sizes": PAGE_SIZES,
        "share_url": request.build_absolute_uri(catalogue_url + query.url()),
        "bulk_url": bulk_url,
        "here": request.get_full_path(),
        "group_url": query.first_page(group="" if query.group else "sample"),
        "reset_url": catalogue_url,
    }
    return render(request, "samples/data/catalogue.html", context, status=400 if query.errors else 200)


def _described(collection: DataCollection) -> list[tuple[str, object]]:
    rows = []
    for name in DETAIL_FIELDS:
        field = DataCollection._meta.get_field(name)
        value = getattr(collection, name)
        if name in ("start_time", "end_time"):
            value = _when(value) or None
        elif name == "flux" and value is not None:
            value = powers_of_ten(value)  # 3.2 × 10¹², as people read a flux
        elif isinstance(value, float):
            value = _num(value)
        rows.append((field.verbose_name[:1].upper() + field.verbose_name[1:], None if value in ("", None) else value))
    return rows


def data_file(path: str) -> Path | None:
    """The file ``path`` names under ``settings.DATA_ROOT`` (relative to it, or absolute inside it), if it is
    there; None for anything that resolves outside the data root (``..``, symbolic links out) or is missing."""
    if not path or "\x00" in path:
        return None
    root = Path(settings.DATA_ROOT).resolve()
    try:
        candidate = (root / path).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _image(collection: DataCollection, kind: str) -> Path | None:
    found = data_file(getattr(collection, f"{kind}_path"))
    return found if found is not None and found.suffix.lower() in IMAGE_SUFFIXES else None


@login_required
def collection_detail(request, pk: int):
    """A collection: where and how it was collected, its images, its screening and processing results, its
    group's other collections, and the change log (newest first)."""
    collection = get_object_or_404(
        collection_visible_to(request.user).select_related(
            "group", "proposal", "beamline", "session", "sample__container", "protein"
        ),
        pk=pk,
    )
    screenings = ScreeningResult.objects.filter(data_collection=collection).prefetch_related("strategies")
    processings = ProcessingResult.objects.filter(data_collection=collection).prefetch_related("shells")
    siblings = (
        collection_visible_to(request.user)
        .filter(group_id=collection.group_id)
        .exclude(pk=collection.pk)
        .only("id", "start_time", "status", "file_template", "number_of_images", "best_resolution")
        .order_by("start_time", "id")
    )
    # One change log for the page and the actions' tests: samples.data.actions owns what an entry is.
    changes = collection_change_log(collection).order_by("-at", "-id")
    metadata = collection.metadata if isinstance(collection.metadata, dict) else {}
    return render(
        request,
        "samples/data/collection_detail.html",
        {
            "collection": collection,
            "facts": _described(collection),
            "metadata": sorted((str(k), meta_value(collection, k)) for k in metadata),
            "tags": list(collection.tags.all()),
            "screenings": list(screenings),
            "processings": list(processings),
            "siblings": list(siblings[:SIBLINGS_SHOWN]),
            "change_log": list(changes[:CHANGES_SHOWN]),
            "images": [kind for kind in IMAGE_KINDS if _image(collection, kind)],
            "bulk_url": reverse("data:bulk"),
            "comment_url": reverse("data:comment", args=[collection.pk]),
            "flag_values": Flag.choices,
            "here": request.get_full_path(),
            "catalogue_url": reverse("data:catalogue"),
        },
    )


@login_required
def collection_image(request, pk: int, kind: str):
    """A collection's thumbnail or snapshot, streamed from under the data root (nothing outside it)."""
    if kind not in IMAGE_KINDS:
        raise Http404
    collection = get_object_or_404(collection_visible_to(request.user).only("id", f"{kind}_path"), pk=pk)
    path = _image(collection, kind)
    if path is None:
        raise Http404
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response
