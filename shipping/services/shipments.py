"""Writes of shipments and their contents, and the shipment/dewar status machines.

A shipment and everything in it (dewars → containers → samples) are written by one service from a
plain nested description, the same for the web form, the REST API and the sample-sheet import:

    {"name": ..., "sending_contact": <LabContact>, ...,
     "dewars": [{"id"?: 3, "name": ..., "containers": [{"name": ..., "container_type": ...,
                 "samples": [{"position": 1, "name": ..., "protein_acronym": "LYS", ...}]}]}]}

Samples of a mail-in proposal (``Proposal.mail_in``) also carry the client's request
(``samples.choices.MAILIN_REQUEST_FIELDS``): a sample written without one is screened ("screen"), a blank
priority is the default 3, and the request is checked with the sample (``Sample.mailin_request_errors``:
SAD/MAD needs the anomalous scatterer, screen-and-collect its resolution, a data set its kind). Samples of
other proposals carry no request: an empty or unchanged value is ignored, anything else is refused
("dewars.0.containers.0.samples.0.mailin_request").

Objects are matched by ``id`` when given, otherwise dewars and containers by name and samples by
(container, position); what is not described any more is deleted; a key left out keeps its value.
What is matched is updated in place, never deleted and inserted again, even when two pins trade positions
or names (``.parking``): a sample keeps its data collections, robot actions and history.
Everything is validated before anything is written; errors come back as one ``ValidationError``
keyed by path ("dewars.0.containers.1.samples.4.name"), so nothing is half-saved.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from lims import access, audit
from lims.barcodes import dewar_barcode, normalise
from lims.choices import AuditAction
from lims.errors import DomainError, Frozen, InvalidTransition
from lims.models import Proposal
from samples.choices import CONTAINER_CAPACITY, MAILIN_REQUEST_FIELDS, MailinRequest
from samples.models import CRYSTAL_FIELDS, DIFFRACTION_PLAN_FIELDS, Container, Protein, Sample

from ..choices import DEWAR_TRANSITIONS, SHIPMENT_TRANSITIONS, DewarStatus, ShipmentStatus
from ..models import Dewar, DewarEvent, Shipment
from .parking import CONTAINER_KEYS, DEWAR_KEYS, FreeSlots, park, sample_keys

SHIPMENT_FIELDS = (
    "name",
    "expected_arrival",
    "sending_contact",
    "return_contact",
    "return_courier",
    "return_courier_account",
    "safety_level",
    "comments",
)
DEWAR_FIELDS = (
    "name",
    "delivery_location",
    "customs_value",
    "transport_value",
    "courier_to_facility",
    "tracking_to_facility",
    "courier_from_facility",
    "tracking_from_facility",
    "session",
    "local_contact",
    "comments",
)
CONTAINER_FIELDS = ("name", "container_type", "capacity", "barcode", "comments")
SAMPLE_FIELDS = ("position", "name", "pin_code", "protein", *CRYSTAL_FIELDS, *DIFFRACTION_PLAN_FIELDS, "comments")


def check_transition(table: dict[str, set[str]], current: str, target: str, what: str, choices) -> None:
    """Raise ``InvalidTransition`` unless ``current`` → ``target`` is allowed by ``table``."""
    if target not in table.get(current, set()):
        raise InvalidTransition(
            f"A {what} that is {choices(current).label.lower()} cannot become {choices(target).label.lower()}."
        )


# --- writing a shipment and its contents ------------------------------------------------------------


def _check_editable(shipment: Shipment, user) -> None:
    if shipment.status == ShipmentStatus.DRAFT:
        return
    if shipment.status in (ShipmentStatus.CANCELLED, ShipmentStatus.CLOSED):
        raise Frozen(f"Shipment {shipment.name} is {shipment.get_status_display().lower()}; it cannot change.")
    if not access.may_correct_sent_shipment(user):
        raise Frozen(
            f"Shipment {shipment.name} has been sent; its contents are frozen. Ask the facility staff to correct it."
        )


def shipment_check_editable(*, shipment: Shipment, user) -> None:
    """Raise ``Frozen`` unless ``user`` may still change ``shipment`` (pages ask before showing a form)."""
    _check_editable(shipment, user)


def _apply(obj, data: dict, fields: tuple[str, ...]) -> None:
    for name in fields:
        if name in data:
            value = data[name]
            if isinstance(value, str):
                value = value.strip()
            setattr(obj, name, value)


def _collect(errors: dict, prefix: str, exc: ValidationError) -> None:
    for name, messages in exc.message_dict.items():
        key = prefix + ("" if name == "__all__" else name)
        errors.setdefault(key.rstrip(".") or "non_field_errors", []).extend(messages)


def _apply_mailin(sample: Sample, item: dict, mail_in: bool, path: str, errors: dict) -> None:
    """The request fields of ``item``: applied on a mail-in proposal's sample, else refused unless idle."""
    if not mail_in:
        for name in MAILIN_REQUEST_FIELDS:
            if name not in item:
                continue
            value = item[name]
            value = value.strip() if isinstance(value, str) else value
            current = getattr(sample, name)
            if value in (None, "") or value == current or str(value) == str(current):
                continue  # empty, or what the sample holds anyway (a read-back sent again): nothing asked
            errors.setdefault(f"{path}{name}", []).append(
                "Only samples of a mail-in proposal carry a mail-in request; leave this empty."
            )
        return
    _apply(sample, item, MAILIN_REQUEST_FIELDS)
    if not sample.mailin_request:
        sample.mailin_request = MailinRequest.SCREEN
    if sample.mailin_priority in (None, ""):
        sample.mailin_priority = Sample._meta.get_field("mailin_priority").default
    for name in ("mailin_dataset_kind", "mailin_comments"):
        if getattr(sample, name) is None:
            setattr(sample, name, "")


