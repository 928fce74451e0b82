"""The "Where's my data?" catalogue, a collection's page and the sample page's collections.

Personas: Alice (member of mx2345), Charlie (member of another proposal, "should have no access to Alice's
stuff"), beamline staff (sees every proposal), anonymous. Collections are made here directly with the ORM, as
ingest writes them (denormalised from their group and sample), so these tests do not depend on ingest.
"""

import datetime as dt
import itertools
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lims.choices import AuditAction
from lims.models import AuditEntry
from samples.data import catalogue, catalogue_query
from samples.data.catalogue import catalogue_page
from samples.data.catalogue_query import CatalogueQuery, Cursor
from samples.data.choices import CollectionStatus, ExperimentType, Flag, Shell
from samples.data.models import (
    DataCollection,
    ProcessingResult,
    ProcessingShell,
    ScreeningResult,
    ScreeningStrategy,
)
from samples.models import Sample
from tests import factories as f
from tests.queries import count_queries

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)
T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def ids(page) -> list[int]:
    return [row.pk for row in page.rows]


def run(user, **params) -> catalogue.Page:
    query = CatalogueQuery.parse(_qd(params))
    assert not query.errors, query.errors
    return catalogue_page(user, query)


def _qd(params: dict) -> QueryDict:
    qd = QueryDict(mutable=True)
    for key, value in params.items():
        qd.setlist(key, value if isinstance(value, list) else [str(value)])
    return qd


@pytest.fixture
def mx3(db):
    return f.BeamlineFactory(name="MX-3")


@pytest.fixture
def mx4(db):
    return f.BeamlineFactory(name="MX-4")


@pytest.fixture
def alice_samples(proposal, member):
    shipment = f.shipment_tree(proposal=proposal, user=member, samples=3, name="Alice-1")
    return list(Sample.objects.filter(container__shipment=shipment).order_by("position"))


@pytest.fixture
def world(proposal, member, other_proposal, outsider, mx3, mx4, alice_samples):
    """Alice's six collections on two samples and two beamlines, Charlie's two."""
    s1, s2, _ = alice_samples
    session = f.SessionFactory(proposal=proposal, beamline=mx3, start=T0 - dt.timedelta(days=2))
    g1 = f.collection_group(proposal=proposal, beamline=mx3, sample=s1, session=session)
    g2 = f.collection_group(proposal=proposal, beamline=mx4, sample=s2, experiment_type=ExperimentType.SCREENING)
    c = {}
    c["a"] = f.collection(g1, best_resolution=1.5, flags=Flag.BAD, tags=["best"], metadata={"ligand": "ATP"})
    c["b"] = f.collection(g1, best_resolution=2.5, status=CollectionStatus.FAILED, number_of_images=3600)
    c["c"] = f.collection(g1, best_resolution=None, flags=Flag.ALIGNMENT | Flag.CALIBRATION, metadata={"dose": 2})
    c["d"] = f.collection(g2, best_resolution=3.1, tags=["best", "soak"], start_time=T0 - dt.timedelta(days=40))
    c["e"] = f.collection(g2, best_resolution=1.9, status=CollectionStatus.ABORTED, directory="/data/Lyso/run")
    c["f"] = f.collection(g2, best_resolution=2.0, flags=Flag.MEASUREMENT, file_template="Thaumatin_1_master.h5")
    other_sample = f.SampleFactory(
        container__dewar__shipment__proposal=other_proposal, name="charlies-xtal", protein__acronym="SECRET"
    )
    og = f.collection_group(proposal=other_proposal, beamline=mx3, sample=other_sample)
    c["x"] = f.collection(og, best_resolution=1.2)
    c["y"] = f.collection(og, best_resolution=1.3)
    return c


# ---- filters ----


