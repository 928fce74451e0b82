"""Ingest of data collections, screening and processing results (``samples.data.ingest`` and its API).

Pipelines write with their beamline's API token; a batch is all or nothing; a re-sent item updates its
collection; links to the sample (id or pin barcode) and the session (named, or by the start time) are
resolved in bulk, so a batch of 1,000 costs a handful of queries.
"""

import datetime as dt
import math

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from lims.models import AuditEntry
from samples.data.ingest import BatchError, ingest_collections, ingest_processings, ingest_screenings, search_text
from samples.data.models import DataCollection, DataCollectionGroup, ProcessingShell, ScreeningResult
from samples.services import container_assign
from tests import factories as f
from tests.conftest import api_as
from tests.queries import count_queries, statements

pytestmark = pytest.mark.django_db

URL = "/api/v1/data-collections/"


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def line(received, isara, beamline_staff):
    """Alice's puck in MX-3's changer, her session on MX-3 running now, a token for MX-3 and one for MX-1."""
    now = timezone.now()
    session = f.SessionFactory(
        proposal=received.proposal, beamline=isara, start=now - dt.timedelta(hours=2), end=now + dt.timedelta(hours=6)
    )
    puck = received.containers.get()
    container_assign(container=puck, beamline=isara, position=3, user=beamline_staff)
    samples = list(puck.samples.order_by("position"))
    samples[0].pin_code = "PX00000001"
    samples[0].save(update_fields=["pin_code"])
    other = f.BeamlineFactory(name="MX-1")
    return {
        "beamline": isara,
        "other": other,
        "session": session,
        "samples": samples,
        "key": f.api_token(isara, name="pipeline MX-3"),
        "other_key": f.api_token(other, name="pipeline MX-1"),
        "now": now,
    }


def item(n=0, **fields):
    return {
        "external_id": f"dc-{n}",
        "start_time": "2026-03-10T10:00:00+00:00",
        "directory": "/data/mx2345/lyso",
        "file_template": f"lyso_{n}_####.cbf",
        "number_of_images": 3600,
        "wavelength": 0.9763,
        "exposure_time": 0.01,
        "oscillation_start": 0.0,
        "oscillation_range": 0.1,
        **fields,
    }


def principal(line, key="key"):
    from lims.tokens import principal_for_bearer

    return principal_for_bearer(line[key])


def test_search_text_is_lower_cased_and_skips_blanks():
    assert search_text(
        sample_name="Lyso-1", protein_acronym="LYS", directory="/Data/x", file_template="A_####.cbf"
    ) == ("lyso-1 lys /data/x a_####.cbf")
    assert search_text(directory="/d", file_template="f") == "/d f"


def test_a_single_item_links_its_sample_session_and_group(line):
    sample = line["samples"][0]
    response = bearer(line["key"]).post(URL, item(sample=sample.pk, start_time=line["now"].isoformat()), format="json")
    assert response.status_code == 201, response.content
    dc = DataCollection.objects.get(pk=response.json()["id"])
    assert response.json()["external_id"] == "dc-0"
    assert (dc.beamline, dc.sample, dc.session, dc.proposal) == (
        line["beamline"],
        sample,
        line["session"],
        line["session"].proposal,
    )
    assert dc.protein == sample.protein and dc.token.name == "pipeline MX-3"
    assert dc.search_text == f"{sample.name} {sample.protein.acronym} /data/mx2345/lyso lyso_0_####.cbf".lower()
    assert (dc.group.sample, dc.group.session, dc.group.experiment_type) == (sample, line["session"], "osc")
    assert dc.status == "running" and dc.wavelength == 0.9763 and dc.number_of_images == 3600
    # No audit entry per item: the rows carry their token and times.
    assert not AuditEntry.objects.filter(content_type__model="datacollection").exists()


