import pytest
from django.core.management import call_command
from django.utils import timezone

from lims.models import Beamline, Proposal
from samples.models import Container, Sample
from shipping.models import Dewar, Location, Shipment

pytestmark = pytest.mark.django_db


def test_demo_loads_the_facility_and_one_shipment_and_is_idempotent(capsys):
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "alice" in out and "mx-demo-2026" in out
    call_command("load_demo", quiet_logins=True)

    assert set(Beamline.objects.values_list("sample_changer_model", "puck_positions")) == {
        ("SC3", 5),
        ("FlexHCD", 24),
        ("ISARA", 29),
    }
    assert Location.objects.filter(kind="stores").exists()
    assert set(Proposal.objects.values_list("kind", flat=True)) == {"academic", "industrial"}
    assert Proposal.objects.get(kind="industrial").mail_in
    shipment = Shipment.objects.get(proposal__code="mx")
    assert Dewar.objects.filter(shipment=shipment).count() == 2
    assert Container.objects.filter(shipment=shipment).count() == 4
    assert Sample.objects.filter(container__shipment=shipment).count() == 40
    assert shipment.proposal.memberships.filter(user__username="alice").exists()
    # Sent, so that stores can scan its dewars in; the logins say which barcodes to scan.
    assert shipment.status == "sent"
    assert set(Dewar.objects.filter(shipment=shipment).values_list("status", flat=True)) == {"in_transit_to_facility"}
    # And in1001's mail-in shipment, already at the facility (see the mail-in walkthrough below).
    assert Shipment.objects.get(proposal__code="in").status == "at_facility"
    # The logins name the barcodes of mx2345's dewars, the ones to scan in (ids differ between databases).
    assert all(barcode in out for barcode in Dewar.objects.filter(shipment=shipment).values_list("barcode", flat=True))


