"""The shipment form: a shipment, its dewars, their pucks and the grid of each puck's positions, on one page.

Inputs carry structured names so that static/js/shipment-form.js can add dewars and pucks and draw grid
rows in the browser: "name" (the shipment), "d-0-name" (dewar 0), "d-0-c-1-name" (its puck 1) and
"d-0-c-1-s-3-name" (position 3 of that puck). ``ShipmentForm`` turns the POST into the nested dict of
shipping.services, calls the service, and puts the service's errors, keyed by paths such as
"dewars.0.containers.1.samples.2.name", back beside the inputs they are about.

On a mail-in proposal each position also has a line of its own for the client's request (``REQUEST``:
what to do, which data set, the resolution to collect at, the anomalous scatterer, priority, comments),
with each message beside its input; other proposals never see nor send those fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import localtime

from lims.choices import Courier
from lims.forms import LabContactForm
from lims.models import LabContact
from lims.selectors import lab_contact_visible_to, local_contact_list, session_visible_to
from lims.services import lab_contact_create
from samples.choices import (
    CONTAINER_CAPACITY,
    CentringMethod,
    CollectionMode,
    ContainerType,
    DatasetKind,
    ExperimentKind,
    MailinRequest,
    ScreeningMethod,
)

from .choices import SafetyLevel
from .form_specs import (  # noqa: F401 - the tables are part of what this module offers
    DATE,
    DEFAULT_CAPACITY,
    DEFAULTS,
    DEWAR,
    DEWAR_KEY,
    FOREIGN_KEYS,
    HEADER,
    IDLE,
    MAILIN_ONLY,
    NEW_CARD,
    NULLABLE,
    NUMBER,
    PUCK,
    PUCK_KEY,
    REQUEST,
    ROW_KEY,
    ROW_PREFIX,
    SAME_CARD,
    SAMPLE,
    SAMPLE_ALL,
    SAMPLE_MORE,
    SAMPLE_MORE_MAILIN,
    SAMPLE_PLAIN,
    SELECT,
    TEXT,
    TEXTAREA,
    Spec,
)
from .models import Shipment
from .selectors import delivery_locations
from .services import shipment_create, shipment_update


@dataclass
class Input:
    """What a template needs to draw one input: name, label, value, choices and its error messages."""

    name: str
    spec: Spec
    value: str
    choices: tuple = ()
    errors: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "f-" + self.name

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def css(self) -> str:
        return self.spec.css

    @property
    def idle(self) -> str:
        """The value a select shows on an untouched position (the browser does not send such a row)."""
        return str(DEFAULTS.get(self.spec.field, ""))


def _text(value) -> str:
    """A stored value as the text of an input."""
    if value is None:
        return ""
    if hasattr(value, "pk"):
        return str(value.pk)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _value(obj, name: str) -> str:
    """A model field of ``obj`` as input text; foreign keys by id, so that nothing is fetched for it."""
    model_field = obj._meta.get_field(name)
    return _text(getattr(obj, model_field.attname))


def _blank(values: dict, specs) -> bool:
    for spec in specs:
        value = values.get(spec.field, "").strip()
        idle = IDLE.get(spec.field, {""})
        if idle is not None and value not in idle:
            return False
    return True


@dataclass
class Row:
    """One position of a puck's grid."""

    form: ShipmentForm
    prefix: str
    position: int
    values: dict[str, str]

    def _inputs(self, specs) -> list[Input]:
        return [self.form.input(self.prefix, spec, self.values) for spec in specs]

    @property
    def inputs(self) -> list[Input]:
        return self._inputs(SAMPLE)

    @property
    def more(self) -> list[Input]:
        return self._inputs(SAMPLE_MORE_MAILIN if self.form.mail_in else SAMPLE_MORE)

    @property
    def request(self) -> list[Input]:
        """The mail-in request's inputs (none for other proposals); messages beside each input."""
        return self._inputs(REQUEST) if self.form.mail_in else []

    @property
    def errors(self) -> list[str]:
        return self.form.errors.get(self.prefix, [])

    @property
    def messages(self) -> list[tuple[str, str, str]]:
        """The row's messages and those of its cells, drawn in a line under the row: (id, label, message).

        A message under a narrow grid cell would stretch its column; the cell is marked and its message
        named after the column, right beneath it.
        """
        cells = [(f"e-{i.name}", i.label, m) for i in self.inputs for m in i.errors]
        return [("", "", m) for m in self.errors] + cells

    @property
    def more_open(self) -> bool:
        """Open the extra fields when they hold something or an error."""
        return any(i.value or i.errors for i in self.more)

    @property
    def is_blank(self) -> bool:
        return _blank(self.values, SAMPLE_ALL)