def _changed(before: dict | None, obj) -> bool:
    return before is None or audit.diff(before, audit.snapshot(obj)) != {}


@dataclass
class _Plan:
    """What a write of the contents will do, worked out and validated before anything is saved."""

    dewars: list[tuple[Dewar, dict | None]] = field(default_factory=list)
    containers: list[tuple[Container, dict | None, Dewar]] = field(default_factory=list)
    samples: list[tuple[Sample, dict | None, Container, Protein]] = field(default_factory=list)
    new_proteins: list[Protein] = field(default_factory=list)
    removed_dewars: list[Dewar] = field(default_factory=list)
    removed_containers: list[Container] = field(default_factory=list)
    removed_samples: list[Sample] = field(default_factory=list)


def _match(item: dict, by_id: dict, by_key: dict, key, path: str, errors: dict, what: str, claimed: set):
    """The existing object an item describes (by id, else by natural key), or None for a new one."""
    obj = None
    if item.get("id") is not None:
        obj = by_id.get(item["id"])
        if obj is None:
            errors.setdefault(f"{path}id", []).append(f"No {what} with id {item['id']} in this shipment.")
            return None
    elif key is not None:
        obj = by_key.get(key)
    if obj is not None:
        if obj.pk in claimed:
            errors.setdefault(f"{path}id", []).append(f"This {what} is described twice.")
            return None
        claimed.add(obj.pk)
    return obj


