"""Pages of the data: "Where's my data?" (the catalogue), a collection's page, and its images.

Who sees what: members their proposals' collections, facility staff all (``collection_visible_to``);
another proposal's collection is a 404. The catalogue's state is all in its URL (``samples.data.catalogue``),
so a view can be shared; a bad parameter is left out with a message beside the results (a 400), never a 500.
"""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import escape
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


def _cells(row: DataCollection, columns: tuple[str, ...], urls=None) -> list[dict]:
    """What each chosen column shows for ``row``: text, an optional link, a CSS class. ``urls``: the link makers
    of ``_link_makers()`` (made once for the page)."""
    urls = urls or _link_makers()
    cells = []
    for key in columns:
        cell = {"key": key, "text": "", "url": None, "cls": ""}
        if key.startswith(META_PREFIX):
            value = meta_value(row, key[len(META_PREFIX) :])
            cell["text"] = "" if value is None else str(value)
            cell["cls"] = "num" if isinstance(value, int | float) and not isinstance(value, bool) else ""
        elif key in ("start_time", "end_time"):
            cell["text"] = _when(getattr(row, key))
            cell["cls"] = "nowrap"
        elif key == "proposal":
            cell["text"] = row.proposal.name
        elif key == "beamline":
            cell["text"] = row.beamline.name
        elif key == "session":
            if row.session_id:
                cell["text"] = _when(row.session.start)[:10]
                cell["url"] = urls["session"](row.session_id)
        elif key == "sample":
            if row.sample_id:
                cell["text"] = row.sample.name
                cell["url"] = urls["sample"](row.sample_id)
        elif key == "protein":
            cell["text"] = row.protein.acronym if row.protein_id else ""
        elif key == "thumbnail":
            # The picture links to the collection's page; lims.js hides one whose file is gone.
            if row.thumbnail_path:
                cell["image"] = urls["thumbnail"](row.pk)
                cell["url"] = urls["collection"](row.pk)
            cell["cls"] = "thumb-cell"
        elif key == "experiment_type":
            cell["text"] = row.get_experiment_type_display()
        elif key == "status":
            cell["text"] = row.get_status_display()
            cell["status"] = row.status
        elif key == "flags":
            cell["list"] = row.flag_names
        elif key == "tags":
            names = getattr(row, "tag_names", None)
            cell["list"] = names if names is not None else [tag.name for tag in row.tags.all()]
        elif key in ("directory", "file_template"):
            cell["text"] = getattr(row, key)
            cell["cls"] = "mono"
        elif COLUMNS[key].numeric:
            cell["text"] = _num(getattr(row, key))
            cell["cls"] = "num"
        else:
            cell["text"] = str(getattr(row, key) or "")
        cells.append(cell)
    # The row's way to its page: the first cell that has text and no link of its own.
    for cell in cells:
        if cell["url"] is None and cell["text"] and not cell.get("list") and not cell.get("status"):
            cell["url"] = urls["collection"](row.pk)
            cell["opens"] = True
            break
    return cells


def _link_makers() -> dict:
    return {
        "session": url_maker("beamline:session"),
        "sample": url_maker("beamline:sample"),
        "collection": url_maker("data:collection"),
        "thumbnail": url_maker("data:thumbnail"),
    }


def _row_html(row: DataCollection, cells: list[dict], with_box: bool) -> str:
    """One table row. Built here rather than by a template include per row: at 50 rows the include was most
    of the page's time on a busy 2-core server. Every value is escaped."""
    out = [f'<tr data-id="{row.pk}">']
    if with_box:
        out.append(
            f'<td><input type="checkbox" name="ids" value="{row.pk}" aria-label="Select collection {row.pk}"></td>'
        )
    for c in cells:
        if c.get("image"):
            inner = (
                f'<a href="{escape(c["url"])}" tabindex="-1"><img class="thumb" src="{escape(c["image"])}" '
                f'alt="" width="40" height="40" loading="lazy" decoding="async"></a>'
            )
        elif c.get("status"):
            inner = f'<span class="status status-{escape(c["status"])}">{escape(c["text"])}</span>'
        elif c.get("list"):
            inner = "".join(f'<span class="pill">{escape(item)}</span>' for item in c["list"])
        elif c["url"]:
            opens = ' class="open"' if c.get("opens") else ""
            inner = f'<a href="{escape(c["url"])}"{opens}>{escape(c["text"])}</a>'
        else:
            inner = escape(c["text"])
        out.append(f'<td class="{c["cls"]}">{inner}</td>')
    out.append("</tr>")
    return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)


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
    chooser = [{"key": key, "label": c.label, "checked": key in query.columns} for key, c in COLUMNS.items()]
    chooser += [
        {"key": f"{META_PREFIX}{k}", "label": k, "checked": f"{META_PREFIX}{k}" in query.columns, "meta": True}
        for k in page.meta_keys
    ]
    bulk_url = reverse("data:bulk")
    urls = _link_makers()
    rows = [{"row": row, "html": _row_html(row, _cells(row, query.columns, urls), bool(bulk_url))} for row in page.rows]
    by_id = {r["row"].pk: r for r in rows}
    groups = [
        {"sample": g["sample"], "count": g["count"], "rows": [by_id[row.pk] for row in g["rows"]]} for g in page.groups
    ]
    share = request.build_absolute_uri(reverse("data:catalogue") + query.url())
    context = {
        "query": query,
        "page": page,
        "rows": rows,
        "groups": groups,
        "headers": _headers(query),
        "chooser": chooser,
        "chips": _chips(request.user, query),
        "proposals": proposal_visible_to(request.user).order_by("code", "number"),
        "beamlines": Beamline.objects.order_by("name"),
        "experiment_types": ExperimentType.choices,
        "statuses": CollectionStatus.choices,
        "flags": [(name, Flag[name.upper()].label) for name in FLAG_NAMES],
        "chosen_flags": [Flag(v).name.lower() for v in query.flags],
        "flag_values": Flag.choices,
        "page_sizes": PAGE_SIZES,
        "share_url": share,
        "bulk_url": bulk_url,
        "here": request.get_full_path(),
        "group_url": query.first_page(group="" if query.group else "sample"),
        "reset_url": reverse("data:catalogue"),
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