def test_linking_by_pin_code_and_the_session_by_the_start_time(line):
    result = ingest_collections(principal=principal(line), items=[item(pin_code="PX00000001")])
    assert result[0].sample == line["samples"][0]
    # 2026-03-10 is no session's time: the proposal comes from the sample alone.
    assert result[0].session is None and result[0].proposal == line["session"].proposal
    # The session alone, by the start time ("YYYY-MM-DD HH:MM:SS", local): the proposal is the session's.
    local = timezone.localtime(line["now"]).strftime("%Y-%m-%d %H:%M:%S")
    (dc,) = ingest_collections(principal=principal(line), items=[item(1, start_time=local)])
    assert (dc.session, dc.sample, dc.proposal) == (line["session"], None, line["session"].proposal)


def test_an_item_of_nobody_is_refused(line):
    with pytest.raises(BatchError) as exc:
        ingest_collections(principal=principal(line), items=[item()])
    assert list(exc.value.errors[0]) == ["non_field_errors"]
    assert exc.value.errors[0]["non_field_errors"][0].startswith("Cannot tell whose data this is")


def test_a_bulk_of_1000_is_one_upsert_in_a_few_queries(line):
    samples = line["samples"]
    items = [item(n, sample=samples[n % len(samples)].pk) for n in range(1000)]
    client = bearer(line["key"])
    client.post(URL, {"items": items[:2]}, format="json")  # the token's last use written: not in the count
    with count_queries() as queries:
        response = client.post(URL, {"items": items}, format="json")
    assert response.status_code == 201, response.content
    ids = response.json()["ids"]
    assert len(ids) == 1000 and len(set(ids)) == 1000
    assert list(DataCollection.objects.filter(pk__in=ids[:3]).order_by("pk").values_list("external_id", flat=True)) == [
        "dc-0",
        "dc-1",
        "dc-2",
    ]
    # token, samples, sessions, stored collections, groups (found), transaction + the INSERT(s):
    # one on PostgreSQL, as many as SQLite's 999 parameters take on SQLite.
    inserts = [sql for sql in statements(queries) if sql.startswith('INSERT INTO "samples_datacollection"')]
    fields = len(DataCollection._meta.concrete_fields) - 1  # all but the id
    assert len(inserts) == math.ceil(1000 / connection.ops.bulk_batch_size([None] * fields, items))
    assert len(queries) - len(inserts) <= 8, [sql[:80] for sql in statements(queries)]
    assert DataCollection.objects.count() == 1000
    assert DataCollectionGroup.objects.count() == len(samples)


def test_a_re_sent_batch_updates_and_never_duplicates(line):
    sample = line["samples"][1]
    items = [item(n, sample=sample.pk) for n in range(5)]
    first = ingest_collections(principal=principal(line), items=items)
    items[2]["number_of_images"] = 1800
    items[2]["status"] = "successful"
    again = ingest_collections(principal=principal(line), items=items)
    assert [c.pk for c in again] == [c.pk for c in first]
    assert DataCollection.objects.count() == 5
    dc = DataCollection.objects.get(external_id="dc-2")
    assert (dc.number_of_images, dc.status) == (1800, "successful")
    # Fields left out keep their values; the group is kept.
    (dc2,) = ingest_collections(
        principal=principal(line),
        items=[{"external_id": "dc-2", "start_time": "2026-03-10T10:00:00Z", "directory": "/d", "file_template": "x"}],
    )
    dc2.refresh_from_db()
    assert (dc2.wavelength, dc2.sample, dc2.group_id, dc2.number_of_images) == (0.9763, sample, dc.group_id, 1800)
    assert dc2.search_text.endswith("/d x")


