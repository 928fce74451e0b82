"""Mail-in result reports: the PDF's content (read back with pdftotext), delivery by email with versions,
re-issue, the shipment page's list, and who may download a report."""

import re
import shutil
import smtplib
import subprocess
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lims.choices import FacilityRole, MemberRole, ProposalKind
from lims.errors import DomainError
from samples.data.choices import Shell
from samples.data.models import ProcessingResult, ProcessingShell, ScreeningResult, ScreeningStrategy
from samples.mailin import delivery
from samples.mailin.report import load_shipment, render_report
from samples.mailin.tasks import deliver_report
from samples.models import Sample, ShipmentReport
from shipping.choices import NotificationReason, NotificationStatus
from shipping.models import Notification
from shipping.tasks import resend_stale_notifications
from tests import factories as f
from tests.queries import count_queries

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) is not installed"),
]

CELL = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")
# (request fields, state, reason, notes) of the four samples of the standard shipment, by position.
PLAN = [
    ({"mailin_request": "screen"}, "screened", "", "Diffracts to 2.1 Å, slight ice rings."),
    (
        {"mailin_request": "dataset", "mailin_dataset_kind": "sad", "anomalous_scatterer": "Se"},
        "collected",
        "",
        "Full SAD sweep, 3600 images.",
    ),
    ({"mailin_request": "screen_collect", "mailin_collect_better_than": 2.0}, "failed", "No diffraction", ""),
    ({"mailin_request": "dataset", "mailin_dataset_kind": "native"}, "skipped", "Crystal dissolved in the pin", ""),
]