def _protein_for(item, proposal, proteins: dict[str, Protein], plan: _Plan, path: str, errors: dict):
    protein = item.get("protein")
    if isinstance(protein, Protein):
        if protein.proposal_id != proposal.pk:
            errors.setdefault(f"{path}protein", []).append("This protein belongs to another proposal.")
            return None
        return protein
    acronym = (item.get("protein_acronym") or "").strip()
    if not acronym:
        errors.setdefault(f"{path}protein", []).append("Give the protein (acronym) of this sample.")
        return None
    found = proteins.get(acronym.lower())
    if found is None:
        found = Protein(proposal=proposal, acronym=acronym, name=(item.get("protein_name") or "").strip())
        try:
            found.full_clean(exclude=["proposal"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            errors.setdefault(f"{path}protein_acronym", []).extend(exc.message_dict.get("acronym", exc.messages))
            return None
        proteins[acronym.lower()] = found
        plan.new_proteins.append(found)
    return found


def _plan_contents(shipment: Shipment, dewar_items: list[dict], errors: dict) -> _Plan:
    proposal = shipment.proposal
    plan = _Plan()
    dewars = {d.pk: d for d in shipment.dewars.all()} if shipment.pk else {}
    containers = {c.pk: c for c in Container.objects.filter(shipment=shipment)} if shipment.pk else {}
    samples = {s.pk: s for s in Sample.objects.filter(container__shipment=shipment)} if shipment.pk else {}
    dewars_by_name = {d.name: d for d in dewars.values()}
    containers_by_name = {c.name: c for c in containers.values()}
    samples_by_slot = {(s.container_id, s.position): s for s in samples.values()}
    proteins = {p.acronym.lower(): p for p in Protein.objects.filter(proposal=proposal)}
    claimed_dewars, claimed_containers, claimed_samples = set(), set(), set()

    for i, d_item in enumerate(dewar_items or []):
        d_path = f"dewars.{i}."
        dewar = _match(d_item, dewars, dewars_by_name, d_item.get("name"), d_path, errors, "dewar", claimed_dewars)
        before = audit.snapshot(dewar) if dewar else None
        dewar = dewar or Dewar(shipment=shipment)
        _apply(dewar, d_item, DEWAR_FIELDS)
        try:
            dewar.full_clean(exclude=["shipment"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            _collect(errors, d_path, exc)
        plan.dewars.append((dewar, before))

        for j, c_item in enumerate(d_item.get("containers") or []):
            c_path = f"{d_path}containers.{j}."
            container = _match(
                c_item,
                containers,
                containers_by_name,
                c_item.get("name"),
                c_path,
                errors,
                "container",
                claimed_containers,
            )
            c_before = audit.snapshot(container) if container else None
            container = container or Container()
            _apply(container, c_item, CONTAINER_FIELDS)
            if container.barcode is not None:
                container.barcode = normalise(container.barcode) or None
            standard = CONTAINER_CAPACITY.get(container.container_type)
            if standard is not None and ("capacity" not in c_item or c_item["capacity"] in (None, "")):
                container.capacity = standard
            try:
                container.full_clean(exclude=["shipment", "dewar"], validate_unique=False, validate_constraints=False)
            except ValidationError as exc:
                _collect(errors, c_path, exc)
            plan.containers.append((container, c_before, dewar))

            for k, s_item in enumerate(c_item.get("samples") or []):
                s_path = f"{c_path}samples.{k}."
                try:
                    position = int(s_item.get("position"))
                except (TypeError, ValueError):
                    position = None  # reported by full_clean below
                slot = (container.pk, position) if container.pk and position else None
                sample = _match(s_item, samples, samples_by_slot, slot, s_path, errors, "sample", claimed_samples)
                s_before = audit.snapshot(sample) if sample else None
                sample = sample or Sample()
                item = {k2: v for k2, v in s_item.items() if k2 != "protein"}
                _apply(sample, item, SAMPLE_FIELDS)
                _apply_mailin(sample, item, proposal.mail_in, s_path, errors)
                if sample.pin_code is not None:
                    sample.pin_code = normalise(sample.pin_code) or None
                if sample.experiment_kind is None:
                    sample.experiment_kind = ""
                protein = _protein_for(s_item, proposal, proteins, plan, s_path, errors)
                try:
                    sample.full_clean(
                        exclude=["container", "protein"], validate_unique=False, validate_constraints=False
                    )
                except ValidationError as exc:
                    _collect(errors, s_path, exc)
                if (
                    isinstance(sample.position, int)
                    and isinstance(container.capacity, int)
                    and sample.position > container.capacity
                ):
                    errors.setdefault(f"{s_path}position", []).append(
                        f"Position {sample.position} does not exist in {container.name or 'this container'}, "
                        f"which has positions 1 to {container.capacity}."
                    )
                plan.samples.append((sample, s_before, container, protein))

    plan.removed_dewars = [d for pk, d in dewars.items() if pk not in claimed_dewars]
    plan.removed_containers = [c for pk, c in containers.items() if pk not in claimed_containers]
    plan.removed_samples = [s for pk, s in samples.items() if pk not in claimed_samples]
    _check_uniqueness(shipment, plan, errors)
    return plan


def _duplicates(values: list[tuple[str, object]], errors: dict, message: str) -> None:
    """Report every path whose value (not None/"") appears more than once in ``values``."""
    counts = Counter(v for _, v in values if v not in (None, ""))
    for path, value in values:
        if value not in (None, "") and counts[value] > 1:
            errors.setdefault(path, []).append(message.format(value=value))


def _check_uniqueness(shipment: Shipment, plan: _Plan, errors: dict) -> None:
    """Names, positions and codes that must be unique, within the shipment and against the database."""
    paths = _paths(plan)
    _duplicates(
        [(paths[id(d)] + "name", d.name) for d, _ in plan.dewars],
        errors,
        "Two dewars of this shipment are called {value}.",
    )
    _duplicates(
        [(paths[id(c)] + "name", c.name) for c, _, _ in plan.containers],
        errors,
        "Two containers of this shipment are called {value}.",
    )
    _duplicates(
        [(paths[id(c)] + "barcode", c.barcode) for c, _, _ in plan.containers],
        errors,
        "Two containers carry barcode {value}.",
    )
    _duplicates(
        [(paths[id(s)] + "position", (id(c), s.position)) for s, _, c, _ in plan.samples],
        errors,
        "Two samples are in the same position.",
    )
    _duplicates(
        [(paths[id(s)] + "name", (p.acronym.lower(), s.name)) for s, _, _, p in plan.samples if p is not None],
        errors,
        "Two samples of the same protein are called the same.",
    )
    _duplicates(
        [(paths[id(s)] + "pin_code", s.pin_code) for s, _, _, _ in plan.samples],
        errors,
        "Two samples carry pin code {value}.",
    )
    others = Q() if shipment.pk is None else ~Q(shipment=shipment)
    barcodes = {c.barcode: c for c, _, _ in plan.containers if c.barcode}
    if barcodes:
        for code in Container.objects.filter(others, barcode__in=barcodes).values_list("barcode", flat=True):
            errors.setdefault(paths[id(barcodes[code])] + "barcode", []).append(
                f"Barcode {code} is already used by another container."
            )
    sample_others = Q() if shipment.pk is None else ~Q(container__shipment=shipment)
    pins = {s.pin_code: s for s, _, _, _ in plan.samples if s.pin_code}
    if pins:
        taken = Sample.objects.filter(sample_others, pin_code__in=pins, retired_at__isnull=True)
        for code in taken.values_list("pin_code", flat=True):
            errors.setdefault(paths[id(pins[code])] + "pin_code", []).append(
                f"Pin code {code} is on a sample of another shipment that is still in circulation."
            )
    names = defaultdict(dict)
    for s, _, _, p in plan.samples:
        if p is not None and p.pk is not None:
            names[p.pk][s.name] = s
    if names:
        query = Q()
        for protein_id, by_name in names.items():
            query |= Q(protein_id=protein_id, name__in=list(by_name))
        for protein_id, name in Sample.objects.filter(query).filter(sample_others).values_list("protein_id", "name"):
            sample = names[protein_id][name]
            errors.setdefault(paths[id(sample)] + "name", []).append(
                f"The proposal already has a sample {name} of this protein, in another shipment."
            )


def _paths(plan: _Plan) -> dict[int, str]:
    """The error-path prefix of every planned object, keyed by ``id(obj)``."""
    paths: dict[int, str] = {}
    per_dewar: Counter = Counter()
    per_container: Counter = Counter()
    dewar_index = {id(d): i for i, (d, _) in enumerate(plan.dewars)}
    for c, _, d in plan.containers:
        j = per_dewar[id(d)]
        per_dewar[id(d)] += 1
        paths[id(c)] = f"dewars.{dewar_index[id(d)]}.containers.{j}."
    for d, i in dewar_index.items():
        paths[d] = f"dewars.{i}."
    for s, _, c, _ in plan.samples:
        k = per_container[id(c)]
        per_container[id(c)] += 1
        paths[id(s)] = f"{paths[id(c)]}samples.{k}."
    return paths


def _write_contents(shipment: Shipment, plan: _Plan, user) -> None:
    entries = []
    # Removed samples first so that their positions are free; removed containers and dewars last,
    # once the pins and pucks that moved out of them are saved elsewhere. Rows that stay are updated in
    # place, their unique values parked first (see .parking): what hangs on a sample stays attached.
    for sample in plan.removed_samples:
        entries.append(audit.entry(user=user, action=AuditAction.DELETE, obj=sample, before=audit.snapshot(sample)))
    Sample.objects.filter(pk__in=[s.pk for s in plan.removed_samples]).delete()

    park(Dewar, DEWAR_KEYS, kept=plan.dewars, removed=plan.removed_dewars)
    for dewar, before in plan.dewars:
        if dewar.pk is None:
            dewar.save()
            dewar.barcode = dewar_barcode(dewar.pk)
            dewar.save(update_fields=["barcode"])
            entries.append(audit.entry(user=user, action=AuditAction.CREATE, obj=dewar))
        elif _changed(before, dewar):
            dewar.save()
            entries.append(audit.entry(user=user, action=AuditAction.UPDATE, obj=dewar, before=before))
    for container, _, dewar in plan.containers:
        container.dewar = dewar
        container.shipment = shipment
    park(Container, CONTAINER_KEYS, kept=plan.containers, removed=plan.removed_containers)
    for container, before, _ in plan.containers:
        if _changed(before, container):
            container.save()
            action = AuditAction.CREATE if before is None else AuditAction.UPDATE
            entries.append(audit.entry(user=user, action=action, obj=container, before=before))
    for protein in plan.new_proteins:
        protein.save()
        entries.append(audit.entry(user=user, action=AuditAction.CREATE, obj=protein))

    for sample, _, container, protein in plan.samples:
        sample.container, sample.protein = container, protein
    changed = [(s, b) for s, b, _, _ in plan.samples if b is not None and _changed(b, s)]
    new = [s for s, b, _, _ in plan.samples if b is None]
    slots = FreeSlots(
        [c for c, _, _ in plan.containers],
        [(s.container_id, s.position) for s, _, _, _ in plan.samples]
        + [(b["container_id"], b["position"]) for _, b, _, _ in plan.samples if b is not None],
    )
    park(Sample, sample_keys(slots), kept=changed)
    for sample, _ in changed:
        sample.save()
    slots.release()
    Sample.objects.bulk_create(new, batch_size=500)
    entries += [audit.entry(user=user, action=AuditAction.UPDATE, obj=s, before=b) for s, b in changed]
    entries += [audit.entry(user=user, action=AuditAction.CREATE, obj=s) for s in new]

    for obj in plan.removed_containers + plan.removed_dewars:
        entries.append(audit.entry(user=user, action=AuditAction.DELETE, obj=obj, before=audit.snapshot(obj)))
    Container.objects.filter(pk__in=[c.pk for c in plan.removed_containers]).delete()
    Dewar.objects.filter(pk__in=[d.pk for d in plan.removed_dewars]).delete()
    audit.record_many(entries)


def _save_shipment(shipment: Shipment, data: dict, user, *, creating: bool) -> Shipment:
    before = None if creating else audit.snapshot(shipment)
    _apply(shipment, data, SHIPMENT_FIELDS)
    errors: dict[str, list[str]] = {}
    try:
        shipment.full_clean(exclude=["proposal", "created_by"], validate_constraints=False)
    except ValidationError as exc:
        _collect(errors, "", exc)
    if shipment.name and (
        Shipment.objects.filter(proposal=shipment.proposal, name=shipment.name).exclude(pk=shipment.pk).exists()
    ):
        errors.setdefault("name", []).append(f"The proposal already has a shipment called {shipment.name}.")
    plan = _plan_contents(shipment, data["dewars"], errors) if "dewars" in data else None
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            if creating or _changed(before, shipment):
                shipment.save()
                action = AuditAction.CREATE if creating else AuditAction.UPDATE
                audit.record(user=user, action=action, obj=shipment, before=before)
            if plan is not None:
                _write_contents(shipment, plan, user)
    except IntegrityError as exc:
        # Validation above saw a consistent state; another request changed it in between.
        raise DomainError(
            "Another change to the same names, positions or codes was saved at the same time; reload and try again.",
            code="conflict",
        ) from exc
    return shipment


@transaction.atomic
def shipment_create(*, proposal: Proposal, user, data: dict) -> Shipment:
    """Register a new draft shipment of ``proposal``, with its dewars, containers and samples if given."""
    shipment = Shipment(proposal=proposal, created_by=user if user.is_authenticated else None)
    return _save_shipment(shipment, data, user, creating=True)


@transaction.atomic
def shipment_update(*, shipment: Shipment, user, data: dict) -> Shipment:
    """Change a shipment and, when ``data`` has "dewars", its whole contents (see the module docstring).

    Users may change a draft only; facility staff may still correct a shipment after it was sent.
    """
    shipment = Shipment.objects.select_for_update().select_related("proposal").get(pk=shipment.pk)
    _check_editable(shipment, user)
    return _save_shipment(shipment, data, user, creating=False)


# --- status changes ------------------------------------------------------------------------------------


def _dewar_event(dewar: Dewar, *, status: str, user, at, note: str = "", **extra) -> DewarEvent:
    return DewarEvent(
        dewar=dewar,
        at=at,
        status=status,
        location=extra.get("location", dewar.location),
        user=user if getattr(user, "is_authenticated", False) else None,
        courier=extra.get("courier", ""),
        tracking_number=extra.get("tracking_number", ""),
        note=note,
    )


def _set_dewar_status(dewars: list[Dewar], status: str, user, at, **event) -> None:
    """Move each dewar to ``status`` and write its transport event and audit entry."""
    events, entries = [], []
    for dewar in dewars:
        check_transition(DEWAR_TRANSITIONS, dewar.status, status, "dewar", DewarStatus)
        before = audit.snapshot(dewar)
        dewar.status = status
        dewar.save(update_fields=["status"])
        events.append(_dewar_event(dewar, status=status, user=user, at=at, **event))
        entries.append(audit.entry(user=user, action=AuditAction.TRANSITION, obj=dewar, before=before))
    DewarEvent.objects.bulk_create(events)
    audit.record_many(entries)


def send_problems(shipment: Shipment) -> list[str]:
    """What stops ``shipment`` from being sent, as messages for the user (empty when it can go)."""
    problems = []
    if not shipment.dewars.exists():
        problems.append("Add at least one dewar.")
    if shipment.sending_contact_id is None:
        problems.append('Choose the lab contact "to facility".')
    if shipment.return_contact_id is None:
        problems.append('Choose the lab contact "home lab" for the return.')
    over = (
        Container.objects.filter(shipment=shipment)
        .annotate(n=Count("samples"), last=Max("samples__position"))
        .filter(Q(n__gt=F("capacity")) | Q(last__gt=F("capacity")))
        .values_list("name", flat=True)
    )
    for name in over:
        problems.append(f"Container {name} holds more samples than it has positions.")
    if Sample.objects.filter(container__shipment=shipment, name="").exists():
        problems.append("Every sample needs a name.")
    return problems


@transaction.atomic
def shipment_send(*, shipment: Shipment, user) -> Shipment:
    """Mark a draft shipment as sent: set the sending date, put every dewar in transit to the facility."""
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    check_transition(SHIPMENT_TRANSITIONS, shipment.status, ShipmentStatus.SENT, "shipment", ShipmentStatus)
    problems = send_problems(shipment)
    if problems:
        raise DomainError("The shipment cannot be sent yet: " + " ".join(problems), code="not_ready")
    before = audit.snapshot(shipment)
    now = timezone.now()
    shipment.status, shipment.sent_at = ShipmentStatus.SENT, now
    shipment.save(update_fields=["status", "sent_at"])
    audit.record(user=user, action=AuditAction.TRANSITION, obj=shipment, before=before, message="sent")
    dewars = list(Dewar.objects.select_for_update().filter(shipment=shipment).order_by("id"))
    _set_dewar_status(
        dewars, DewarStatus.IN_TRANSIT_TO_FACILITY, user, now, note="Shipment marked as sent by the user."
    )
    return shipment


@transaction.atomic
def shipment_cancel(*, shipment: Shipment, user) -> Shipment:
    """Cancel a draft shipment; its pins leave circulation, so their codes may be registered again."""
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    check_transition(SHIPMENT_TRANSITIONS, shipment.status, ShipmentStatus.CANCELLED, "shipment", ShipmentStatus)
    before = audit.snapshot(shipment)
    now = timezone.now()
    shipment.status = ShipmentStatus.CANCELLED
    shipment.save(update_fields=["status"])
    audit.record(user=user, action=AuditAction.TRANSITION, obj=shipment, before=before, message="cancelled")
    dewars = list(Dewar.objects.select_for_update().filter(shipment=shipment).order_by("id"))
    _set_dewar_status(dewars, DewarStatus.CANCELLED, user, now, note="Shipment cancelled.")
    Sample.objects.filter(container__shipment=shipment, retired_at__isnull=True).update(retired_at=now)
    return shipment