def test_a_member_sees_only_her_proposals_collections(world, member, outsider, beamline_staff):
    assert set(ids(run(member))) == {world[k].pk for k in "abcdef"}
    assert set(ids(run(outsider))) == {world["x"].pk, world["y"].pk}
    assert len(ids(run(beamline_staff))) == 8
    assert run(member).count == 6


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"beamline": "MX-4"}, "def"),
        ({"experiment_type": "screening"}, "def"),
        ({"status": ["failed", "aborted"]}, "be"),
        ({"flag": ["bad", "alignment"]}, "ac"),
        ({"flag": "calibration"}, "c"),
        ({"tag": "soak"}, "d"),
        ({"tag": "best"}, "ad"),
        ({"tag": "soak,nothing"}, "d"),
        ({"res_min": "1.9", "res_max": "2.5"}, "bef"),
        ({"res_max": "2"}, "aef"),
        ({"from": "2024-01-01", "to": "2024-01-31"}, "d"),
        ({"from": "2024-02-01"}, "abcef"),
    ],
)
def test_each_filter(world, member, mx4, params, expected):
    params = dict(params)
    if params.get("beamline") == "MX-4":
        params["beamline"] = mx4.pk
    if "experiment_type" in params:
        params["type"] = params.pop("experiment_type")
    assert set(ids(run(member, **params))) == {world[k].pk for k in expected}


def test_filters_by_proposal_session_sample_and_protein(world, member, proposal, other_proposal, alice_samples):
    assert set(ids(run(member, proposal=proposal.pk))) == {world[k].pk for k in "abcdef"}
    # Another proposal's id filters to nothing: scoping comes first.
    assert ids(run(member, proposal=other_proposal.pk)) == []
    assert set(ids(run(member, session=world["a"].session_id))) == {world[k].pk for k in "abc"}
    assert set(ids(run(member, sample=alice_samples[1].pk))) == {world[k].pk for k in "def"}
    assert set(ids(run(member, protein=alice_samples[0].protein_id))) == {world[k].pk for k in "abcdef"}


def test_the_date_range_is_whole_days_in_the_facility_time_zone(member, proposal, mx3):
    group = f.collection_group(proposal=proposal, beamline=mx3)
    tz = timezone.get_current_timezone()
    late = f.collection(group, start_time=dt.datetime(2024, 5, 1, 23, 59, tzinfo=tz))
    early = f.collection(group, start_time=dt.datetime(2024, 5, 2, 0, 0, tzinfo=tz))
    assert ids(run(member, **{"from": "2024-05-01", "to": "2024-05-01"})) == [late.pk]
    assert ids(run(member, **{"from": "2024-05-02", "to": "2024-05-02"})) == [early.pk]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Alice-1-0-0-0", "abc"),  # a sample's name, any case
        ("lys", "abcdef"),  # the protein's acronym (LYS); "Lyso" in e's directory too
        ("/data/lyso", "e"),  # a directory
        ("thaumatin_1", "f"),  # a file template
        ("secret", ""),  # another proposal's protein: not found
    ],
)
def test_search_finds_a_substring_of_names_directories_and_files(world, member, q, expected):
    assert set(ids(run(member, q=q))) == {world[k].pk for k in expected}


def test_staff_search_the_whole_catalogue(world, beamline_staff):
    assert set(ids(run(beamline_staff, q="charlies"))) == {world["x"].pk, world["y"].pk}


# ---- sort and pages ----


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-start_time", "abcefd"),
        ("start_time", "dfecba"),
        ("best_resolution", "aefbdc"),  # empty last going up
        ("-best_resolution", "cdbfea"),  # empty first going down
        ("number_of_images", None),
        ("-status", None),
        ("sample", None),
        ("-proposal", None),
    ],
)
def test_sort_by_a_column_both_ways(world, member, sort, expected):
    rows = run(member, sort=sort).rows
    if expected is not None:
        assert [r.pk for r in rows] == [world[k].pk for k in expected]
    key = sort.lstrip("-")
    values = {
        "number_of_images": lambda r: r.number_of_images,
        "status": lambda r: r.status,
        "sample": lambda r: r.sample.name,
        "proposal": lambda r: r.proposal.name,
        "start_time": lambda r: r.start_time,
        "best_resolution": lambda r: (r.best_resolution is None, r.best_resolution or 0),
    }[key]
    got = [values(r) for r in rows]
    assert got == sorted(got, reverse=sort.startswith("-")) or key == "best_resolution"


