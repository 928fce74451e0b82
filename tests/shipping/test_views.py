"""The shipment pages: the one-page form (create, edit, errors beside their fields), send, cancel,
the sample-sheet import page, and their query counts."""

from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from lims.errors import DomainError
from lims.models import AuditEntry, LabContact
from samples.models import Container, Sample
from shipping.choices import ShipmentStatus
from shipping.models import Shipment
from shipping.services import shipment_send
from tests import factories as f
from tests.queries import count_queries

pytestmark = pytest.mark.django_db


class FormFields(HTMLParser):
    """The fields a browser would submit from ``<form id=...>``: name → value (selected option, text)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "file"):
            self.fields[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
            self.fields.setdefault(self._select, None)
        elif tag == "option" and self._select:
            if self.fields[self._select] is None or "selected" in a:
                self.fields[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data.lstrip("\n")


def form_fields(response, form_id="shipment-form") -> dict:
    parser = FormFields(form_id)
    parser.feed(response.content.decode())
    return {k: (v or "") for k, v in parser.fields.items()}


def cell(html: str, name: str) -> str:
    """The HTML of a field with its messages: from the input called ``name`` to the next input; in the grid,
    the input and the message about it in the line under its row (a message inside a cell would stretch it)."""
    start = html.index(f'id="f-{name}"')
    end = html.find("<input", start + 10)
    field = html[start:end]
    if 'aria-invalid="true"' in field[: field.index(">")]:
        message = html.find(f'id="e-{name}"')
        assert message != -1, f"{name} is marked invalid but no message names it"
        field += html[message : html.index("</li>", message)]
    return field


SAMPLES = [
    {"name": "lys-01", "protein_acronym": "LYS", "pin_code": "AB12345678", "space_group": "P43212",
     "cell_a": "78.5", "cell_b": "78.5", "cell_c": "37.2", "cell_alpha": "90", "cell_beta": "90", "cell_gamma": "90",
     "experiment_kind": "SAD", "required_resolution": "1.8", "comments": "nice"},
    {"name": "lys-02", "protein_acronym": "LYS"},
    {"name": "thau-01", "protein_acronym": "THAU", "aimed_multiplicity": "7"},
]  # fmt: skip


def filled_create_form(client, proposal, samples=SAMPLES, **header) -> dict:
    data = form_fields(client.get(reverse("shipping:create", args=[proposal.pk])))
    data.update({"name": "Web-1", "return_courier": "DHL", "return_courier_account": "ACC-1", **header})
    data.update({"d-0-name": "Dewar-A", "d-0-customs_value": "150.00", "d-0-tracking_to_facility": "TRK1"})
    data.update({"d-0-c-0-name": "Puck-A", "d-0-c-0-container_type": "unipuck", "d-0-c-0-barcode": "UNI-0001"})
    for position, sample in enumerate(samples, start=1):
        for key, value in sample.items():
            data[f"d-0-c-0-s-{position}-{key}"] = value
    return data


def test_create_page_offers_one_blank_dewar_with_a_unipuck_grid(client, member, proposal, lab_contact):
    client.force_login(member)
    data = form_fields(client.get(reverse("shipping:create", args=[proposal.pk])))
    assert data["sending_contact"] == str(lab_contact.pk)
    assert data["return_contact"] == "same"
    assert "d-0-c-0-s-16-name" in data and "d-0-c-0-s-17-name" not in data
    assert "d-0-c-0-s-16-smiles" in data  # the diffraction plan behind "more"


def test_member_creates_a_shipment_with_a_dewar_a_puck_and_three_samples(client, member, proposal, lab_contact):
    client.force_login(member)
    response = client.post(reverse("shipping:create", args=[proposal.pk]), filled_create_form(client, proposal))

    shipment = Shipment.objects.get(proposal=proposal, name="Web-1")
    assert response.status_code == 302 and response.url == reverse("shipping:detail", args=[shipment.pk])
    assert shipment.sending_contact == lab_contact and shipment.return_contact == lab_contact
    assert shipment.return_courier_account == "ACC-1" and shipment.created_by == member
    dewar = shipment.dewars.get()
    assert dewar.name == "Dewar-A" and str(dewar.customs_value) == "150.00" and dewar.barcode
    puck = dewar.containers.get()
    assert (puck.name, puck.capacity, puck.barcode) == ("Puck-A", 16, "UNI-0001")
    samples = list(Sample.objects.filter(container=puck).select_related("protein").order_by("position"))
    assert [(s.position, s.name, s.protein.acronym) for s in samples] == [
        (1, "lys-01", "LYS"),
        (2, "lys-02", "LYS"),
        (3, "thau-01", "THAU"),
    ]
    first = samples[0]
    assert (first.pin_code, first.cell_a, first.cell_gamma, first.experiment_kind) == ("AB12345678", 78.5, 90, "SAD")
    assert first.required_resolution == 1.8 and samples[2].aimed_multiplicity == 7


def test_a_new_card_is_created_with_the_shipment(client, member, proposal):
    client.force_login(member)
    data = filled_create_form(client, proposal, sending_contact="new", return_contact="same")
    data.update({"sc-card_name": "Bench 4", "sc-name": "Alice", "sc-telephone": "+33 1", "sc-email": "a@lab.org",
                 "sc-lab_name": "Kinase lab", "sc-address": "1 Road", "sc-default_customs_value": "10"})  # fmt: skip

    response = client.post(reverse("shipping:create", args=[proposal.pk]), data)

    assert response.status_code == 302
    card = LabContact.objects.get(proposal=proposal, card_name="Bench 4")
    shipment = Shipment.objects.get(name="Web-1")
    assert shipment.sending_contact == card and shipment.return_contact == card
    assert AuditEntry.objects.filter(object_repr=str(card), action="create").exists()


def test_a_bad_sample_name_is_shown_beside_its_field_and_nothing_is_saved(client, member, proposal, lab_contact):
    client.force_login(member)
    samples = [SAMPLES[0], {"name": "bad name", "protein_acronym": "LYS"}, SAMPLES[2]]
    data = filled_create_form(client, proposal, samples=samples, sending_contact="new")
    data.update({"sc-card_name": "Bench 4", "sc-name": "Alice", "sc-telephone": "+33 1", "sc-email": "a@lab.org",
                 "sc-lab_name": "Kinase lab", "sc-address": "1 Road"})  # fmt: skip

    response = client.post(reverse("shipping:create", args=[proposal.pk]), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Use only letters, digits" in cell(html, "d-0-c-0-s-2-name")
    assert "Use only letters, digits" not in cell(html, "d-0-c-0-s-1-name")
    assert 'value="bad name"' in cell(html, "d-0-c-0-s-2-name")  # what the user typed is kept
    assert 'href="#f-d-0-c-0-s-2-name"' in html  # and listed at the top
    assert not Shipment.objects.filter(name="Web-1").exists()
    assert not Sample.objects.exists()
    assert not LabContact.objects.filter(card_name="Bench 4").exists()  # the new card was rolled back too
    # The re-rendered page still carries the whole form: sending it again, corrected, saves it.
    again = form_fields(response)
    again["d-0-c-0-s-2-name"] = "lys-02"
    assert client.post(reverse("shipping:create", args=[proposal.pk]), again).status_code == 302
    assert Sample.objects.filter(container__shipment__name="Web-1").count() == 3


def test_errors_of_the_new_card_and_of_the_shipment_are_shown_together(client, member, proposal):
    client.force_login(member)
    data = filled_create_form(client, proposal, name="", sending_contact="new")
    data["d-0-c-0-s-1-cell_a"] = "long"

    response = client.post(reverse("shipping:create", args=[proposal.pk]), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html[html.index('id="id_sc-card_name"') :][:400]
    assert "This field cannot be blank." in cell(html, "name")
    assert "must be a float" in cell(html, "d-0-c-0-s-1-cell_a")
    assert not Shipment.objects.exists()


def test_a_sample_beyond_the_capacity_is_reported_on_its_row(client, member, proposal, lab_contact):
    client.force_login(member)
    data = filled_create_form(client, proposal, samples=SAMPLES[:1])
    data.update({"d-0-c-0-container_type": "other", "d-0-c-0-capacity": "4"})
    data.update({"d-0-c-0-s-6-name": "far", "d-0-c-0-s-6-protein_acronym": "LYS"})

    response = client.post(reverse("shipping:create", args=[proposal.pk]), data)

    assert response.status_code == 400
    html = response.content.decode()
    row = html[html.index('id="b-d-0-c-0-s-6-"') :][:6000]
    assert "Position 6 does not exist in Puck-A" in row.split("</tbody>")[0]
    assert not Shipment.objects.exists()


def test_a_domain_error_is_shown_at_the_top(client, member, proposal, lab_contact, monkeypatch):
    def refuse(**kwargs):
        raise DomainError("Another change was saved at the same time; reload and try again.")

    monkeypatch.setattr("shipping.forms.shipment_create", refuse)
    client.force_login(member)

    response = client.post(reverse("shipping:create", args=[proposal.pk]), filled_create_form(client, proposal))

    assert response.status_code == 400
    assert "Another change was saved at the same time" in response.content.decode().split('id="error-summary"')[1]


def test_member_edits_a_draft(client, member, shipment):
    client.force_login(member)
    url = reverse("shipping:edit", args=[shipment.pk])
    data = form_fields(client.get(url))
    assert data["d-0-c-0-s-2-name"] == "Alice-1-0-0-1" and data["d-0-c-0-s-2-protein_acronym"] == "LYS"
    sample_ids = set(Sample.objects.filter(container__shipment=shipment).values_list("pk", flat=True))
    data.update({"comments": "Handle with care", "d-0-name": "Renamed", "d-0-c-0-s-2-space_group": "C2"})
    data.update({"d-0-c-0-s-3-name": "", "d-0-c-0-s-3-protein_acronym": ""})  # emptied row: sample removed
    data.update({"d-0-c-0-s-9-name": "new-9", "d-0-c-0-s-9-protein_acronym": "LYS"})

    response = client.post(url, data)

    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.comments == "Handle with care"
    assert shipment.dewars.get().name == "Renamed"
    samples = {s.position: s for s in Sample.objects.filter(container__shipment=shipment)}
    assert sorted(samples) == [1, 2, 9]
    assert samples[2].space_group == "C2" and samples[2].pk in sample_ids  # matched, not re-created


def test_member_adds_a_second_dewar_and_removes_the_puck_of_the_first(client, member, shipment):
    client.force_login(member)
    url = reverse("shipping:edit", args=[shipment.pk])
    data = {k: v for k, v in form_fields(client.get(url)).items() if not k.startswith("d-0-c-0-")}
    data.update({"d-7-id": "", "d-7-name": "Second", "d-7-c-2-id": "", "d-7-c-2-name": "SP-1"})
    data.update({"d-7-c-2-container_type": "spine", "d-7-c-2-s-10-name": "x10", "d-7-c-2-s-10-protein_acronym": "LYS"})

    assert client.post(url, data).status_code == 302

    assert list(shipment.dewars.order_by("id").values_list("name", flat=True)) == ["Alice-1-D1", "Second"]
    puck = Container.objects.get(shipment=shipment)
    assert (puck.name, puck.capacity, puck.samples.get().position) == ("SP-1", 10, 10)


def test_mark_as_sent(client, member, shipment):
    client.force_login(member)

    response = client.post(reverse("shipping:send", args=[shipment.pk]), follow=True)

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SENT
    assert 'id="shipment-status">Sent to facility<' in response.content.decode()
    assert "In transit to facility" in response.content.decode()  # the dewar's transport event


def test_send_refusal_is_shown_as_a_message(client, member, proposal):
    empty = f.ShipmentFactory(proposal=proposal, sending_contact=None, return_contact=None)
    client.force_login(member)

    response = client.post(reverse("shipping:send", args=[empty.pk]), follow=True)

    empty.refresh_from_db()
    assert empty.status == ShipmentStatus.DRAFT
    assert "The shipment cannot be sent yet: Add at least one dewar." in response.content.decode()


def test_cancel_a_draft(client, member, shipment):
    client.force_login(member)

    response = client.post(reverse("shipping:cancel", args=[shipment.pk]), follow=True)

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.CANCELLED
    html = response.content.decode()
    assert "Mark as sent" not in html and "Cancel shipment" not in html and ">Edit<" not in html


def test_cancel_after_sending_is_refused(client, member, shipment):
    shipment_send(shipment=shipment, user=member)
    client.force_login(member)

    response = client.post(reverse("shipping:cancel", args=[shipment.pk]))

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SENT
    assert "cannot become cancelled" in [str(m) for m in get_messages(response.wsgi_request)][0]


def test_pages_refuse_get_on_actions(client, member, shipment):
    client.force_login(member)
    assert client.get(reverse("shipping:send", args=[shipment.pk])).status_code == 405


def test_sent_shipment_edit_is_refused_for_the_member(client, member, shipment):
    shipment_send(shipment=shipment, user=member)
    client.force_login(member)
    url = reverse("shipping:edit", args=[shipment.pk])

    page = client.get(url)
    posted = client.post(url, {"name": "Changed", "comments": "late change"})

    for response in (page, posted):
        assert response.status_code == 302 and response.url == reverse("shipping:detail", args=[shipment.pk])
        assert "contents are frozen" in str(list(get_messages(response.wsgi_request))[0])
    shipment.refresh_from_db()
    assert shipment.name == "Alice-1" and shipment.comments == ""
    assert ">Edit<" not in client.get(reverse("shipping:detail", args=[shipment.pk])).content.decode()


@pytest.mark.parametrize("persona", ["admin_user", "stores"])
def test_sent_shipment_may_be_corrected_by_facility_staff(client, member, shipment, persona, request):
    shipment_send(shipment=shipment, user=member)
    client.force_login(request.getfixturevalue(persona))
    url = reverse("shipping:edit", args=[shipment.pk])
    data = form_fields(client.get(url))
    data["d-0-tracking_to_facility"] = "CORRECTED-1"

    assert client.post(url, data).status_code == 302

    assert shipment.dewars.get().tracking_to_facility == "CORRECTED-1"
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SENT


def test_shipment_page_shows_the_tree_and_its_history(client, member, shipment):
    client.force_login(member)

    html = client.get(reverse("shipping:detail", args=[shipment.pk])).content.decode()

    dewar = shipment.dewars.get()
    assert dewar.barcode in html and "1 of 1" in html
    for name in ("Alice-1-0-0-0", "Alice-1-0-0-1", "Alice-1-0-0-2", "Alice-1-D1-P1"):
        assert name in html
    assert "Change log" in html and "Created" in html


# --- query counts: the same for one sample as for 3 dewars × 4 pucks × 16 samples ---------------------


def queries_of(client, url) -> int:
    with count_queries() as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_dashboard_queries_do_not_grow_with_the_shipments(client, member, proposal):
    client.force_login(member)
    f.shipment_tree(proposal=proposal, user=member, samples=1, name="Small")
    client.get(reverse("dashboard"))  # warm the content-type and session caches
    small = queries_of(client, reverse("dashboard"))
    for n in range(3):
        f.shipment_tree(proposal=proposal, user=member, dewars=3, pucks=4, samples=16, name=f"Big{n}")
    # session, user, facility roles, shipment count (pager), proposals, shipments with their counts
    assert queries_of(client, reverse("dashboard")) == small == 6


def test_shipment_page_queries_do_not_grow_with_the_tree(client, member, proposal):
    client.force_login(member)
    small = f.shipment_tree(proposal=proposal, user=member, samples=1, name="Small")
    big = f.shipment_tree(proposal=proposal, user=member, dewars=3, pucks=4, samples=16, name="Big")
    shipment_send(shipment=big, user=member)  # so that it has transport events too
    client.get(reverse("shipping:detail", args=[small.pk]))  # warm the content-type cache

    expected = queries_of(client, reverse("shipping:detail", args=[small.pk]))

    # session, user, facility roles, shipment, dewars, containers, samples (with proteins), events, audit
    assert queries_of(client, reverse("shipping:detail", args=[big.pk])) == expected == 9


def test_edit_page_queries_do_not_grow_with_the_tree(client, member, proposal):
    client.force_login(member)
    small = f.shipment_tree(proposal=proposal, user=member, samples=1, name="Small")
    big = f.shipment_tree(proposal=proposal, user=member, dewars=3, pucks=4, samples=16, name="Big")
    client.get(reverse("shipping:edit", args=[small.pk]))

    expected = queries_of(client, reverse("shipping:edit", args=[small.pk]))

    assert queries_of(client, reverse("shipping:edit", args=[big.pk])) == expected


def test_a_bad_protein_acronym_is_shown_beside_its_field(client, member, proposal, lab_contact):
    client.force_login(member)
    data = filled_create_form(client, proposal)
    data["d-0-c-0-s-2-protein_acronym"] = "LY S"

    response = client.post(reverse("shipping:create", args=[proposal.pk]), data)

    assert response.status_code == 400
    assert "Use only letters, digits" in cell(response.content.decode(), "d-0-c-0-s-2-protein_acronym")
    assert not Shipment.objects.exists()


# --- sample-sheet import page --------------------------------------------------------------------------

SHEET_HEADER = (
    "Dewar,Container,Container type,Position,Protein acronym,Sample name,Pin barcode,Space group,"
    "a,b,c,alpha,beta,gamma,Experiment kind,Required resolution,Comments\n"
)


def upload(text: str, name="sheet.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_import_page_imports_a_csv_sheet(client, member, proposal):
    draft = f.ShipmentFactory(proposal=proposal, name="Sheet-1")
    rows = "".join(f"D1,P1,UniPuck,{p},LYS,sheet-{p},,P1,,,,,,,OSC,2.0,\n" for p in (1, 2, 3))
    client.force_login(member)

    response = client.post(reverse("shipping:sheet_import", args=[draft.pk]), {"file": upload(SHEET_HEADER + rows)})

    assert response.status_code == 302 and response.url == reverse("shipping:detail", args=[draft.pk])
    assert "1 dewar(s), 1 puck(s), 3 sample(s)" in str(list(get_messages(response.wsgi_request))[0])
    names = Sample.objects.filter(container__shipment=draft).order_by("position").values_list("name", flat=True)
    assert list(names) == ["sheet-1", "sheet-2", "sheet-3"]


def test_import_page_lists_every_problem_by_line_and_column(client, member, proposal):
    draft = f.ShipmentFactory(proposal=proposal, name="Sheet-1")
    rows = "D1,P1,UniPuck,1,LYS,good-1,,,,,,,,,,,\nD1,P1,UniPuck,2,LYS,bad name,,,,,,,,,,,\nD1,P1,UniPuck,3,LYS,x3,,,long,,,,,,,,\n"
    client.force_login(member)

    response = client.post(reverse("shipping:sheet_import", args=[draft.pk]), {"file": upload(SHEET_HEADER + rows)})

    assert response.status_code == 400
    table = response.content.decode().split('id="sheet-problems"')[1].split("</table>")[0]
    assert '<td class="num">3</td><td>Sample name</td>' in table
    assert '<td class="num">4</td><td>a</td>' in table
    assert not Sample.objects.filter(container__shipment=draft).exists()


def test_import_page_names_the_format_it_read(client, member, proposal):
    """An ISPyB shipping CSV without header (as EXI ships it) is named on the page, on success and on failure."""
    draft = f.ShipmentFactory(proposal=proposal, name="Sheet-1")
    client.force_login(member)
    exi = "#parcel name, container name, container type, container position, protein acronym, sample acronym\n"
    good = exi + "".join(f"D1,P1,Unipuck,{p},LYS,exi-{p}\n" for p in (1, 2))

    response = client.post(reverse("shipping:sheet_import", args=[draft.pk]), {"file": upload(good)}, follow=True)

    page = response.content.decode()
    assert "Read as ISPyB shipping CSV (EXI, py-ispyb-ui), without a header row." in page
    assert Sample.objects.filter(container__shipment=draft).count() == 2

    bad = exi + "D2,P2,Unipuck,1,LYS,exi-3,,P99\nD2,P2,Unipuck,2,LYS,exi-4\n"
    response = client.post(reverse("shipping:sheet_import", args=[draft.pk]), {"file": upload(bad)})
    assert response.status_code == 400
    page = response.content.decode()
    assert '<p id="sheet-read-as">Read as ISPyB shipping CSV (EXI, py-ispyb-ui), without a header row.</p>' in page
    assert '<td class="num">2</td><td>SPG</td>' in page


def test_import_into_a_sent_shipment_is_refused_for_the_member(client, member, shipment):
    shipment_send(shipment=shipment, user=member)
    client.force_login(member)

    response = client.get(reverse("shipping:sheet_import", args=[shipment.pk]))

    assert response.status_code == 302 and response.url == reverse("shipping:detail", args=[shipment.pk])
    assert "frozen" in str(list(get_messages(response.wsgi_request))[0])


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")],
)
def test_sheet_templates_download(client, member, fmt, content_type):
    client.force_login(member)

    response = client.get(reverse("shipping:sheet_template", args=[fmt]))

    assert response.status_code == 200 and response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="sample-sheet-template.{fmt}"'
    if fmt == "csv":
        assert response.content.decode().startswith("Dewar,Container,Container type,Position")


def test_unknown_template_format_is_a_404(client, member):
    client.force_login(member)
    assert client.get(reverse("shipping:sheet_template", args=["pdf"])).status_code == 404


def test_a_full_shipment_can_be_saved_from_the_page(client, member, proposal):
    # 3 dewars × 4 pucks × 16 samples: every input of the page is posted, some 5,000 fields.
    big = f.shipment_tree(proposal=proposal, user=member, dewars=3, pucks=4, samples=16, name="Big")
    client.force_login(member)
    url = reverse("shipping:edit", args=[big.pk])
    data = form_fields(client.get(url))
    assert len(data) > 4000
    data["d-2-c-3-s-16-comments"] = "last pin"

    assert client.post(url, data).status_code == 302

    assert Sample.objects.get(container__shipment=big, container__name="Big-D3-P4", position=16).comments == "last pin"
    assert Sample.objects.filter(container__shipment=big).count() == 192


def test_shipment_page_offers_a_photo_audit_for_each_puck(client, member, shipment):
    client.force_login(member)
    html = client.get(reverse("shipping:detail", args=[shipment.pk])).content.decode()
    puck = shipment.containers.get()
    assert f'href="{reverse("samples:container", args=[puck.pk])}#audit"' in html
    assert "Audit from a photo" in html