def text_of(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return re.sub(r"[ \t]+", " ", result.stdout.decode())


def add_results(sample, beamline, *, screened: bool, processed: bool, resolution: float):
    """A screening (with two strategy rows) and, when ``processed``, a data set with its three shells."""
    group = f.collection_group(proposal=sample.container.shipment.proposal, beamline=beamline, sample=sample)
    shot = f.collection(group, number_of_images=2, best_resolution=resolution if screened else None)
    screening = ScreeningResult.objects.create(
        data_collection=shot,
        program="EDNA",
        indexing_success=screened,
        space_group="P212121" if screened else "",
        **(dict(zip(CELL, (54.2, 61.8, 88.1, 90, 90, 90), strict=True)) if screened else {}),
        mosaicity=0.12 if screened else None,
        estimated_resolution=resolution if screened else None,
        spots_found=1450 if screened else 12,
        comments="" if screened else "Too few spots to index.",
    )
    if screened:
        ScreeningStrategy.objects.bulk_create(
            [
                ScreeningStrategy(
                    screening=screening,
                    phi_start=0,
                    phi_end=180,
                    oscillation=0.1,
                    exposure_time=0.01,
                    completeness=99.6,
                    multiplicity=6.8,
                    resolution=resolution,
                ),
                ScreeningStrategy(
                    screening=screening,
                    phi_start=30,
                    phi_end=120,
                    oscillation=0.2,
                    exposure_time=0.02,
                    completeness=95.1,
                    multiplicity=3.4,
                    resolution=resolution + 0.2,
                ),
            ]
        )
    if processed:
        data_set = f.collection(group, number_of_images=3600, best_resolution=resolution - 0.1)
        result = ProcessingResult.objects.create(
            data_collection=data_set,
            program="autoPROC",
            space_group="P212121",
            **dict(zip(CELL, (54.21, 61.83, 88.07, 90, 90, 90), strict=True)),
        )
        top = resolution - 0.1
        ProcessingShell.objects.bulk_create(
            [
                ProcessingShell(
                    processing=result,
                    shell=Shell.OVERALL,
                    resolution_low=44.1,
                    resolution_high=top,
                    completeness=99.7,
                    multiplicity=6.6,
                    i_sigma=13.8,
                    r_merge=0.071,
                    cc_half=0.998,
                ),
                ProcessingShell(
                    processing=result,
                    shell=Shell.INNER,
                    resolution_low=44.1,
                    resolution_high=top * 2.7,
                    completeness=99.4,
                    multiplicity=6.2,
                    i_sigma=42.5,
                    r_merge=0.031,
                    cc_half=0.999,
                ),
                ProcessingShell(
                    processing=result,
                    shell=Shell.OUTER,
                    resolution_low=top + 0.03,
                    resolution_high=top,
                    completeness=98.2,
                    multiplicity=6.4,
                    i_sigma=1.7,
                    r_merge=0.88,
                    cc_half=0.58,
                ),
            ]
        )


def build_mailin_shipment(*, samples: int = 4, proposal=None, user=None, name="MailIn"):
    """An industrial mail-in shipment at the facility: ``samples`` pins (16 a puck) cycling through ``PLAN``,
    the screened ones with a screening, the collected ones with a processed data set too."""
    proposal = proposal or f.ProposalFactory(
        code="in", number="1001", kind=ProposalKind.INDUSTRIAL, mail_in=True, title="Fragments for a client"
    )
    beamline = f.BeamlineFactory(name=f"MX-{proposal.pk}")
    pucks = -(-samples // 16)
    shipment = f.shipment_tree(proposal=proposal, user=user, pucks=pucks, samples=16, name=name)
    shipment = f.at_facility(shipment)
    pins = list(Sample.objects.filter(container__shipment=shipment).order_by("container__name", "position"))
    Sample.objects.filter(pk__in=[s.pk for s in pins[samples:]]).delete()
    for i, sample in enumerate(pins[:samples]):
        fields, state, reason, notes = PLAN[i % len(PLAN)]
        values = {
            "anomalous_scatterer": "",
            "mailin_collect_better_than": None,
            "mailin_dataset_kind": "",
            "required_resolution": 2.5,
            **fields,
        }
        Sample.objects.filter(pk=sample.pk).update(
            mailin_state=state, mailin_state_reason=reason, mailin_notes=notes, **values
        )
        if state in ("screened", "collected", "failed"):
            add_results(
                sample,
                beamline,
                screened=state != "failed",
                processed=state == "collected",
                resolution=round(1.6 + 0.1 * (i % 5), 2),
            )
    return shipment


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_ROOT = tmp_path / "data"
    return settings


@pytest.fixture
def client_user(db):
    return f.UserFactory(username="carol", email="carol@pharma.example.com")


@pytest.fixture
def mailin(client_user):
    proposal = f.ProposalFactory(
        code="in", number="1001", kind=ProposalKind.INDUSTRIAL, mail_in=True, title="Fragments for a client"
    )
    f.ProposalMemberFactory(proposal=proposal, user=client_user, role=MemberRole.PRINCIPAL_INVESTIGATOR)
    return build_mailin_shipment(proposal=proposal)


@pytest.fixture
def operator(db):
    return f.UserFactory(username="operator", groups=[FacilityRole.MAILIN_OPERATOR])


def test_the_report_prints_every_sample_its_request_outcome_and_results(mailin, media):
    text = text_of(render_report(mailin))
    assert "mail-in result report" in text
    assert "in1001" in text and mailin.name in text
    assert "Arrival at the facility" in text
    for needle in (
        "Screen only",
        "SAD data set, Se",
        "Screen, collect if better than 2.0 Å",
        "Native data set",
        "Screened",
        "Collected",
        "Failed: No diffraction",
        "Skipped: Crystal dissolved in the pin",
        "P212121",
        "54.2 61.8 88.1",
        "1.60 Å",  # best resolution of the first sample
        "Overall",
        "Outer shell",
        "99.7 %",  # completeness
        "13.8",  # I/σ
        "Too few spots to index.",
        "Diffracts to 2.1 Å, slight ice rings.",  # operator notes
        "No data were collected on this sample.",
    ):
        assert needle in text, needle
    pages = int(re.findall(r"page 1 of (\d+)", text)[0])
    assert pages >= 2
    for n in range(1, pages + 1):
        assert f"page {n} of {pages}" in text
    assert text.count("CONFIDENTIAL — for the members of proposal in1001 only") == pages


def test_a_thumbnail_under_data_root_is_drawn_and_one_outside_is_not(mailin, media, tmp_path):
    from PIL import Image

    from samples.data.models import DataCollection

    media.DATA_ROOT.mkdir(parents=True)
    Image.new("RGB", (40, 30), "white").save(media.DATA_ROOT / "thumb.png")
    Image.new("RGB", (40, 30), "white").save(tmp_path / "outside.png")
    dc = DataCollection.objects.filter(sample__container__shipment=mailin).first()
    dc.thumbnail_path = "thumb.png"
    dc.save(update_fields=["thumbnail_path"])
    assert "Thumbnail" in text_of(render_report(mailin))
    dc.thumbnail_path = str(tmp_path / "outside.png")
    dc.save(update_fields=["thumbnail_path"])
    assert "Thumbnail" not in text_of(render_report(mailin))


def test_the_report_reads_in_a_few_queries_whatever_the_size(media):
    small = build_mailin_shipment(samples=4, name="Small")
    large = build_mailin_shipment(samples=20, proposal=small.proposal, name="Large")
    counts = []
    for shipment in (small, large):
        with count_queries() as queries:
            render_report(shipment)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 12
    assert len(load_shipment(large).containers.all()[0].samples.all()) == 16


def test_complete_emails_the_contacts_a_link_and_the_pdf_then_reissue_makes_version_2(
    mailin, media, operator, client_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        delivery.shipment_work_complete(shipment=mailin, user=operator)
    mailin.refresh_from_db()
    assert mailin.mailin_completed_at is not None
    (v1,) = ShipmentReport.objects.filter(shipment=mailin)
    assert (v1.version, v1.created_by, v1.size) == (1, operator, v1.pdf.size)
    (message,) = mail.outbox
    link = delivery.download_url(v1)
    assert link.endswith(reverse("mailin:download", args=[v1.pk])) and link.startswith("http")
    assert link in message.body and link in message.alternatives[0][0]
    assert "carol@pharma.example.com" in message.to
    assert mailin.sending_contact.email in message.to
    (attachment,) = message.attachments
    assert attachment[0].endswith("_report_v1.pdf") and attachment[1][:4] == b"%PDF"
    assert set(v1.__class__.objects.get(pk=v1.pk).emailed_to.splitlines()) == set(message.to)

    with pytest.raises(DomainError):
        delivery.shipment_work_complete(shipment=mailin, user=operator)  # once; then re-issue
    with pytest.raises(DomainError):
        delivery.report_reissue(shipment=mailin, user=operator, note="")  # the client reads why
    Sample.objects.filter(container__shipment=mailin, mailin_state="skipped").update(mailin_notes="Re-mounted: fine.")
    with django_capture_on_commit_callbacks(execute=True):
        delivery.report_reissue(shipment=mailin, user=operator, note="Sample 4 re-mounted")
    assert list(ShipmentReport.objects.filter(shipment=mailin).values_list("version", flat=True)) == [2, 1]
    v2 = ShipmentReport.objects.get(shipment=mailin, version=2)
    assert v2.note == "Sample 4 re-mounted" and len(mail.outbox) == 2
    assert "Re-mounted: fine." in text_of(v2.pdf.read())
    assert v1.pdf.storage.exists(v1.pdf.name)  # the earlier version is kept

    client = Client()
    client.force_login(client_user)
    page = client.get(reverse("shipping:detail", args=[mailin.pk])).content.decode()
    for report in (v1, v2):
        assert reverse("mailin:download", args=[report.pk]) in page
    assert "Sample 4 re-mounted" in page


def test_a_large_report_goes_as_a_link_only(mailin, media, operator, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(delivery, "ATTACH_LIMIT", 100)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.shipment_work_complete(shipment=mailin, user=operator)
    (message,) = mail.outbox
    assert message.attachments == [] and "too large to attach" in message.body


def test_only_operators_complete_and_only_mailin_shipments(mailin, media, client_user, shipment, stores):
    with pytest.raises(DomainError):
        delivery.shipment_work_complete(shipment=mailin, user=client_user)
    with pytest.raises(DomainError):
        delivery.shipment_work_complete(shipment=mailin, user=stores)
    operator = f.UserFactory(groups=[FacilityRole.MAILIN_OPERATOR])
    with pytest.raises(DomainError, match="not a mail-in shipment"):
        delivery.shipment_work_complete(shipment=shipment, user=operator)


def test_the_views_complete_reissue_and_download_to_who_may_see_it(
    client, mailin, media, operator, client_user, outsider, stores, admin_user, django_capture_on_commit_callbacks
):
    complete = reverse("mailin:complete", args=[mailin.pk])
    client.force_login(client_user)
    assert client.post(complete).status_code == 404  # the client cannot complete their own shipment
    client.force_login(operator)
    assert client.get(complete).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(complete)
    assert response.status_code == 302
    report = ShipmentReport.objects.get(shipment=mailin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mailin:reissue", args=[mailin.pk]), {"note": "New processing"})
    assert ShipmentReport.objects.filter(shipment=mailin).count() == 2

    download = reverse("mailin:download", args=[report.pk])
    for user, status in ((client_user, 200), (operator, 200), (admin_user, 200), (outsider, 404), (stores, 404)):
        client.force_login(user)
        response = client.get(download)
        assert response.status_code == status, user.username
        if status == 200:
            assert response["Content-Type"] == "application/pdf"
            assert b"".join(response.streaming_content)[:4] == b"%PDF"
    client.logout()
    assert client.get(download).status_code == 302  # to the login page
    # Stores see the industrial shipment's page (transport), not its reports.
    client.force_login(stores)
    page = client.get(reverse("shipping:detail", args=[mailin.pk]))
    assert page.status_code == 200 and download not in page.content.decode()


def test_a_report_completed_while_the_broker_is_down_is_delivered_once_by_the_resend(
    mailin, media, operator, broker_down, django_capture_on_commit_callbacks
):
    """The report's email goes through the notification outbox: queued at commit, re-sent, sent once."""
    with django_capture_on_commit_callbacks(execute=True):
        delivery.shipment_work_complete(shipment=mailin, user=operator)
    mailin.refresh_from_db()
    assert mailin.mailin_completed_at is not None  # the operator's work is recorded
    notification = Notification.objects.get(shipment=mailin)
    assert (notification.reason, notification.status) == (NotificationReason.REPORT, NotificationStatus.QUEUED)
    assert not ShipmentReport.objects.exists() and mail.outbox == []

    broker_down.back()
    Notification.objects.filter(pk=notification.pk).update(due_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert resend_stale_notifications() == 1
        assert resend_stale_notifications() == 0
    (message,) = mail.outbox
    (report,) = ShipmentReport.objects.filter(shipment=mailin)
    assert (report.version, report.created_by, report.notification_id) == (1, operator, notification.pk)
    assert delivery.download_url(report) in message.body
    assert set(report.emailed_to.splitlines()) == set(message.to)
    # The original task, arriving late, neither issues another version nor sends again.
    assert deliver_report.delay(notification.pk).get() == NotificationStatus.SENT
    assert ShipmentReport.objects.count() == 1 and len(mail.outbox) == 1


def test_a_mail_error_retried_sends_the_version_already_issued(mailin, media, operator, monkeypatch):
    def mail_server_down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("connection refused")

    notification = Notification.objects.create(shipment=mailin, reason=NotificationReason.REPORT, requested_by=operator)
    monkeypatch.setattr(EmailMultiAlternatives, "send", mail_server_down)
    deliver_report.push_request(retries=0, is_eager=False)  # a worker's first attempt
    try:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            deliver_report.run(notification.pk)
    finally:
        deliver_report.pop_request()
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.QUEUED, 1)
    assert notification.due_at > timezone.now()  # the retry's time: the re-send leaves it to the retry
    monkeypatch.undo()

    assert deliver_report.delay(notification.pk).get() == NotificationStatus.SENT
    assert list(ShipmentReport.objects.values_list("version", flat=True)) == [1] and len(mail.outbox) == 1