@pytest.mark.parametrize("sort", ["-start_time", "start_time", "best_resolution", "-best_resolution", "sample"])
@pytest.mark.parametrize("path", ["candidates", "index", "probe", "dense", "full"])
def test_keyset_pages_cover_every_row_once_forwards_and_back(
    member, proposal, mx3, alice_samples, sort, path, monkeypatch
):
    """The same pages whichever way PostgreSQL finds them: the top of the candidates (no more than the bound),
    down the sort's index (more), a search's look down the index (its count through the trigrams, or down the
    newest for a term in most rows: "dense"), and a search's top of every match."""
    groups = [f.collection_group(proposal=proposal, beamline=mx3, sample=s) for s in alice_samples] + [
        f.collection_group(proposal=proposal, beamline=mx3)
    ]
    same_time = T0 - dt.timedelta(days=1)
    for i in range(57):
        # Ties in the sort value (same start, same resolution) and empty values: the id breaks them.
        f.collection(
            groups[i % 4],
            start_time=same_time if i % 5 == 0 else T0 - dt.timedelta(minutes=i),
            best_resolution=None if i % 7 == 0 else round(1 + (i % 6) * 0.5, 1),
        )
    everything = ids(run(member, sort=sort, n=200))
    assert len(everything) == 57
    if path != "candidates":
        monkeypatch.setattr(catalogue, "COUNT_BOUND", 5)
    if path == "full":
        monkeypatch.setattr(catalogue, "PROBE_ROWS", 3)
    if path == "dense":
        monkeypatch.setattr(catalogue, "PROBE_ROWS", 40)  # the term is in all 40: counted down the newest

    seen, pages, params = [], [], {"sort": sort, "n": 25}
    if path in ("probe", "dense", "full"):
        params["q"] = "visitor"  # every directory
    while True:
        page = run(member, **params)
        pages.append(page)
        seen += ids(page)
        if not page.next_url:
            break
        params = dict(QueryDict(page.next_url[1:]).lists())
    assert seen == everything
    assert [len(p.rows) for p in pages] == [25, 25, 7]
    assert all(p.count == (57 if path == "candidates" else 5) for p in pages)

    # "Previous" from the last page walks back through the same pages.
    back = pages[-1]
    for expected in reversed(pages[:-1]):
        back = run(member, **dict(QueryDict(back.previous_url[1:]).lists()))
        assert ids(back) == ids(expected)
    assert back.previous_url == ""


@pytest.mark.parametrize("probe_rows", [3, 40, 10_000])
def test_a_search_counts_exactly_up_to_the_bound_whichever_way(member, proposal, mx3, probe_rows, monkeypatch):
    """Every match through the trigrams (the look down the index did not fill the page), or the page from that
    look and the count through the trigrams, after a look down the newest for a term in most rows (40)."""
    group = f.collection_group(proposal=proposal, beamline=mx3)
    for i in range(57):
        f.collection(group, start_time=T0 - dt.timedelta(minutes=i))
    monkeypatch.setattr(catalogue, "PROBE_ROWS", probe_rows)
    monkeypatch.setattr(catalogue, "COUNT_BOUND", 100)
    page = run(member, q="visitor", n=25)
    assert (page.count, page.count_bounded, len(page.rows)) == (57, False, 25)
    monkeypatch.setattr(catalogue, "COUNT_BOUND", 56)
    page = run(member, q="visitor", n=25)
    assert (page.count, page.count_bounded, len(page.rows)) == (56, True, 25)


def test_the_count_is_exact_up_to_the_bound_then_bound_plus(world, member, monkeypatch):
    monkeypatch.setattr(catalogue, "COUNT_BOUND", 5)
    page = run(member)
    assert (page.count, page.count_bounded, page.count_label) == (5, True, "5+")
    page = run(member, beamline=world["d"].beamline_id)
    assert (page.count, page.count_bounded, page.count_label) == (3, False, "3")


def test_the_page_says_10000_plus(world, member, monkeypatch):
    monkeypatch.setattr(catalogue, "COUNT_BOUND", 2)
    response = client_for(member).get("/data/")
    assert "2+ collections" in response.content.decode()


def test_grouping_by_sample_groups_the_page(world, member, alice_samples):
    page = run(member, group="sample", sort="-best_resolution")
    assert [(g["sample"], g["count"]) for g in page.groups] == [(alice_samples[0], 3), (alice_samples[1], 3)]
    assert [r.pk for g in page.groups for r in g["rows"]] == [world[k].pk for k in "cbadfe"]
    html = client_for(member).get("/data/?group=sample").content.decode()
    assert "3 on this page" in html


# ---- columns and the URL ----


def test_the_column_chooser_offers_the_pages_metadata_keys(world, member):
    page = run(member)
    assert page.meta_keys == ["dose", "ligand"]
    html = client_for(member).get("/data/?col=start_time&col=meta.ligand&col=sample").content.decode()
    assert 'value="meta.ligand" checked' in html
    assert 'value="meta.dose"' in html
    assert ">ATP<" in html
    # Chosen columns only: the table has three columns.
    assert html.count('data-column="') == 2  # start and sample sort; a metadata column does not


