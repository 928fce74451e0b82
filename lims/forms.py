"""Forms of the core pages: the lab contact card."""

from django import forms

from .models import LabContact
from .services import LAB_CONTACT_FIELDS


class LabContactForm(forms.ModelForm):
    """Every field of a lab contact card; the card is written by lims.services, never by ``save()``."""

    class Meta:
        model = LabContact
        fields = LAB_CONTACT_FIELDS
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def save(self, commit=True):
        raise NotImplementedError("Write cards with lims.services.lab_contact_create/update.")