@pytest.mark.django_db(transaction=True)
def test_the_demo_prints_the_logins_last_and_writes_its_emails_to_files(capsys, settings, tmp_path):
    """`make run` on a fresh machine: the console backend would print the demo's e-mails after the logins."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)

    call_command("load_demo")

    out = capsys.readouterr().out
    assert "Subject:" not in out
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].startswith("The demo's e-mails (")
    assert lines[1].startswith("Demo logins")
    assert lines[-1].startswith("API token for MX-3")
    mails = list(tmp_path.iterdir())
    assert mails and "Subject:" in mails[0].read_text()


def test_demo_has_a_session_running_now_on_mx3_and_a_working_beamline_token(capsys):
    from django.utils import timezone
    from rest_framework.test import APIClient

    from lims.models import ApiToken, Session

    call_command("load_demo")
    out = capsys.readouterr().out
    call_command("load_demo", quiet_logins=True)

    now = timezone.now()
    (running,) = Session.objects.filter(beamline__name="MX-3", start__lte=now, end__gte=now)
    assert running.proposal.name == "mx2345" and running.local_contact.username == "beamline"
    assert timezone.localtime(running.start).date() == timezone.localdate()
    assert running.end - running.start == timezone.timedelta(days=3)
    # The demo dewars are booked on it, and still on their way: stores receive them first.
    assert set(Dewar.objects.filter(shipment__proposal=running.proposal).values_list("session", flat=True)) == {
        running.pk
    }

    assert "lims_demo_mx3_beamline_token" in out
    token = ApiToken.objects.get()
    assert (token.beamline.name, token.user.username) == ("MX-3", "beamline")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer lims_demo_mx3_beamline_token")
    changer = client.get(f"/api/v1/beamlines/{token.beamline_id}/changer/")
    assert changer.status_code == 200 and len(changer.json()["positions"]) == 29
    # Both demo dewars are booked on it: 40 samples, none in the changer yet.
    assert client.get(f"/api/v1/sessions/{running.pk}/samples/").json()["count"] == 40


def test_demo_walkthrough_stores_receive_then_beamline_staff_assign_by_position_code():
    from django.contrib.auth import get_user_model

    from shipping.services import dewar_receive
    from tests.conftest import api_as

    call_command("load_demo", quiet_logins=True)
    users = get_user_model().objects
    for dewar in Dewar.objects.filter(shipment__proposal__code="mx"):
        dewar_receive(dewar=dewar, user=users.get(username="stores"))
    puck = Container.objects.get(barcode="UNI0001")
    staff = api_as(users.get(username="beamline"))
    found = staff.get("/api/v1/containers/", {"barcode": "UNI0001"}).json()["results"]
    assert [c["id"] for c in found] == [puck.pk]
    response = staff.post(f"/api/v1/containers/{puck.pk}/assign/", {"position_code": "MX-3:07"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["container"]["position_code"] == "MX-3:07"
    # SPINE pucks do not fit the ISARA.
    spine = Container.objects.get(barcode="SPA0001")
    refused = staff.post(f"/api/v1/containers/{spine.pk}/assign/", {"position_code": "MX-3:08"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "wrong_container_type"


def test_a_later_run_adds_a_session_running_then():
    import datetime as dt

    from django.utils import timezone

    from lims.models import Session

    call_command("load_demo", quiet_logins=True)
    old = Session.objects.get(beamline__name="MX-3", start__lte=timezone.now(), end__gte=timezone.now())
    Session.objects.filter(pk=old.pk).update(start=old.start - dt.timedelta(days=5), end=old.end - dt.timedelta(days=5))
    call_command("load_demo", quiet_logins=True)
    now = timezone.now()
    assert Session.objects.filter(beamline__name="MX-3", start__lte=now, end__gte=now).exclude(pk=old.pk).count() == 1


@pytest.fixture
def demo_data_root(tmp_path, settings):
    """The demo writes its stand-in files under DATA_ROOT: a temporary one here."""
    settings.DATA_ROOT = tmp_path / "data"
    settings.DOWNLOAD_ROOT = tmp_path / "downloads"
    return settings.DATA_ROOT


def test_demo_has_collections_and_screening_results_to_browse(demo_data_root):
    from django.contrib.auth import get_user_model

    from samples.data.models import DataCollection, ProcessingShell, ScreeningResult
    from samples.data.selectors import collection_visible_to

    call_command("load_demo", quiet_logins=True)
    call_command("load_demo", quiet_logins=True)  # made once
    users = get_user_model().objects
    alice, carol = users.get(username="alice"), users.get(username="carol")

    mine = collection_visible_to(alice)
    assert 20 <= mine.count() <= 30 and set(mine.values_list("proposal__code", flat=True)) == {"mx"}
    assert set(mine.values_list("beamline__name", flat=True)) == {"MX-3"}
    (session,) = {c.session for c in mine}
    assert session.end < timezone.now() and session.proposal.name == "mx2345"
    # On the demo samples, a few groups, each kind of experiment.
    assert mine.filter(sample__isnull=False).count() >= 20
    assert mine.values("group").distinct().count() >= 10
    assert {"screening", "osc", "sad", "mesh"} <= set(mine.values_list("experiment_type", flat=True))
    assert {"ring_current", "undulator_gap"} <= set(mine.first().metadata)
    theirs = collection_visible_to(carol)
    assert theirs.count() >= 2 and {c.proposal.name for c in theirs} == {"in1001"}

    screenings = ScreeningResult.objects.filter(data_collection__in=mine)
    assert screenings.count() >= 8 and screenings.filter(strategies__isnull=False).exists()
    assert screenings.filter(indexing_success=False).exists()
    shells = set(ProcessingShell.objects.filter(processing__data_collection__in=mine).values_list("shell", flat=True))
    assert shells == {"overall", "inner", "outer"}
    assert mine.filter(best_resolution__isnull=False).count() >= 15
    # Flags, tags and the change log they left; the search column is filled.
    assert {f for f in mine.values_list("flags", flat=True)} >= {0, 1, 2, 4, 8}
    assert {"best", "ligand-soak"} <= set(mine.values_list("tags__name", flat=True))
    assert all(c.search_text and c.directory.lower() in c.search_text for c in mine)
    from samples.data.actions import collection_change_log

    best = mine.filter(tags__name="best").order_by("start_time").first()
    assert {e.message for e in collection_change_log(best)} >= {"Tagged best", "Flagged measurement"}
    assert DataCollection.objects.count() == mine.count() + theirs.count()


def test_the_cart_builds_on_the_demo_data(demo_data_root, django_capture_on_commit_callbacks):
    import tarfile

    from django.contrib.auth import get_user_model
    from django.core import mail
    from django.test import Client

    from samples.data.cart import archive_path, cart_add
    from samples.data.models import DownloadCart
    from samples.data.selectors import collection_visible_to

    call_command("load_demo", quiet_logins=True)
    alice = get_user_model().objects.get(username="alice")
    picked = list(collection_visible_to(alice).filter(tags__name="best"))
    picked += list(collection_visible_to(alice).filter(experiment_type="screening")[:2])
    cart_add(user=alice, collections=picked)
    client = Client()
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/data/cart/build/")
    cart = DownloadCart.objects.get(user=alice)
    assert cart.status == "ready", cart.error
    assert cart.files_done == cart.files_total >= 2 * 2 + 2 * 4 and cart.error == ""
    with tarfile.open(archive_path(cart)) as tar:
        names = tar.getnames()
    assert all(n.startswith("demo/mx2345/") for n in names) and len(names) == cart.files_total
    assert any(n.endswith("_master.h5") for n in names) and any(n.endswith("_0001.cbf") for n in names)
    assert f"/data/cart/{cart.pk}/download/" in mail.outbox[0].body
    assert client.get(f"/data/cart/{cart.pk}/download/").status_code == 200


def test_demo_mailin_walkthrough_operator_completes_and_carol_downloads_the_report(
    demo_data_root, settings, tmp_path, django_capture_on_commit_callbacks
):
    import re
    import shutil
    import subprocess

    from django.contrib.auth import get_user_model
    from django.core import mail
    from django.test import Client
    from django.urls import reverse

    from samples.models import ShipmentReport

    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", quiet_logins=True)
    call_command("load_demo", quiet_logins=True)  # made once
    users = get_user_model().objects
    shipment = Shipment.objects.get(proposal__code="in")
    samples = Sample.objects.filter(container__shipment=shipment)
    assert set(samples.values_list("mailin_state", flat=True)) == {"screened", "collected", "failed", "skipped"}
    assert set(samples.values_list("mailin_request", flat=True)) == {"screen", "screen_collect", "dataset"}
    assert samples.filter(mailin_dataset_kind="sad", anomalous_scatterer="Se").exists()
    assert samples.filter(data_collections__processings__isnull=False).count() >= 2
    assert shipment.mailin_completed_at is None

    operator = Client()
    operator.force_login(users.get(username="operator"))
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(reverse("mailin:complete", args=[shipment.pk]))
    assert response.status_code == 302
    report = ShipmentReport.objects.get(shipment=shipment)
    assert any("carol@pharma.example.com" in m.to for m in mail.outbox)

    carol = Client()
    carol.force_login(users.get(username="carol"))
    page = carol.get(reverse("shipping:detail", args=[shipment.pk])).content.decode()
    url = reverse("mailin:download", args=[report.pk])
    assert url in page
    response = carol.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = b"".join(response.streaming_content)
    if shutil.which("pdftotext"):
        text = re.sub(
            r"[ \t]+",
            " ",
            subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True).stdout.decode(),
        )
        assert "KRAS-mi-01" in text and "Skipped: Empty pin" in text and "SAD data set, Se" in text
    # Alice (academic proposal) and the stores do not reach it.
    for name in ("alice", "stores"):
        other = Client()
        other.force_login(users.get(username=name))
        assert other.get(url).status_code == 404


def test_the_demo_collections_have_pictures_to_show(settings, tmp_path):
    """The catalogue, the collection page and the mail-in report show thumbnails and snapshots: the demo draws
    small stand-ins, real PNG and JPEG files under the data root."""
    from PIL import Image

    from samples.data.models import DataCollection
    from samples.data.views import data_file

    settings.DATA_ROOT = str(tmp_path)
    call_command("load_demo", quiet_logins=True)
    collections = list(DataCollection.objects.all())
    assert collections
    for dc in collections:
        for path, kind in ((dc.thumbnail_path, "PNG"), (dc.snapshot_path, "JPEG")):
            found = data_file(path)
            assert found is not None, path
            with Image.open(found) as image:
                assert image.format == kind and min(image.size) >= 200


def test_the_demo_goes_through_the_services(demo_data_root):
    """The demo writes what the rules write: its collections are ingested (MX-3's by the beamline's demo API
    token, whose rows carry it; the ingest links sample, protein and search text and keeps the best
    resolution), and the mail-in pins' states are the operator's transitions in the audit log."""
    from django.db.models import Min

    from lims.choices import AuditAction
    from lims.models import ApiToken, AuditEntry
    from samples.data.models import DataCollection, DataCollectionGroup, ProcessingShell, ScreeningResult

    call_command("load_demo", quiet_logins=True)
    token = ApiToken.objects.get(beamline__name="MX-3")
    mx3 = DataCollection.objects.filter(beamline__name="MX-3")
    assert mx3.exists() and set(mx3.values_list("token", flat=True)) == {token.pk}
    # Every collection's best resolution is what the ingest of its results keeps: the best of them.
    for dc in DataCollection.objects.all():
        best = [
            ScreeningResult.objects.filter(data_collection=dc).aggregate(m=Min("estimated_resolution"))["m"],
            ProcessingShell.objects.filter(processing__data_collection=dc).aggregate(m=Min("resolution_high"))["m"],
        ]
        assert dc.best_resolution == min((b for b in best if b is not None), default=None), dc.external_id
        if dc.sample_id:
            assert dc.protein_id == dc.sample.protein_id and dc.sample.name.lower() in dc.search_text
            assert dc.group.sample_id == dc.sample_id
    # in1001's first fragment was on the screen-and-collect pin: ingested there, no group left empty.
    pin = Sample.objects.get(container__shipment__proposal__code="in", mailin_request="screen_collect")
    assert pin.data_collections.filter(processings__isnull=False).exists()
    assert not DataCollectionGroup.objects.filter(collections__isnull=True).exists()

    shipment = Shipment.objects.get(proposal__code="in")
    for sample in Sample.objects.filter(container__shipment=shipment):
        (entry,) = AuditEntry.objects.filter(
            action=AuditAction.TRANSITION, object_id=str(sample.pk), message__startswith="Mail-in state"
        )
        assert entry.user.username == "operator"
        assert entry.changes["mailin_state"] == ["waiting", sample.mailin_state]