def test_a_running_collection_is_updated_by_patch_of_the_fields_given(line):
    client = bearer(line["key"])
    sample = line["samples"][0]
    client.post(URL, item(7, sample=sample.pk, number_of_images=10), format="json")
    response = client.patch(f"{URL}by-external-id/dc-7/", {"number_of_images": 900}, format="json")
    assert response.status_code == 200, response.content
    dc = DataCollection.objects.get(external_id="dc-7")
    assert (dc.number_of_images, dc.status, dc.wavelength, dc.sample) == (900, "running", 0.9763, sample)
    done = client.patch(
        f"{URL}by-external-id/dc-7/", {"status": "successful", "end_time": "2026-03-10T10:06:00Z"}, format="json"
    )
    assert done.status_code == 200
    dc.refresh_from_db()
    assert dc.status == "successful" and dc.number_of_images == 900 and dc.end_time is not None
    assert client.patch(f"{URL}by-external-id/nope/", {"status": "failed"}, format="json").status_code == 404
    bad = client.patch(f"{URL}by-external-id/dc-7/", {"end_time": "2026-03-10T09:00:00Z"}, format="json")
    assert bad.status_code == 400 and "end_time" in bad.json()["errors"]
    # Another beamline's token does not find it.
    other = bearer(line["other_key"]).patch(f"{URL}by-external-id/dc-7/", {"status": "failed"}, format="json")
    assert other.status_code == 404


