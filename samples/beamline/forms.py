"""The form of the sample changer page: a puck code and a position, as a keyboard-wedge scanner sends them.

The puck is its barcode (as the scanner reads it) or its name; the position is the text on the position's
label ("MX-3:07", "MX-2:3:2"), the bare address ("7", "3:2"), or a position chosen from the list. The form
only reads: it finds the puck and the position, and ``samples.services.container_assign`` decides.
"""

from django import forms

from lims.barcodes.codes import code_part, normalise
from lims.models import Beamline, split_position_code
from samples.choices import CONTAINER_GONE
from samples.models import Container

TYPE_LABELS = {"spine": "SPINE", "unipuck": "UniPuck", "other": "other"}


def parse_position(beamline: Beamline, text: str) -> tuple[int | None, str]:
    """The position that ``text`` names on ``beamline`` (its label code, "MX-3:07" or its address), or an
    explanation."""
    name, address = split_position_code(text)
    if name is None and any(ch.isalpha() for ch in address):
        return None, f"{text.strip()} is not a position of {beamline.name}."
    if name is not None and code_part(name) != code_part(beamline.name):
        names = Beamline.objects.exclude(pk=beamline.pk).values_list("name", flat=True)
        other = next((n for n in names if code_part(n) == code_part(name)), None)
        if other:
            return None, f"{text.strip()} is a position of {other}, not of {beamline.name}."
        return None, f"{text.strip()} is not a position of {beamline.name}."
    position = beamline.read_position(text)
    if position is None:
        first, last = beamline.address(1), beamline.address(beamline.puck_positions)
        return (
            None,
            f"{beamline.name} has no position {address or text.strip()}: its positions run from {first} to {last}.",
        )
    return position, ""


def find_puck(queryset, text: str) -> tuple[Container | None, str]:
    """The puck whose barcode (as scanned) or name is ``text``, among ``queryset``; or an explanation."""
    code = normalise(text)
    puck = queryset.filter(barcode__iexact=code).first()
    if puck is not None:
        return puck, ""
    named = list(queryset.filter(name__iexact=text.strip()).exclude(status__in=CONTAINER_GONE)[:2])
    if len(named) == 1:
        return named[0], ""
    if named:
        return None, f"Several pucks are named {text.strip()}: scan its barcode instead."
    return None, f"No puck has the code {text.strip()}."


class AssignForm(forms.Form):
    """Which puck goes where. ``clean()`` leaves ``container`` and ``position`` in cleaned_data."""

    puck = forms.CharField(
        label="Puck",
        max_length=60,
        help_text="Scan the puck's barcode (or type its name).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "scan-input"}),
    )
    position = forms.CharField(
        label="Position",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "scan-input"}),
    )
    slot = forms.TypedChoiceField(label="or choose a position", coerce=int, required=False, empty_value=None)

    def __init__(self, *args, beamline: Beamline, containers, slots: list[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.beamline = beamline
        self.containers = containers
        choices = [("", "—")]
        for slot in slots or [
            {"position": p, "address": beamline.address(p), "container": None} for p in beamline.positions
        ]:
            held = slot["container"]
            what = (held.barcode or held.name) if held else "empty"
            choices.append((slot["position"], f"{slot['address']} · {what}"))
        self.fields["slot"].choices = choices
        example = beamline.label_code(min(7, beamline.puck_positions))
        self.fields["position"].widget.attrs["placeholder"] = example
        self.fields["position"].help_text = f"Scan the position's label, e.g. {example}, or type its address."

    def clean_puck(self) -> str:
        text = self.cleaned_data["puck"]
        if split_position_code(text)[0] is not None and self.beamline.read_position(text) is not None:
            raise forms.ValidationError(f"{text.strip()} is a position: scan the puck first.", code="position_first")
        container, problem = find_puck(self.containers, text)
        if problem:
            raise forms.ValidationError(problem, code="unknown_puck")
        self.cleaned_data["container"] = container
        return text.strip()

    def clean(self):
        data = super().clean()
        text = (data.get("position") or "").strip()
        if text:
            position, problem = parse_position(self.beamline, text)
            if problem:
                self.add_error("position", forms.ValidationError(problem, code="unknown_position"))
                return data
        else:
            position = data.get("slot")
        if position is None:
            if "position" not in self.errors and "puck" not in self.errors:
                self.add_error(
                    "position",
                    forms.ValidationError("Now scan the position's label, or choose a position.", code="no_position"),
                )
            return data
        data["position"] = position
        return data

    @property
    def wants_position_only(self) -> bool:
        """The puck is known and only the position is missing: the scanner's first half of an assignment."""
        codes = {e.code for e in self.errors.as_data().get("position", [])}
        return "puck" not in self.errors and codes == {"no_position"}
