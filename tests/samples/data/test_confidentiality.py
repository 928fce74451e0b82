"""Industrial proposals' data are confidential: their members, mail-in operators and admins see them; no
other role (stores, beamline staff, local contacts) and no API token does. An academic proposal's data stay
visible to facility staff as before."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from lims.access import scope_confidential
from lims.choices import FacilityRole, MemberRole, ProposalKind
from lims.models import Proposal
from samples.data.selectors import collection_visible_to, collection_writable_by, group_visible_to
from samples.mailin.selectors import report_visible_to
from samples.models import Sample, ShipmentReport
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def mx3(db):
    return f.BeamlineFactory(name="MX-3")


@pytest.fixture
def acme(db):
    return f.ProposalFactory(code="in", number="0042", title="Acme Pharma", kind=ProposalKind.INDUSTRIAL, mail_in=True)


@pytest.fixture
def people(acme, proposal):
    member = f.UserFactory(username="acme-chemist")
    f.ProposalMemberFactory(proposal=acme, user=member, role=MemberRole.PRINCIPAL_INVESTIGATOR)
    outsider = f.UserFactory(username="outsider")
    f.ProposalMemberFactory(proposal=proposal, user=outsider)
    return {
        "member": member,
        "outsider": outsider,
        "stores": f.UserFactory(username="stores", groups=[FacilityRole.STORES]),
        "beamline staff": f.UserFactory(username="blstaff", groups=[FacilityRole.BEAMLINE_STAFF]),
        "local contact": f.UserFactory(username="lc", groups=[FacilityRole.LOCAL_CONTACT]),
        "mail-in operator": f.UserFactory(username="op", groups=[FacilityRole.MAILIN_OPERATOR]),
        "admin": f.UserFactory(username="root", is_staff=True, is_superuser=True, groups=[FacilityRole.ADMIN]),
    }


def _collection(proposal, beamline, name):
    shipment = f.shipment_tree(proposal=proposal, samples=1, name=name)
    sample = Sample.objects.get(container__shipment=shipment)
    group = f.collection_group(proposal=proposal, beamline=beamline, sample=sample)
    return f.collection(group, file_template=f"{name}_master.h5")


@pytest.fixture
def secret(acme, mx3):
    return _collection(acme, mx3, "AcmeSecret")


@pytest.fixture
def open_data(proposal, mx3):
    return _collection(proposal, mx3, "AcademicOpen")


SEES = {
    "member": True,
    "outsider": False,
    "stores": False,
    "beamline staff": False,
    "local contact": False,
    "mail-in operator": True,
    "admin": True,
}


def _page(user, url) -> int:
    client = Client()
    client.force_login(user)
    return client.get(url).status_code


def _api(user, url) -> int:
    client = APIClient()
    client.force_authenticate(user)
    return client.get(url).status_code


@pytest.mark.parametrize("who", list(SEES))
def test_the_collection_page_and_api(who, people, secret):
    user = people[who]
    assert _page(user, f"/data/{secret.pk}/") == (200 if SEES[who] else 404)
    # Stores may not read the data API at all (403); everybody else who may not see it gets a 404.
    assert _api(user, f"/api/v1/data-collections/{secret.pk}/") in ((200,) if SEES[who] else (403, 404))


@pytest.mark.parametrize("who", list(SEES))
def test_the_catalogue_and_the_selectors(who, people, secret, open_data):
    user = people[who]
    client = Client()
    client.force_login(user)
    html = client.get("/data/").content.decode()
    assert ("AcmeSecret_master.h5" in html) is SEES[who]
    assert collection_visible_to(user).filter(pk=secret.pk).exists() is SEES[who]
    assert group_visible_to(user).filter(pk=secret.group_id).exists() is SEES[who]
    # An academic proposal's collection: unchanged, every facility role sees it, and its own member (the
    # "outsider" to Acme); Acme's member does not.
    assert collection_visible_to(user).filter(pk=open_data.pk).exists() is (who != "member")


def test_a_beamline_token_reads_nothing_industrial(mx3, secret, open_data):
    key = f.api_token(mx3)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(f"/api/v1/data-collections/{secret.pk}/").status_code == 404
    assert client.get(f"/api/v1/data-collections/{open_data.pk}/").status_code == 200
    listed = client.get("/api/v1/data-collections/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert {row["id"] for row in rows} == {open_data.pk}


def test_a_token_keeps_its_beamline_filter(mx3, secret, open_data):
    from lims.tokens import TokenPrincipal, api_token_create

    mx1 = f.BeamlineFactory(name="MX-1")
    token_mx3, _ = api_token_create(name="mx3", beamline=mx3, created_by=None)
    token_mx1, _ = api_token_create(name="mx1", beamline=mx1, created_by=None)
    assert list(collection_visible_to(TokenPrincipal(token_mx3))) == [open_data]
    assert not collection_visible_to(TokenPrincipal(token_mx1)).exists()
    # Ingest still writes (attaches results to) its beamline's industrial collections.
    assert set(collection_writable_by(TokenPrincipal(token_mx3))) == {secret, open_data}
    assert not collection_writable_by(TokenPrincipal(token_mx1)).exists()


def test_reports_are_scoped_the_same_way(people, acme, proposal, secret):
    from lims.tokens import TokenPrincipal, api_token_create

    acme_report = ShipmentReport.objects.create(shipment=acme.shipments.get(), version=1, pdf="reports/a.pdf")
    shipment = f.shipment_tree(proposal=proposal, samples=1, name="Academic-1")
    open_report = ShipmentReport.objects.create(shipment=shipment, version=1, pdf="reports/b.pdf")
    for who, user in people.items():
        assert report_visible_to(user).filter(pk=acme_report.pk).exists() is SEES[who], who
    assert report_visible_to(people["stores"]).filter(pk=open_report.pk).exists()
    assert not report_visible_to(people["outsider"]).filter(pk=acme_report.pk).exists()
    token, _ = api_token_create(name="t", beamline=f.BeamlineFactory(name="MX-9"), created_by=None)
    assert not report_visible_to(TokenPrincipal(token)).exists()


def test_staff_member_of_an_industrial_proposal_sees_its_data(people, acme, secret):
    staff = people["beamline staff"]
    f.ProposalMemberFactory(proposal=acme, user=staff)
    assert collection_visible_to(staff).filter(pk=secret.pk).exists()


def test_scope_confidential_on_proposals(people, acme, proposal):
    proposals = Proposal.objects.all()
    assert acme not in scope_confidential(proposals, people["local contact"], "")
    assert proposal in scope_confidential(proposals, people["local contact"], "")
    assert acme in scope_confidential(proposals, people["mail-in operator"], "")
    assert list(scope_confidential(proposals, people["member"], "")) == [acme]