@dataclass
class Puck:
    form: ShipmentForm
    prefix: str
    id: str
    values: dict[str, str]
    rows: dict[int, dict[str, str]]

    @property
    def inputs(self) -> list[Input]:
        values = dict(self.values)
        standard = CONTAINER_CAPACITY.get(values.get("container_type"))
        if standard:
            values["capacity"] = str(standard)
        return [self.form.input(self.prefix, spec, values) for spec in PUCK]

    @property
    def fixed_capacity(self) -> bool:
        return self.values.get("container_type") in CONTAINER_CAPACITY

    @property
    def errors(self) -> list[str]:
        return self.form.errors.get(self.prefix, [])

    @property
    def capacity(self) -> int:
        standard = CONTAINER_CAPACITY.get(self.values.get("container_type"))
        if standard:
            return standard
        try:
            return max(1, min(int(self.values.get("capacity", "")), 100))
        except ValueError:
            return DEFAULT_CAPACITY

    @property
    def grid(self) -> list[Row]:
        """Positions 1..capacity, and any position beyond it that holds something (so it is not lost)."""
        positions = sorted(set(range(1, self.capacity + 1)) | set(self.rows))
        return [Row(self.form, f"{self.prefix}s-{p}-", p, self.rows.get(p, {})) for p in positions]

    @property
    def is_blank(self) -> bool:
        return not self.id and _blank(self.values, PUCK) and all(_blank(v, SAMPLE_ALL) for v in self.rows.values())


@dataclass
class DewarBlock:
    form: ShipmentForm
    prefix: str
    id: str
    values: dict[str, str]
    pucks: list[Puck]

    @property
    def inputs(self) -> list[Input]:
        return [self.form.input(self.prefix, spec, self.values) for spec in DEWAR]

    @property
    def errors(self) -> list[str]:
        return self.form.errors.get(self.prefix, [])

    @property
    def is_blank(self) -> bool:
        return not self.id and _blank(self.values, DEWAR) and all(p.is_blank for p in self.pucks)


class _Rollback(Exception):
    """Undo the cards created so far: the shipment that needed them was refused."""


