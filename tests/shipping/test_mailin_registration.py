"""Mail-in requests at registration: each sample of a mail-in proposal says what the client wants (screen;
screen and collect if better than a resolution; a native/SAD/MAD data set), through the shipment service,
the web form, the sample sheet and the API; other proposals' samples carry no request (refused)."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from samples.choices import DatasetKind, MailinRequest
from samples.models import Sample
from shipping.services import shipment_create, shipment_update
from shipping.sheets import HEADERS, SheetError, import_sheet, template_csv, template_xlsx
from tests import factories as f
from tests.conftest import api_as
from tests.shipping.test_sheets import csv_file, xlsx_file
from tests.shipping.test_sheets import row as sheet_row
from tests.shipping.test_views import cell, filled_create_form, form_fields

pytestmark = pytest.mark.django_db

S0 = "dewars.0.containers.0.samples.0."
S1 = "dewars.0.containers.0.samples.1."


@pytest.fixture
def mailin(proposal):
    proposal.mail_in = True
    proposal.save(update_fields=["mail_in"])
    return proposal


def tree(samples: list[dict], name="Mail-1") -> dict:
    return {
        "name": name,
        "dewars": [
            {
                "name": "D1",
                "containers": [
                    {
                        "name": "P1",
                        "container_type": "unipuck",
                        "samples": [
                            {"position": n, "name": f"x{n}", "protein_acronym": "LYS", **s}
                            for n, s in enumerate(samples, start=1)
                        ],
                    }
                ],
            }
        ],
    }


def errors_of(proposal, user, samples) -> dict:
    with pytest.raises(ValidationError) as exc:
        shipment_create(proposal=proposal, user=user, data=tree(samples))
    assert not Sample.objects.exists()  # nothing half-saved
    return exc.value.message_dict


# --- the service -----------------------------------------------------------------------------------------


def test_requests_are_saved_and_a_sample_without_one_is_screened(mailin, member):
    shipment = shipment_create(
        proposal=mailin,
        user=member,
        data=tree(
            [
                {},
                {"mailin_request": "screen_collect", "mailin_collect_better_than": 2.5, "mailin_priority": 1},
                {"mailin_request": "dataset", "mailin_dataset_kind": "sad", "anomalous_scatterer": "Se"},
                {"mailin_request": "dataset", "mailin_dataset_kind": "native", "mailin_comments": "ligand soak"},
            ]
        ),
    )
    s = {x.position: x for x in Sample.objects.filter(container__shipment=shipment)}
    assert (s[1].mailin_request, s[1].mailin_priority) == (MailinRequest.SCREEN, 3)
    assert (s[2].mailin_request, s[2].mailin_collect_better_than, s[2].mailin_priority) == ("screen_collect", 2.5, 1)
    assert (s[3].mailin_dataset_kind, s[3].anomalous_scatterer) == (DatasetKind.SAD, "Se")
    assert s[4].mailin_comments == "ligand soak"


def test_sad_without_scatterer_is_refused_on_its_path(mailin, member):
    errors = errors_of(mailin, member, [{}, {"mailin_request": "dataset", "mailin_dataset_kind": "sad"}])
    assert list(errors) == [S1 + "anomalous_scatterer"]
    assert "anomalous scatterer" in errors[S1 + "anomalous_scatterer"][0]


def test_mad_and_a_dataset_without_its_kind(mailin, member):
    errors = errors_of(
        mailin, member, [{"mailin_request": "dataset", "mailin_dataset_kind": "mad"}, {"mailin_request": "dataset"}]
    )
    assert set(errors) == {S0 + "anomalous_scatterer", S1 + "mailin_dataset_kind"}


def test_screen_and_collect_needs_its_resolution(mailin, member):
    errors = errors_of(mailin, member, [{"mailin_request": "screen_collect"}])
    assert list(errors) == [S0 + "mailin_collect_better_than"]


@pytest.mark.parametrize("value", [-1.5, 0])
def test_resolutions_are_positive(mailin, member, value):
    errors = errors_of(
        mailin,
        member,
        [{"mailin_request": "screen_collect", "mailin_collect_better_than": value}, {"required_resolution": value}],
    )
    assert set(errors) == {S0 + "mailin_collect_better_than", S1 + "required_resolution"}


@pytest.mark.parametrize("value", [0, 6, -2])
def test_priority_goes_from_1_to_5(mailin, member, value):
    errors = errors_of(mailin, member, [{"mailin_priority": 3}, {"mailin_priority": value}])
    assert list(errors) == [S1 + "mailin_priority"]


def test_an_unknown_request_is_refused(mailin, member):
    errors = errors_of(mailin, member, [{"mailin_request": "everything", "mailin_dataset_kind": "xyz"}])
    assert set(errors) == {S0 + "mailin_request", S0 + "mailin_dataset_kind"}


def test_a_bad_request_leaves_the_saved_shipment_as_it_was(mailin, member):
    shipment = shipment_create(proposal=mailin, user=member, data=tree([{"mailin_priority": 2}]))
    with pytest.raises(ValidationError) as exc:
        shipment_update(
            shipment=shipment, user=member, data=tree([{"mailin_priority": 1}, {"mailin_request": "screen_collect"}])
        )
    assert list(exc.value.message_dict) == [S1 + "mailin_collect_better_than"]
    assert list(Sample.objects.values_list("position", "mailin_priority")) == [(1, 2)]


def test_a_left_out_request_keeps_its_value(mailin, member):
    shipment = shipment_create(
        proposal=mailin, user=member, data=tree([{"mailin_request": "dataset", "mailin_dataset_kind": "native"}])
    )
    shipment_update(shipment=shipment, user=member, data=tree([{"comments": "changed"}]))
    sample = Sample.objects.get()
    assert (sample.mailin_request, sample.mailin_dataset_kind, sample.comments) == ("dataset", "native", "changed")


def test_other_proposals_samples_carry_no_request(proposal, member):
    errors = errors_of(proposal, member, [{"mailin_request": "screen"}, {"mailin_priority": 1}])
    assert set(errors) == {S0 + "mailin_request", S1 + "mailin_priority"}
    assert "mail-in proposal" in errors[S0 + "mailin_request"][0]
    # Empty or default values (a read-back sent again) are no request, and are accepted.
    shipment_create(
        proposal=proposal,
        user=member,
        data=tree([{"mailin_request": "", "mailin_priority": 3, "mailin_comments": "", "mailin_dataset_kind": None}]),
    )
    assert Sample.objects.get().mailin_request == ""


# --- the web form ----------------------------------------------------------------------------------------


def test_the_form_shows_the_request_only_for_mail_in_proposals(client, member, proposal, lab_contact):
    client.force_login(member)
    url = reverse("shipping:create", args=[proposal.pk])
    assert "mailin_request" not in client.get(url).content.decode()
    proposal.mail_in = True
    proposal.save(update_fields=["mail_in"])
    fields = form_fields(client.get(url))
    assert fields["d-0-c-0-s-1-mailin_request"] == "screen" and fields["d-0-c-0-s-1-mailin_priority"] == "3"


def test_form_saves_requests_and_shows_errors_beside_their_fields(client, member, mailin, lab_contact):
    client.force_login(member)
    samples = [
        {"name": "a1", "protein_acronym": "LYS", "mailin_request": "dataset", "mailin_dataset_kind": "sad"},
        {"name": "a2", "protein_acronym": "LYS", "mailin_request": "screen_collect"},
        {"name": "a3", "protein_acronym": "LYS", "mailin_priority": "9"},
    ]
    response = client.post(reverse("shipping:create", args=[mailin.pk]), filled_create_form(client, mailin, samples))
    assert response.status_code == 400 and not Sample.objects.exists()
    html = response.content.decode()
    assert "needs the anomalous scatterer" in cell(html, "d-0-c-0-s-1-anomalous_scatterer")
    assert "Give the resolution" in cell(html, "d-0-c-0-s-2-mailin_collect_better_than")
    assert 'aria-invalid="true"' in cell(html, "d-0-c-0-s-3-mailin_priority")

    data = form_fields(response)
    data.update(
        {
            "d-0-c-0-s-1-anomalous_scatterer": "Se",
            "d-0-c-0-s-2-mailin_collect_better_than": "2.2",
            "d-0-c-0-s-3-mailin_priority": "1",
            "d-0-c-0-s-3-mailin_comments": "urgent",
        }
    )
    response = client.post(reverse("shipping:create", args=[mailin.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    got = {
        s.name: (s.mailin_request, s.mailin_dataset_kind, s.mailin_collect_better_than, s.mailin_priority)
        for s in Sample.objects.all()
    }
    assert got == {
        "a1": ("dataset", "sad", None, 3),
        "a2": ("screen_collect", "", 2.2, 3),
        "a3": ("screen", "", None, 1),
    }
    # Read back into the form for editing.
    shipment = Sample.objects.get(name="a3").container.shipment
    edit = form_fields(client.get(reverse("shipping:edit", args=[shipment.pk])))
    assert edit["d-0-c-0-s-3-mailin_comments"] == "urgent" and edit["d-0-c-0-s-1-mailin_dataset_kind"] == "sad"


# --- the sample sheet ------------------------------------------------------------------------------------


def test_sheet_imports_requests_with_their_aliases_and_words(mailin, member):
    shipment = f.ShipmentFactory(proposal=mailin, created_by=member)
    aliases = {"Request": "MXpress request", "Priority": "MXpress priority", "Data set": "dataset"}
    header = [aliases.get(h, h) for h in HEADERS]
    rows = [
        sheet_row(position=1, name="s1", mailin_request="screen"),
        sheet_row(position=2, name="s2", mailin_request="Screen and collect", mailin_collect_better_than="2.5"),
        sheet_row(position=3, name="s3", mailin_request="SAD", anomalous_scatterer="Se", mailin_priority=1),
        sheet_row(position=4, name="s4", mailin_request="data set", mailin_dataset_kind="native"),
        sheet_row(position=5, name="s5", mailin_comments="keep cold"),
    ]
    import_sheet(shipment=shipment, user=member, uploaded_file=csv_file(rows, header=header))
    got = {
        s.name: (s.mailin_request, s.mailin_dataset_kind, s.mailin_collect_better_than, s.mailin_priority)
        for s in Sample.objects.all()
    }
    assert got == {
        "s1": ("screen", "", None, 3),
        "s2": ("screen_collect", "", 2.5, 3),
        "s3": ("dataset", "sad", None, 1),
        "s4": ("dataset", "native", None, 3),
        "s5": ("screen", "", None, 3),
    }
    assert Sample.objects.get(name="s5").mailin_comments == "keep cold"


def test_sheet_reports_bad_requests_by_line_and_column(mailin, member):
    shipment = f.ShipmentFactory(proposal=mailin, created_by=member)
    rows = [
        sheet_row(position=1, name="s1", mailin_request="everything"),
        sheet_row(position=2, name="s2", mailin_request="SAD"),
        sheet_row(position=3, name="s3", mailin_request="screen and collect"),
        sheet_row(position=4, name="s4", mailin_request="screen_collect", mailin_collect_better_than=-2),
        sheet_row(position=5, name="s5", mailin_priority=7),
        sheet_row(position=6, name="s6", mailin_priority="1.5"),
        sheet_row(position=7, name="s7", mailin_dataset_kind="SIRAS"),
        sheet_row(position=8, name="s8", mailin_request="MAD", mailin_dataset_kind="native", anomalous_scatterer="Se"),
    ]
    with pytest.raises(SheetError) as exc:
        import_sheet(shipment=shipment, user=member, uploaded_file=xlsx_file(rows))
    found = {(p.line, p.column) for p in exc.value.problems}
    assert found == {
        (2, "Request"),
        (3, "Anomalous scatterer"),
        (4, "Collect if better than"),
        (5, "Collect if better than"),
        (6, "Priority"),
        (7, "Priority"),
        (8, "Data set"),
        (9, "Request"),
    }
    assert not Sample.objects.exists()


def test_sheet_requests_are_refused_for_other_proposals(proposal, member):
    shipment = f.ShipmentFactory(proposal=proposal, created_by=member)
    rows = [sheet_row(position=1, name="s1", mailin_request="screen"), sheet_row(position=2, name="s2")]
    with pytest.raises(SheetError) as exc:
        import_sheet(shipment=shipment, user=member, uploaded_file=csv_file(rows))
    assert {(p.line, p.column) for p in exc.value.problems} == {(2, "Request")}


def test_templates_have_the_request_columns(mailin, member):
    for column in ("Request", "Data set", "Collect if better than", "Priority", "Request comments"):
        assert column in HEADERS
    assert "Request,Data set,Collect if better than,Priority,Request comments" in template_csv().decode()
    shipment = f.ShipmentFactory(proposal=mailin, created_by=member)
    import_sheet(shipment=shipment, user=member, uploaded_file=SimpleUploadedFile("t.xlsx", template_xlsx()))
    assert set(Sample.objects.values_list("mailin_request", flat=True)) == {"screen"}


# --- the API ---------------------------------------------------------------------------------------------


def _api_payload(proposal, contact, samples):
    return {"proposal": proposal.pk, "sending_contact": contact.pk, "return_contact": contact.pk, **tree(samples)}


def test_api_round_trip(mailin, member, lab_contact):
    client = api_as(member)
    samples = [
        {"mailin_request": "dataset", "mailin_dataset_kind": "mad", "anomalous_scatterer": "Se", "mailin_priority": 2},
        {"mailin_request": "screen_collect", "mailin_collect_better_than": 2.0, "mailin_comments": "PEG"},
    ]
    created = client.post("/api/v1/shipments/", _api_payload(mailin, lab_contact, samples), format="json")
    assert created.status_code == 201, created.json()
    body = client.get(f"/api/v1/shipments/{created.json()['id']}/").json()
    first, second = body["dewars"][0]["containers"][0]["samples"]
    assert (first["mailin_request"], first["mailin_dataset_kind"], first["mailin_priority"]) == ("dataset", "mad", 2)
    assert (second["mailin_collect_better_than"], second["mailin_comments"], second["mailin_priority"]) == (
        2.0,
        "PEG",
        3,
    )

    # What was read is written back unchanged; then one change, and a bad one with its path.
    back = {k: v for k, v in body.items() if k in ("name",)}
    back["dewars"] = [
        {
            "id": d["id"],
            "name": d["name"],
            "containers": [
                {
                    "id": c["id"],
                    "name": c["name"],
                    "samples": [
                        {k: v for k, v in s.items() if k not in ("protein", "status")} | {"protein": s["protein"]["id"]}
                        for s in c["samples"]
                    ],
                }
                for c in d["containers"]
            ],
        }
        for d in body["dewars"]
    ]
    back["dewars"][0]["containers"][0]["samples"][1]["mailin_priority"] = 5
    response = client.put(f"/api/v1/shipments/{body['id']}/", back, format="json")
    assert response.status_code == 200, response.json()
    assert Sample.objects.get(name="x2").mailin_priority == 5
    back["dewars"][0]["containers"][0]["samples"][0]["anomalous_scatterer"] = ""
    response = client.put(f"/api/v1/shipments/{body['id']}/", back, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [S0 + "anomalous_scatterer"]


def test_api_refuses_requests_for_other_proposals(proposal, member, lab_contact):
    client = api_as(member)
    response = client.post(
        "/api/v1/shipments/", _api_payload(proposal, lab_contact, [{"mailin_request": "screen"}]), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [S0 + "mailin_request"]
    created = client.post("/api/v1/shipments/", _api_payload(proposal, lab_contact, [{}]), format="json")
    sample = created.json()["dewars"][0]["containers"][0]["samples"][0]
    assert (sample["mailin_request"], sample["mailin_priority"]) == ("", 3)