def test_the_url_gives_the_same_query_back():
    params = (
        "proposal=3&session=4&beamline=5&sample=6&protein=7&from=2024-01-01&to=2024-02-01&type=osc&type=sad"
        "&status=failed&flag=bad&flag=alignment&tag=best,soak&res_min=1.5&res_max=3&q=lyso&sort=-best_resolution"
        "&col=start_time&col=meta.ligand&group=sample&n=100"
    )
    query = CatalogueQuery.parse(QueryDict(params))
    assert not query.errors
    assert CatalogueQuery.parse(QueryDict(query.url()[1:])) == query
    assert query.flags == (Flag.BAD, Flag.ALIGNMENT)
    assert query.columns == ("start_time", "meta.ligand")
    assert CatalogueQuery.parse(QueryDict("")).url() == "?"


def test_a_cursor_round_trips_and_belongs_to_its_sort():
    cursor = Cursor("-start_time", T0, 42)
    assert Cursor.decode(cursor.encode(), "-start_time") == cursor
    with pytest.raises(catalogue_query.CursorError):
        Cursor.decode(cursor.encode(), "best_resolution")


@pytest.mark.parametrize(
    "params",
    [
        "proposal=abc",
        "session=-1",
        "from=2024-13-01",
        "from=2024-02-01&to=2024-01-01",
        "type=nonsense",
        "status=done",
        "flag=9",
        "res_min=x",
        "res_min=3&res_max=1",
        "res_max=nan",
        "sort=password",
        "sort=-tags",
        "col=secret_field",
        "col=meta.%22;drop",
        "group=protein",
        "n=100000",
        "after=!!!not-a-cursor",
        "after=WzEsMiwzXQ",
        "q=a",
        "q=" + "x" * 300,
        "q=%00abc",
        "tag=" + "t" * 50,
    ],
)
def test_bad_parameters_give_a_message_never_a_500(world, member, params):
    query = CatalogueQuery.parse(QueryDict(params))
    assert query.errors
    response = client_for(member).get("/data/?" + params)
    assert response.status_code == 400
    assert "could not be used" in response.content.decode()


def test_a_cursor_of_another_sort_shows_the_first_page(world, member):
    page = run(member, n=25)
    cursor = Cursor("-start_time", world["c"].start_time, world["c"].pk).encode()
    response = client_for(member).get(f"/data/?sort=best_resolution&after={cursor}")
    assert response.status_code == 400
    assert "another sort order" in response.content.decode()
    assert page.rows


# ---- the page ----


def test_the_catalogue_page_shows_filters_rows_and_links(world, member, alice_samples):
    response = client_for(member).get("/data/?sort=start_time")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Where's my data?" in html
    assert "6 collections" in html
    assert reverse("data:collection", args=[world["a"].pk]) in html
    assert reverse("beamline:sample", args=[alice_samples[0].pk]) in html
    assert "charlies-xtal" not in html
    assert 'aria-sort="ascending"' in html
    # The header flips the order (newest first is the default, so the link has no sort).
    assert 'href="?" class="sort sorted-ascending" data-column="start_time"' in html
    assert "http://testserver/data/?sort=start_time" in html  # the link to share


def test_filter_chips_name_the_sample_and_drop_it(world, member, alice_samples, other_proposal):
    html = client_for(member).get(f"/data/?sample={alice_samples[0].pk}").content.decode()
    assert f"Sample {alice_samples[0].name}" in html
    assert "3 collections" in html


def test_the_bulk_bar_is_there_when_the_actions_are(world, member):
    html = client_for(member).get("/data/").content.decode()
    try:
        bulk = reverse("data:bulk")
    except Exception:  # noqa: BLE001 (the actions module not mounted yet)
        assert 'name="ids"' not in html
    else:
        assert f'action="{bulk}"' in html
        assert html.count('name="ids"') == 6