def test_a_bad_batch_saves_nothing_and_names_each_bad_item(line):
    sample = line["samples"][0]
    items = [item(n, sample=sample.pk) for n in range(6)]
    items[1]["wavelength"] = -1
    items[3]["status"] = "done"
    items[3]["start_time"] = "yesterday"
    items[4]["sample"] = 999999
    items[5]["external_id"] = "dc-0"
    response = bearer(line["key"]).post(URL, {"items": items}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_batch" and "nothing was saved" in body["detail"]
    assert set(body["errors"]) == {"1", "3", "4", "5"}
    assert set(body["errors"]["1"]) == {"wavelength"}
    assert set(body["errors"]["3"]) == {"status", "start_time"}
    assert body["errors"]["4"] == {"sample": ["No such sample."]}
    assert "twice" in body["errors"]["5"]["external_id"][0]
    assert DataCollection.objects.count() == 0 and DataCollectionGroup.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("wavelength", "1.0"),
        ("wavelength", True),
        ("number_of_images", -1),
        ("number_of_images", 1.5),
        ("transmission", 101),
        ("directory", ""),
        ("directory", "x" * 256),
        ("metadata", [1]),
        ("start_time", "2026-03-10"),
        ("colour", "red"),
    ],
)
def test_each_bad_value_is_a_field_error(line, field, value):
    response = bearer(line["key"]).post(URL, item(sample=line["samples"][0].pk, **{field: value}), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == [field]


def test_nul_characters_are_refused_before_the_database(line):
    with pytest.raises(BatchError) as exc:
        ingest_collections(principal=principal(line), items=[item(sample=line["samples"][0].pk, comments="a\x00b")])
    assert list(exc.value.errors[0]) == ["comments"]
    response = bearer(line["key"]).post(URL, item(comments="a\x00b"), format="json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_required_fields_and_batch_limits(line):
    client = bearer(line["key"])
    response = client.post(URL, {"external_id": "x", "sample": line["samples"][0].pk}, format="json")
    assert set(response.json()["errors"]) == {"start_time", "directory", "file_template"}
    assert client.post(URL, {"items": []}, format="json").status_code == 400
    assert client.post(URL, {"items": [item(n) for n in range(1001)]}, format="json").status_code == 400
    assert client.post(URL, [item()], format="json").status_code == 400
    assert client.post(URL, '{"wavelength": NaN}', content_type="application/json").status_code == 400


def test_a_token_writes_its_own_beamline_only(line):
    sample = line["samples"][0]
    # MX-1's token cannot see the sample in MX-3's changer, nor name MX-3.
    other = bearer(line["other_key"])
    response = other.post(URL, item(sample=sample.pk), format="json")
    assert response.status_code == 400 and response.json()["errors"] == {"sample": ["No such sample."]}
    response = other.post(URL, item(session=line["session"].pk), format="json")
    assert response.status_code == 400 and "session" in response.json()["errors"]
    response = bearer(line["key"]).post(URL, item(sample=sample.pk, beamline="MX-1"), format="json")
    assert response.status_code == 400 and "beamline" in response.json()["errors"]
    # The same external id on two beamlines is two collections; neither token touches the other's.
    bearer(line["key"]).post(URL, item(sample=sample.pk), format="json")
    f.SessionFactory(
        proposal=line["session"].proposal,
        beamline=line["other"],
        start=timezone.now() - dt.timedelta(hours=1),
        end=timezone.now() + dt.timedelta(hours=1),
    )
    response = other.post(URL, item(start_time=timezone.now().isoformat()), format="json")
    assert response.status_code == 201, response.content
    assert DataCollection.objects.filter(external_id="dc-0").count() == 2
    mine = DataCollection.objects.get(external_id="dc-0", beamline=line["beamline"])
    assert bearer(line["other_key"]).get(f"{URL}{mine.pk}/").status_code == 404
    assert bearer(line["key"]).get(f"{URL}{mine.pk}/").status_code == 200


def test_staff_ingest_naming_the_beamline_and_members_are_refused(line, beamline_staff, member, stores):
    sample = line["samples"][0]
    response = api_as(beamline_staff).post(URL, item(sample=sample.pk, beamline="mx-3"), format="json")
    assert response.status_code == 201, response.content
    assert DataCollection.objects.get().token is None
    response = api_as(beamline_staff).post(URL, item(1, sample=sample.pk), format="json")
    assert response.status_code == 400 and "beamline" in response.json()["errors"]
    # The session names the beamline too.
    response = api_as(beamline_staff).post(URL, item(2, session=line["session"].pk), format="json")
    assert response.status_code == 201
    assert api_as(member).post(URL, item(3, sample=sample.pk, beamline="MX-3"), format="json").status_code == 403
    assert api_as(stores).post(URL, item(3, sample=sample.pk, beamline="MX-3"), format="json").status_code == 403


def test_users_see_only_their_proposals_collections(line, member, outsider, admin_user):
    ingest_collections(principal=principal(line), items=[item(n, sample=line["samples"][0].pk) for n in range(3)])
    mine = api_as(member).get(URL).json()
    assert len(mine["results"]) == 3 and {"next", "previous"} <= mine.keys()
    assert api_as(outsider).get(URL).json()["results"] == []
    dc = DataCollection.objects.first()
    assert api_as(outsider).get(f"{URL}{dc.pk}/").status_code == 404
    assert len(api_as(admin_user).get(URL).json()["results"]) == 3
    assert api_as(member).get(URL, {"status": "successful"}).json()["results"] == []
    assert len(api_as(member).get(URL, {"sample": line["samples"][0].pk}).json()["results"]) == 3
    assert api_as(member).get(URL, {"proposal": 999999}).json()["results"] == []
    assert api_as(member).get(URL, {"status": "bogus"}).status_code == 400


def test_the_list_pages_by_keyset(line, member):
    ingest_collections(
        principal=principal(line),
        items=[item(n, sample=line["samples"][0].pk, start_time=f"2026-03-10T10:{n:02d}:00Z") for n in range(5)],
    )
    page = api_as(member).get(URL, {"page_size": 2}).json()
    assert [r["external_id"] for r in page["results"]] == ["dc-4", "dc-3"]
    following = api_as(member).get(page["next"]).json()
    assert [r["external_id"] for r in following["results"]] == ["dc-2", "dc-1"]


def test_screening_and_processing_results_and_the_best_resolution(line, member):
    (dc,) = ingest_collections(principal=principal(line), items=[item(sample=line["samples"][0].pk)])
    client = bearer(line["key"])
    screening = {
        "external_id": "dc-0",
        "program": "EDNA",
        "indexing_success": True,
        "space_group": "P43212",
        "cell_a": 78.1,
        "cell_b": 78.1,
        "cell_c": 37.2,
        "cell_alpha": 90,
        "cell_beta": 90,
        "cell_gamma": 90,
        "estimated_resolution": 1.9,
        "strategies": [{"phi_start": 0, "phi_end": 180, "oscillation": 0.2, "completeness": 99.5}],
    }
    response = client.post("/api/v1/screening-results/", screening, format="json")
    assert response.status_code == 201, response.content
    dc.refresh_from_db()
    assert dc.best_resolution == 1.9
    # Re-sent: replaced, strategy rows too.
    screening["strategies"] = [{"phi_start": 0, "phi_end": 90}, {"phi_start": 90, "phi_end": 180}]
    client.post("/api/v1/screening-results/", {"items": [screening]}, format="json")
    result = ScreeningResult.objects.get()
    assert result.strategies.count() == 2
    processing = {
        "data_collection": dc.pk,
        "program": "autoPROC",
        "space_group": "P43212",
        "shells": [
            {"shell": "overall", "resolution_low": 50, "resolution_high": 1.6, "completeness": 99.9, "cc_half": 99.8},
            {"shell": "inner", "resolution_low": 50, "resolution_high": 4.3},
            {"shell": "outer", "resolution_low": 1.65, "resolution_high": 1.6, "i_sigma": 1.2},
        ],
    }
    response = client.post("/api/v1/processing-results/", processing, format="json")
    assert response.status_code == 201, response.content
    dc.refresh_from_db()
    assert dc.best_resolution == 1.6
    assert ProcessingShell.objects.count() == 3
    detail = api_as(member).get(f"{URL}{dc.pk}/").json()
    assert detail["screenings"][0]["program"] == "EDNA" and len(detail["screenings"][0]["strategies"]) == 2
    assert {s["shell"] for s in detail["processings"][0]["shells"]} == {"overall", "inner", "outer"}
    # Bad: a shell named twice, an unknown collection, another beamline's token.
    bad = dict(processing, shells=[{"shell": "overall"}, {"shell": "overall"}])
    assert client.post("/api/v1/processing-results/", bad, format="json").status_code == 400
    unknown = client.post("/api/v1/screening-results/", dict(screening, external_id="nope"), format="json")
    assert unknown.status_code == 400 and "data_collection" in unknown.json()["errors"]
    theirs = bearer(line["other_key"]).post("/api/v1/screening-results/", screening, format="json")
    assert theirs.status_code == 400 and "data_collection" in theirs.json()["errors"]


def test_results_in_bulk_and_their_batch_errors(line):
    collections = ingest_collections(
        principal=principal(line), items=[item(n, sample=line["samples"][0].pk) for n in range(3)]
    )
    items = [
        {"data_collection": c.pk, "program": "EDNA", "estimated_resolution": 2.0 + n} for n, c in enumerate(collections)
    ]
    results = ingest_screenings(principal=principal(line), items=items)
    assert len(results) == 3
    assert sorted(DataCollection.objects.values_list("best_resolution", flat=True)) == [2.0, 3.0, 4.0]
    items[1]["estimated_resolution"] = -2
    with pytest.raises(BatchError) as exc:
        ingest_processings(principal=principal(line), items=[{"data_collection": collections[0].pk}, *items[:0]])
    assert set(exc.value.errors[0]) == {"program"}
    with pytest.raises(BatchError) as exc:
        ingest_screenings(principal=principal(line), items=items)
    assert list(exc.value.errors) == [1]


def test_the_admin_shows_collections_read_only_and_searches_the_search_text(line, client, admin_user):
    (dc,) = ingest_collections(principal=principal(line), items=[item(sample=line["samples"][0].pk)])
    ingest_screenings(principal=principal(line), items=[{"data_collection": dc.pk, "program": "EDNA"}])
    client.force_login(admin_user)
    found = client.get("/admin/samples/datacollection/", {"q": "LYSO_0"})
    assert found.status_code == 200 and "lyso_0_####.cbf" in found.content.decode()
    assert "lyso_0" not in client.get("/admin/samples/datacollection/", {"q": "nothing"}).content.decode()
    page = client.get(f"/admin/samples/datacollection/{dc.pk}/change/")
    assert page.status_code == 200 and "EDNA" in page.content.decode()
    assert client.get(f"/admin/samples/screeningresult/{dc.screenings.get().pk}/change/").status_code == 200