class ShipmentForm:
    """The whole shipment page: read from a shipment or from a POST, written through the services.

    Raises ``DomainError`` (and ``Frozen``) from the services to the view, which shows them as messages.
    """

    def __init__(self, *, proposal, user, shipment: Shipment | None = None, data=None):
        self.proposal, self.user, self.shipment = proposal, user, shipment
        self.mail_in = bool(proposal.mail_in)
        self.bound = data is not None
        self.errors: dict[str, list[str]] = {}
        self.top_errors: list[str] = []
        contacts = list(lab_contact_visible_to(user).filter(proposal=proposal))
        self.contacts = {str(c.pk): c for c in contacts}
        self.choices = self._choices(contacts)
        self.cards = {
            key: LabContactForm(data if self._wants_new_card(data, key) else None, prefix=prefix)
            for key, prefix in (("sending_contact", "sc"), ("return_contact", "rc"))
        }
        if data is not None:
            self.values = {spec.field: data.get(spec.field, "") for spec in HEADER}
            self.dewars = self._dewars_from_post(data)
        else:
            self.values, self.dewars = self._from_shipment(shipment)

    # --- reading -----------------------------------------------------------------------------------

    @staticmethod
    def _wants_new_card(data, key: str) -> bool:
        return data is not None and data.get(key) == NEW_CARD

    def _choices(self, contacts) -> dict[str, tuple]:
        cards = tuple((str(c.pk), f"{c.card_name} — {c.name}") for c in contacts)
        return {
            "sending_contact": (("", "— choose —"), *cards, (NEW_CARD, "+ New card…")),
            "return_contact": (
                ("", "— choose —"),
                (SAME_CARD, 'Same as "to facility"'),
                *cards,
                (NEW_CARD, "+ New card…"),
            ),
            "safety_level": tuple(SafetyLevel.choices),
            "delivery_location": (("", "—"), *((str(loc.pk), loc.name) for loc in delivery_locations())),
            "session": (
                ("", "—"),
                *(
                    (str(s.pk), f"{s.beamline} {localtime(s.start):%Y-%m-%d %H:%M}")
                    for s in session_visible_to(self.user).filter(proposal=self.proposal)
                ),
            ),
            "local_contact": (
                ("", "—"),
                *((str(u.pk), u.get_full_name() or u.username) for u in local_contact_list()),
            ),
            "container_type": tuple(ContainerType.choices),
            "experiment_kind": tuple(ExperimentKind.choices),
            "mailin_request": tuple(MailinRequest.choices),
            "mailin_dataset_kind": (("", "—"), *DatasetKind.choices),
            "centring_method": (("", "—"), *CentringMethod.choices),
            "collection_mode": (("", "—"), *CollectionMode.choices),
            "screening_method": (("", "—"), *ScreeningMethod.choices),
            "mailin_priority": tuple((str(n), str(n) + (" (most urgent)" if n == 1 else "")) for n in range(1, 6)),
        }

    def _from_shipment(self, shipment: Shipment | None):
        if shipment is None:
            first = next(iter(self.contacts), NEW_CARD)
            values = {"sending_contact": first, "return_contact": SAME_CARD, "safety_level": SafetyLevel.GREEN}
            # A blank dewar with a blank puck: enough to register a shipment without JavaScript.
            puck = Puck(self, "d-0-c-0-", "", {"container_type": ContainerType.UNIPUCK}, {})
            return values, [DewarBlock(self, "d-0-", "", {}, [puck])]
        values = {spec.field: _value(shipment, spec.field) for spec in HEADER}
        dewars = []
        for i, dewar in enumerate(shipment.dewars.all()):
            pucks = []
            for j, container in enumerate(dewar.containers.all()):
                rows = {}
                for sample in container.samples.all():
                    row = {
                        spec.field: _value(sample, spec.field) for spec in SAMPLE_ALL if spec.field != "protein_acronym"
                    }
                    row["protein_acronym"] = sample.protein.acronym
                    rows[sample.position] = row
                puck_values = {spec.field: _value(container, spec.field) for spec in PUCK}
                pucks.append(Puck(self, f"d-{i}-c-{j}-", str(container.pk), puck_values, rows))
            dewar_values = {spec.field: _value(dewar, spec.field) for spec in DEWAR}
            dewars.append(DewarBlock(self, f"d-{i}-", str(dewar.pk), dewar_values, pucks))
        return values, dewars

    def _dewars_from_post(self, data) -> list[DewarBlock]:
        # Indices come from the browser and may have gaps (removed blocks); their order is the page's order.
        dewar_ids = sorted({int(m[1]) for k in data if (m := DEWAR_KEY.match(k))})
        puck_ids: dict[int, set[int]] = {}
        for k in data:
            if m := PUCK_KEY.match(k):
                puck_ids.setdefault(int(m[1]), set()).add(int(m[2]))
        rows: dict[tuple[int, int], set[int]] = {}
        for k in data:
            if m := ROW_KEY.match(k):
                rows.setdefault((int(m[1]), int(m[2])), set()).add(int(m[3]))
        dewars = []
        for i in dewar_ids:
            d_prefix = f"d-{i}-"
            pucks = []
            for j in sorted(puck_ids.get(i, ())):
                c_prefix = f"{d_prefix}c-{j}-"
                grid = {
                    p: {spec.field: data.get(f"{c_prefix}s-{p}-{spec.field}", "") for spec in SAMPLE_ALL}
                    for p in sorted(rows.get((i, j), ()))
                }
                grid = {p: v for p, v in grid.items() if not _blank(v, SAMPLE_ALL)}
                values = {spec.field: data.get(c_prefix + spec.field, "") for spec in PUCK}
                pucks.append(Puck(self, c_prefix, data.get(c_prefix + "id", ""), values, grid))
            values = {spec.field: data.get(d_prefix + spec.field, "") for spec in DEWAR}
            dewars.append(DewarBlock(self, d_prefix, data.get(d_prefix + "id", ""), values, pucks))
        return dewars

    def input(self, prefix: str, spec: Spec, values: dict) -> Input:
        name = prefix + spec.field
        value = values.get(spec.field) or str(DEFAULTS.get(spec.field, ""))
        return Input(name, spec, value, self.choices.get(spec.field, ()), self.errors.get(name, []))

    @property
    def header(self) -> dict[str, Input]:
        return {spec.field: self.input("", spec, self.values) for spec in HEADER}

    @property
    def courier_choices(self):
        return Courier.values

    @property
    def error_count(self) -> int:
        cards = sum(len(m) for f in self.cards.values() if f.is_bound for m in f.errors.values())
        return len(self.top_errors) + sum(len(m) for m in self.errors.values()) + cards

    # --- writing -----------------------------------------------------------------------------------

    def save(self) -> Shipment | None:
        """Write the shipment (and any new lab contact card) in one transaction; None when refused."""
        try:
            with transaction.atomic():
                data, paths = self._service_data()
                shipment = None
                try:
                    if self.shipment is None:
                        shipment = shipment_create(proposal=self.proposal, user=self.user, data=data)
                    else:
                        shipment = shipment_update(shipment=self.shipment, user=self.user, data=data)
                except ValidationError as exc:
                    self._place_errors(exc.message_dict, paths)
                if self.error_count:
                    raise _Rollback
                return shipment
        except _Rollback:
            return None

    def _service_data(self) -> tuple[dict, dict[str, str]]:
        """The service's nested dict, and the input prefix of each of its paths ("dewars.0." → "d-3-")."""
        data: dict = {}
        for spec in HEADER:
            value = self.values.get(spec.field, "")
            data[spec.field] = None if value == "" and spec.field in NULLABLE else value
        sending = self._card("sending_contact", None)
        data["sending_contact"] = sending
        data["return_contact"] = self._card("return_contact", sending)
        paths: dict[str, str] = {}
        data["dewars"] = []
        for dewar in self.dewars:
            if dewar.is_blank:
                continue
            d_path = f"dewars.{len(data['dewars'])}."
            paths[d_path] = dewar.prefix
            item = self._item(dewar.values, DEWAR, dewar.prefix)
            if dewar.id:
                item["id"] = int(dewar.id)
            item["containers"] = []
            for puck in dewar.pucks:
                if puck.is_blank:
                    continue
                c_path = f"{d_path}containers.{len(item['containers'])}."
                paths[c_path] = puck.prefix
                c_item = self._item(puck.values, PUCK, puck.prefix)
                if puck.values.get("container_type") in CONTAINER_CAPACITY:
                    # The standard pucks have their fixed capacity; the service fills it in.
                    c_item.pop("capacity")
                if puck.id:
                    c_item["id"] = int(puck.id)
                c_item["samples"] = []
                for row in puck.grid:
                    if row.is_blank:
                        continue
                    paths[f"{c_path}samples.{len(c_item['samples'])}."] = row.prefix
                    s_item = self._item(row.values, self.sample_specs, row.prefix)
                    s_item["position"] = row.position
                    c_item["samples"].append(s_item)
                item["containers"].append(c_item)
            data["dewars"].append(item)
        return data, paths

    def _item(self, values: dict, specs, prefix: str) -> dict:
        item = {}
        for spec in specs:
            value = values.get(spec.field, "").strip()
            if spec.field in FOREIGN_KEYS:
                item[spec.field] = self._choice(spec.field, value, prefix)
            else:
                item[spec.field] = None if value == "" and spec.field in NULLABLE else value
        return item

    def _choice(self, field_name: str, value: str, prefix: str):
        """The object a select names, from the choices offered on this page (a 404-style refusal otherwise)."""
        if value == "":
            return None
        if value not in {key for key, _ in self.choices[field_name]}:
            self.errors.setdefault(prefix + field_name, []).append("Choose one of the options offered.")
            return None
        if field_name == "delivery_location":
            return delivery_locations().get(pk=value)
        if field_name == "session":
            return session_visible_to(self.user).get(pk=value)
        if field_name == "local_contact":
            return local_contact_list().get(pk=value)
        return value

    def _card(self, key: str, same) -> LabContact | None:
        """The card a contact select names: an existing card, the "to facility" card, or a new card."""
        value = self.values.get(key, "")
        if value == SAME_CARD:
            return same
        if value == NEW_CARD:
            form = self.cards[key]
            if not form.is_valid():
                return None
            try:
                return lab_contact_create(proposal=self.proposal, user=self.user, data=form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
                return None
        if value and value not in self.contacts:
            self.errors.setdefault(key, []).append("Choose one of the proposal's cards.")
            return None
        return self.contacts.get(value)

    def _place_errors(self, message_dict: dict[str, list[str]], paths: dict[str, str]) -> None:
        """Put each of the service's messages beside its input, or on its row or block, or at the top."""
        level_fields = {0: {s.field for s in HEADER}, 1: {s.field for s in DEWAR}, 2: {s.field for s in PUCK}}
        level_fields[3] = {s.field for s in SAMPLE_ALL}
        by_length = sorted(paths, key=len, reverse=True)
        for key, messages in message_dict.items():
            path = next((p for p in by_length if key.startswith(p)), "")
            prefix = paths.get(path, "")
            rest = key[len(path) :]
            # The service resolves the acronym to a protein and reports it under "protein".
            rest = {"protein": "protein_acronym"}.get(rest, rest)
            if rest in level_fields[path.count(".") // 2 if path else 0]:
                self.errors.setdefault(prefix + rest, []).extend(messages)
            elif prefix:
                self.errors.setdefault(prefix, []).extend(messages)
            else:
                self.top_errors.extend(messages)

    # --- for the template ---------------------------------------------------------------------------

    def empty_dewar(self) -> DewarBlock:
        return DewarBlock(self, "d-__D__-", "", {}, [])

    def empty_puck(self) -> Puck:
        return Puck(self, "d-__D__-c-__C__-", "", {"container_type": ContainerType.UNIPUCK}, {})

    def empty_row(self) -> Row:
        return Row(self, "d-__D__-c-__C__-s-__S__-", "__S__", {})

    @property
    def sample_columns(self) -> tuple[Spec, ...]:
        return SAMPLE

    @property
    def sample_specs(self) -> tuple[Spec, ...]:
        """The fields a position sends to the service: the request's too on a mail-in proposal."""
        return SAMPLE_ALL if self.mail_in else SAMPLE_PLAIN

    @property
    def summary(self) -> list[tuple[str, str, str]]:
        """Every error message with where it is, for the list at the top of the page: (anchor, where, message)."""
        places = self._places()
        items = [("", "", m) for m in self.top_errors]
        for name, messages in self.errors.items():
            prefix = ROW_PREFIX.match(name)[0]
            where, specs = places.get(prefix, (prefix, SAMPLE_ALL))
            field_name = name[len(prefix) :]
            label = next((spec.label for spec in specs if spec.field == field_name), field_name)
            anchor = ("f-" + name) if field_name else ("b-" + name)
            items += [(anchor, " › ".join(filter(None, (where, label))), m) for m in messages]
        for key, form in self.cards.items():
            for fname, messages in form.errors.items() if form.is_bound else ():
                label = dict((s.field, s.label) for s in HEADER)[key]
                if fname in form.fields:
                    label += f" › {form.fields[fname].label}"
                items += [(f"id_{form.prefix}-{fname}", label, str(m)) for m in messages]
        return items

    def _places(self) -> dict[str, tuple[str, tuple[Spec, ...]]]:
        """Each block's prefix → how the page names it ("Dewar 2 (DW-A) › puck P1 › position 3"), its fields."""
        places: dict[str, tuple[str, tuple[Spec, ...]]] = {"": ("", HEADER)}
        for n, dewar in enumerate(self.dewars, start=1):
            d_name = f"Dewar {n}" + (f" ({dewar.values['name']})" if dewar.values.get("name") else "")
            places[dewar.prefix] = (d_name, DEWAR)
            for m, puck in enumerate(dewar.pucks, start=1):
                c_name = f"{d_name} › puck {puck.values.get('name') or m}"
                places[puck.prefix] = (c_name, PUCK)
                for row in puck.grid:
                    places[row.prefix] = (f"{c_name} › position {row.position}", SAMPLE_ALL)
        return places


class SheetUploadForm(forms.Form):
    file = forms.FileField(
        label="Sample sheet (CSV or XLSX)",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