def test_anonymous_is_sent_to_sign_in(world):
    for url in ("/data/", f"/data/{world['a'].pk}/", f"/data/{world['a'].pk}/thumbnail/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def _queries(client, url) -> int:
    with count_queries() as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def test_the_catalogue_query_count_does_not_grow_with_the_page(member, proposal, mx3, alice_samples):
    groups = [f.collection_group(proposal=proposal, beamline=mx3, sample=s) for s in alice_samples]
    for i in range(60):
        f.collection(groups[i % 3], tags=["t1", "t2"] if i % 2 else [], metadata={"k": i})
    client = client_for(member)
    cols = "&col=start_time&col=sample&col=protein&col=session&col=tags&col=meta.k&group=sample"
    small = _queries(client, "/data/?n=25" + cols)
    big = _queries(client, "/data/?n=100" + cols)
    # session, user, roles, proposals for the form, beamlines, count (on PostgreSQL: the candidates with the
    # count), page with the names of the relations shown (sample, protein, session) joined, and the tags of the
    # page (+ the bulk actions' own nothing): the same for 25 rows and 60.
    assert small == big
    assert big <= 11
    assert big <= 8  # the relations shown were a query each
    # A search: the look down the index, then every match or the count (on SQLite: the count), then as above.
    assert _queries(client, "/data/?n=25&q=visitor" + cols) == _queries(client, "/data/?n=100&q=visitor" + cols)
    assert _queries(client, "/data/?n=100&q=visitor" + cols) <= 9


def test_the_sample_page_query_count_does_not_grow_with_its_collections(member, proposal, mx3, alice_samples):
    sample = alice_samples[0]
    group = f.collection_group(proposal=proposal, beamline=mx3, sample=sample)
    client = client_for(member)
    url = reverse("beamline:sample", args=[sample.pk])

    def add(n):
        for _ in range(n):
            c = f.collection(group)
            s = ScreeningResult.objects.create(data_collection=c, program="EDNA", indexing_success=True)
            ScreeningStrategy.objects.create(screening=s, phi_start=0, phi_end=90)
            p = ProcessingResult.objects.create(data_collection=c, program="autoPROC")
            ProcessingShell.objects.create(processing=p, shell=Shell.OVERALL, resolution_high=1.8)

    add(1)
    one = _queries(client, url)
    add(9)
    assert _queries(client, url) == one


# ---- a collection's page ----


@pytest.fixture
def detailed(world, member, settings, tmp_path):
    """Collection a with a screening (two strategy rows), two processings, a thumbnail, change-log entries."""
    settings.DATA_ROOT = tmp_path / "data"
    (tmp_path / "data" / "visitor").mkdir(parents=True)
    (tmp_path / "data" / "visitor" / "thumb.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG outside")
    c = world["a"]
    c.thumbnail_path = "visitor/thumb.png"
    c.snapshot_path = str(tmp_path / "secret.png")  # outside the data root: refused
    c.save(update_fields=["thumbnail_path", "snapshot_path"])
    s = ScreeningResult.objects.create(
        data_collection=c, program="EDNA", indexing_success=True, space_group="P43212", estimated_resolution=1.7
    )
    ScreeningStrategy.objects.create(screening=s, phi_start=0, phi_end=90, oscillation=0.1, completeness=99.5)
    ScreeningStrategy.objects.create(screening=s, phi_start=90, phi_end=180, oscillation=0.1, completeness=99.7)
    for program, high in (("autoPROC", 1.45), ("xia2-dials", 1.6)):
        p = ProcessingResult.objects.create(data_collection=c, program=program, space_group="P43212")
        ProcessingShell.objects.create(processing=p, shell=Shell.OVERALL, resolution_high=high, cc_half=0.998)
        ProcessingShell.objects.create(processing=p, shell=Shell.OUTER, resolution_high=high, cc_half=0.61)
    ct = ContentType.objects.get_for_model(DataCollection)
    for i, message in enumerate(["Flagged bad", "Tagged best"]):
        entry = AuditEntry.objects.create(
            user=member,
            action=AuditAction.UPDATE,
            content_type=ct,
            object_id=str(c.pk),
            object_repr=str(c),
            message=message,
            changes={"flags": [0, 8]} if i == 0 else {"tags": [[], ["best"]]},
        )
        AuditEntry.objects.filter(pk=entry.pk).update(at=T0 + dt.timedelta(hours=i))
    return c


def test_the_collection_page_shows_everything(detailed, world, member):
    response = client_for(member).get(f"/data/{detailed.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in (detailed.file_template, detailed.directory, "MX-3", "Alice-1-0-0", "ligand", "ATP", "Bad", "best"):
        assert text in html, text
    assert reverse("beamline:sample", args=[detailed.sample_id]) in html
    assert "EDNA" in html and "P43212" in html and "99.7" in html  # screening and its strategy rows
    assert "autoPROC" in html and "xia2-dials" in html and "0.61" in html  # processings and shells
    # The group's other collections.
    assert reverse("data:collection", args=[world["b"].pk]) in html
    assert reverse("data:collection", args=[world["d"].pk]) not in html
    # The change log, newest first.
    assert html.index("Tagged best") < html.index("Flagged bad")
    assert reverse("data:thumbnail", args=[detailed.pk]) in html
    assert reverse("data:snapshot", args=[detailed.pk]) not in html


def test_the_thumbnail_is_streamed_from_the_data_root_only(detailed, member, settings):
    client = client_for(member)
    response = client.get(f"/data/{detailed.pk}/thumbnail/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).endswith(b"fake")
    assert client.get(f"/data/{detailed.pk}/snapshot/").status_code == 404
    for path in ("../secret.png", "visitor/../../secret.png", "/etc/passwd", "visitor/missing.png"):
        DataCollection.objects.filter(pk=detailed.pk).update(thumbnail_path=path)
        assert client.get(f"/data/{detailed.pk}/thumbnail/").status_code == 404, path


def test_no_thumbnail_is_said(world, member):
    html = client_for(member).get(f"/data/{world['b'].pk}/").content.decode()
    assert "No thumbnail." in html
    assert "No screening result." in html


def test_another_proposals_collection_is_a_404(world, member, outsider, beamline_staff):
    assert client_for(outsider).get(f"/data/{world['a'].pk}/").status_code == 404
    assert client_for(outsider).get(f"/data/{world['a'].pk}/thumbnail/").status_code == 404
    assert client_for(member).get(f"/data/{world['x'].pk}/").status_code == 404
    assert client_for(beamline_staff).get(f"/data/{world['x'].pk}/").status_code == 200


def test_the_collection_page_query_count_is_constant(detailed, member, world):
    client = client_for(member)
    before = _queries(client, f"/data/{detailed.pk}/")
    for i in range(5):
        p = ProcessingResult.objects.create(data_collection=detailed, program=f"p{i}")
        ProcessingShell.objects.create(processing=p, shell=Shell.OVERALL, resolution_high=2)
        f.collection(detailed.group)
    assert _queries(client, f"/data/{detailed.pk}/") == before


# ---- the sample page ----


def test_the_sample_page_lists_its_collections_with_the_best_results(detailed, world, member, alice_samples):
    html = client_for(member).get(reverse("beamline:sample", args=[alice_samples[0].pk])).content.decode()
    section = html[html.index('id="data-collections"') :]
    assert "None yet." not in section
    for key in "abc":
        assert reverse("data:collection", args=[world[key].pk]) in section
    assert reverse("data:collection", args=[world["d"].pk]) not in section
    assert "EDNA: P43212, 1.7 Å" in section
    assert "autoPROC: P43212, 1.45 Å" in section  # the better of the two processings
    assert f"/data/?sample={alice_samples[0].pk}" in section


def test_a_sample_without_collections_says_none_yet(member, alice_samples):
    html = client_for(member).get(reverse("beamline:sample", args=[alice_samples[2].pk])).content.decode()
    assert "None yet." in html[html.index('id="data-collections"') :]


def test_best_results_are_chosen_sensibly():
    a = ScreeningResult(id=1, program="a", indexing_success=False, estimated_resolution=1.0)
    b = ScreeningResult(id=2, program="b", indexing_success=True, estimated_resolution=2.0)
    c = ScreeningResult(id=3, program="c", indexing_success=True, estimated_resolution=None)
    assert catalogue.best_screening([a, b, c]) is b
    assert catalogue.best_screening([]) is None


def test_data_file_refuses_what_is_outside_the_root(settings, tmp_path):
    from samples.data.views import data_file

    settings.DATA_ROOT = tmp_path / "root"
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "a.png").write_bytes(b"x")
    (tmp_path / "out.png").write_bytes(b"x")
    (tmp_path / "root" / "link.png").symlink_to(tmp_path / "out.png")
    assert data_file("a.png") == (tmp_path / "root" / "a.png").resolve()
    assert data_file(str(tmp_path / "root" / "a.png")) is not None
    for bad in ("", "../out.png", str(tmp_path / "out.png"), "link.png", "a.png\x00", "."):
        assert data_file(bad) is None, bad
    assert Path(settings.DATA_ROOT).exists()
