import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from lims.models import AuditEntry
from shipping.choices import ShipmentStatus

pytestmark = pytest.mark.django_db


def registered_models():
    return [m for m in apps.get_models() if m._meta.app_label in {"lims", "shipping", "samples"}]


def test_every_model_is_in_the_admin():
    missing = [m.__name__ for m in registered_models() if m not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m.__name__)
def test_admin_changelist_and_add_pages_open(client, admin_user, shipment, model):
    client.force_login(admin_user)
    info = (model._meta.app_label, model._meta.model_name)
    assert client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200
    obj = model.objects.first()
    if obj is not None:
        assert client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk])).status_code == 200


def test_admin_edit_is_audited(client, admin_user, lab_contact):
    client.force_login(admin_user)
    url = reverse("admin:lims_labcontact_change", args=[lab_contact.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update({"proposal": lab_contact.proposal_id, "telephone": "+33 1 23 45 67 89"})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditEntry.objects.filter(object_id=str(lab_contact.pk), action="update").latest("at")
    assert entry.user == admin_user
    assert entry.changes["telephone"][1] == "+33 1 23 45 67 89"


def test_admin_send_action_goes_through_the_service(client, admin_user, shipment):
    client.force_login(admin_user)
    url = reverse("admin:shipping_shipment_changelist")
    client.post(url, {"action": "send", "_selected_action": [shipment.pk]})
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SENT
    assert shipment.dewars.get().events.count() == 1
