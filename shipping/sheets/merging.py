"""Merging the rows into the shipment's contents and writing them through the shipment service."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from lims.models import Session
from samples.choices import ContainerType
from samples.models import Container, Protein, Sample
from shipping.models import Dewar, Shipment
from shipping.services import shipment_check_editable, shipment_update

from .base import HEADERS, SAMPLE_KEYS, ImportResult, SheetError, SheetProblem
from .parsing import _Row, parse
from .profiles import Layout
from .reading import _read_bytes, _read_table

DEFAULT_DEWAR = "Dewar-1"

# --- merging into the shipment's contents -----------------------------------------------------------------


@dataclass
class _SampleNode:
    obj: Sample | None
    row: _Row | None


@dataclass
class _ContainerNode:
    obj: Container | None
    name: str
    rows: list[_Row] = field(default_factory=list)
    samples: dict[int, _SampleNode] = field(default_factory=dict)  # by position


@dataclass
class _DewarNode:
    obj: Dewar | None
    name: str
    rows: list[_Row] = field(default_factory=list)
    containers: dict[str, _ContainerNode] = field(default_factory=dict)  # by name
    session: Session | None = None  # the visit the sheet names, for a dewar that has none yet


def _check_rows(rows: list[_Row], problems: list[SheetProblem]) -> list[_Row]:
    """Rules between rows: one sample per position, one dewar and one type per container."""
    slots: dict[tuple, int] = {}
    dewar_of: dict[str, _Row] = {}
    type_of: dict[str, _Row] = {}
    good = []
    for row in rows:
        first = dewar_of.setdefault(row.container, row)
        if first.dewar != row.dewar:
            problems.append(
                SheetProblem(
                    row.line,
                    "Container",
                    f"Container {row.container} is in dewar {first.dewar} on line {first.line}; "
                    "a container can only be in one dewar.",
                )
            )
            continue
        slot = (row.dewar, row.container, row.position)
        if slot in slots:
            problems.append(
                SheetProblem(
                    row.line,
                    "Position",
                    f"Position {row.position} of container {row.container} is already taken by line {slots[slot]}.",
                )
            )
            continue
        slots[slot] = row.line
        if row.container_type:
            typed = type_of.setdefault(row.container, row)
            if typed.container_type != row.container_type:
                problems.append(
                    SheetProblem(
                        row.line,
                        "Container type",
                        f"Container {row.container} is a {ContainerType(typed.container_type).label} "
                        f"on line {typed.line}; give the same type on every row of a container.",
                    )
                )
                continue
        good.append(row)
    return good


def _merge(shipment: Shipment, rows: list[_Row], problems: list[SheetProblem]) -> list[_DewarNode]:
    """The shipment's contents as in the database with the sheet's rows merged in."""
    dewars: dict[str, _DewarNode] = {}
    containers: dict[str, _ContainerNode] = {}
    container_dewar: dict[str, str] = {}
    for dewar in Dewar.objects.filter(shipment=shipment).order_by("id"):
        dewars[dewar.name] = _DewarNode(dewar, dewar.name)
    by_pk = {d.obj.pk: d for d in dewars.values()}
    for container in Container.objects.filter(shipment=shipment).order_by("id"):
        node = _ContainerNode(container, container.name)
        by_pk[container.dewar_id].containers[container.name] = node
        containers[container.name] = node
        container_dewar[container.name] = by_pk[container.dewar_id].name
    samples = Sample.objects.filter(container__shipment=shipment).select_related("container")
    for sample in samples.order_by("container_id", "position"):
        containers[sample.container.name].samples[sample.position] = _SampleNode(sample, None)

    # A format without dewars (SynchWeb's) puts a new puck in the shipment's first dewar, as SynchWeb does.
    default_dewar = next(iter(dewars), DEFAULT_DEWAR)
    for row in rows:
        if row.dewar is None:
            row.dewar = container_dewar.get(row.container, default_dewar)
        held_by = container_dewar.get(row.container)
        if held_by is not None and held_by != row.dewar and containers[row.container].obj is not None:
            problems.append(
                SheetProblem(
                    row.line,
                    "Container",
                    f"Container {row.container} is already in dewar {held_by} of this shipment; "
                    "give that dewar, or another name for a new container.",
                )
            )
            continue
        dewar = dewars.setdefault(row.dewar, _DewarNode(None, row.dewar))
        container = dewar.containers.get(row.container)
        if container is None:
            container = dewar.containers[row.container] = containers[row.container] = _ContainerNode(
                None, row.container
            )
            container_dewar[row.container] = row.dewar
        dewar.rows.append(row)
        container.rows.append(row)
        node = container.samples.get(row.position)
        if node is None:
            container.samples[row.position] = _SampleNode(None, row)
        else:
            node.row = row
    return list(dewars.values())


def _container_type_of(node: _ContainerNode) -> str | None:
    typed = next((r.container_type for r in node.rows if r.container_type), None)
    return typed or (node.obj.container_type if node.obj else ContainerType.UNIPUCK)


def _describe(shipment: Shipment, dewars: list[_DewarNode], messages: list[str]) -> tuple[dict, dict]:
    """The data for shipment_update, and where each of its paths came from (node by path prefix)."""
    # The service tells two samples of one protein apart by the protein *object*: every sample, kept or
    # from a row, gets its protein from this one map. Acronyms match as the service matches them
    # (exactly, else case-insensitively); an unknown one is left to the service to create.
    proteins = {p.pk: p for p in Protein.objects.filter(proposal_id=shipment.proposal_id).order_by("acronym")}
    exact = {p.acronym: p for p in proteins.values()}
    folded = {p.acronym.lower(): p for p in proteins.values()}
    origin: dict[str, object] = {}
    data = []
    for i, dewar in enumerate(dewars):
        d_item: dict = {"id": dewar.obj.pk} if dewar.obj else {"name": dewar.name}
        if dewar.session is not None:
            d_item["session"] = dewar.session
        origin[f"dewars.{i}"] = dewar
        d_item["containers"] = []
        for j, container in enumerate(dewar.containers.values()):
            c_item: dict = {"id": container.obj.pk} if container.obj else {"name": container.name}
            origin[f"dewars.{i}.containers.{j}"] = container
            if container.rows:
                kind = _container_type_of(container)
                c_item["container_type"] = kind
                if kind == ContainerType.OTHER:
                    # A free-form container has no fixed size: make it as large as the positions used.
                    used = max(container.samples)
                    capacity = max(used, container.obj.capacity if container.obj else 0)
                    c_item["capacity"] = capacity
                    if not container.obj or container.obj.capacity != capacity:
                        messages.append(
                            f"Container {container.name} (type other) has {capacity} positions, "
                            "the largest position used."
                        )
            c_item["samples"] = []
            for k, sample in enumerate(container.samples.values()):
                origin[f"dewars.{i}.containers.{j}.samples.{k}"] = sample
                s_item: dict = {"id": sample.obj.pk} if sample.obj else {}
                if sample.row is None:
                    s_item["protein"] = proteins[sample.obj.protein_id]
                else:
                    s_item.update(sample.row.sample, position=sample.row.position)
                    if sample.row.protein_name:
                        s_item["protein_name"] = sample.row.protein_name
                    acronym = s_item["protein_acronym"]
                    protein = exact.get(acronym) or folded.get(acronym.lower())
                    if protein is not None:
                        s_item["protein"] = protein
                c_item["samples"].append(s_item)
            d_item["containers"].append(c_item)
        data.append(d_item)
    return {"dewars": data}, origin


# The key of the sheet column each of the service's fields came from.
_SERVICE_KEYS = {
    "dewar": {"name": "dewar", "id": "dewar", "session": "visit_number"},
    "container": {
        "name": "container",
        "id": "container",
        "container_type": "container_type",
        "capacity": "container_type",
    },
    "sample": {
        **{key: key for key in SAMPLE_KEYS},
        "position": "position",
        "protein": "protein_acronym",
        "id": "position",
    },
}


def _column(layout: Layout, key: str | None) -> str | None:
    return layout.title(key) if key else None


_PATH = re.compile(r"^(dewars\.\d+(?:\.containers\.\d+(?:\.samples\.\d+)?)?)(?:\.(\w+))?$")


def _map_errors(exc: ValidationError, origin: dict, layout: Layout) -> list[SheetProblem]:
    """The service's errors, keyed by path, as problems on the lines that described those objects."""
    problems = []
    for path, messages in exc.message_dict.items():
        match = _PATH.match(path)
        node = origin.get(match.group(1)) if match else None
        if node is None:
            problems += [SheetProblem(None, None, m) for m in messages]
            continue
        name = match.group(2) or ""
        if isinstance(node, _SampleNode):
            column = _column(layout, _SERVICE_KEYS["sample"].get(name))
            lines = [node.row.line] if node.row else []
            what = (
                f"Sample {node.obj.name} (position {node.obj.position} of {node.obj.container.name})"
                if node.obj
                else ""
            )
        elif isinstance(node, _ContainerNode):
            column = _column(layout, _SERVICE_KEYS["container"].get(name))
            lines = [r.line for r in node.rows]
            what = f"Container {node.name}"
        else:
            column = _column(layout, _SERVICE_KEYS["dewar"].get(name))
            lines = [r.line for r in node.rows]
            what = f"Dewar {node.name}"
        for message in messages:
            if lines:
                problems += [SheetProblem(line, column, message) for line in lines]
            else:
                # An object already in the shipment that no row touches, in conflict with one that does.
                problems.append(SheetProblem(None, column, f"{what}, already in the shipment: {message}"))
    return problems


def _summary(dewars: list[_DewarNode]) -> ImportResult:
    used_dewars = [d for d in dewars if d.rows]
    used_containers = [c for d in dewars for c in d.containers.values() if c.rows]
    rows = [s for c in used_containers for s in c.samples.values() if s.row]
    replaced = sum(1 for s in rows if s.obj is not None)

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    new_dewars = sum(1 for d in used_dewars if d.obj is None)
    new_containers = sum(1 for c in used_containers if c.obj is None)
    messages = [
        f"Imported {plural(len(rows), 'sample')} ({len(rows) - replaced} new, {replaced} replaced) "
        f"in {plural(len(used_containers), 'container')} ({new_containers} new) "
        f"and {plural(len(used_dewars), 'dewar')} ({new_dewars} new)."
    ]
    return ImportResult(len(used_dewars), len(used_containers), len(rows), messages)


def _sort_key(problem: SheetProblem):
    order = HEADERS.index(problem.column) if problem.column in HEADERS else len(HEADERS)
    return (problem.line or 0, order)


def import_sheet(*, shipment, user, uploaded_file) -> ImportResult:
    """Import a sample sheet into ``shipment``, merging its rows into what the shipment already holds.

    Raises ``SheetError`` with every problem (nothing saved), ``Frozen`` when the shipment cannot change.
    """
    # Checked first so that nobody is asked to fix a sheet for a shipment that cannot take it.
    shipment_check_editable(shipment=Shipment.objects.get(pk=shipment.pk), user=user)
    data = _read_bytes(uploaded_file)
    table = _read_table(data, getattr(uploaded_file, "name", "") or "")
    layout, rows, problems = parse(table.rows)
    rows = _check_rows(rows, problems)
    messages: list[str] = [layout.description]

    with transaction.atomic():
        # The contents are read, merged and written back whole: lock the shipment so that no other
        # change lands in between (it would be deleted as "not described any more").
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        dewars = _merge(locked, rows, problems)
        _check_visits(locked, layout, dewars, problems, messages)
        tree, origin = _describe(locked, dewars, messages)
        # Written even when rows had problems, so that the service's checks report on the good rows too;
        # the SheetError raised below rolls it all back.
        try:
            shipment_update(shipment=locked, user=user, data=tree)
        except ValidationError as exc:
            problems += _map_errors(exc, origin, layout)
        if problems:
            raise SheetError(sorted(problems, key=_sort_key), read_as=layout.description)
    result = _summary(dewars)
    result.format = layout.profile.name
    result.messages += messages
    return result


def _check_visits(
    shipment: Shipment, layout: Layout, dewars: list[_DewarNode], problems: list[SheetProblem], messages: list[str]
) -> None:
    """The proposal, visit and shipment a row names (SynchWeb's Diamond sheet) must be this shipment's: checked,
    never ignored. A visit is the proposal's n-th session by start (as Diamond numbers them: cm28170-3); a
    dewar without a session gets the visit's."""
    if not any(row.checks for dewar in dewars for row in dewar.rows):
        return  # the sheet names no proposal, visit or shipment (all but SynchWeb's Diamond sheet)
    proposal = shipment.proposal
    sessions = list(Session.objects.filter(proposal=proposal).order_by("start", "id"))
    names: set[str] = set()
    for dewar in dewars:
        for row in dewar.rows:
            checks = row.checks
            code, number = checks.get("proposal_code"), checks.get("proposal_number")
            if (code and code.casefold() != proposal.code.casefold()) or (number and number != proposal.number):
                problems.append(
                    SheetProblem(
                        row.line,
                        layout.title("proposal_code" if code else "proposal_number"),
                        f"This row is for proposal {code or proposal.code}{number or proposal.number}; "
                        f"the shipment is for {proposal}. Import it into a shipment of that proposal.",
                    )
                )
                continue
            if checks.get("shipping_name"):
                names.add(checks["shipping_name"])
            visit = checks.get("visit_number")
            if not visit:
                continue
            index = int(visit) if visit.isdigit() else 0
            if not 1 <= index <= len(sessions):
                have = f"its visits are 1 to {len(sessions)}" if sessions else "it has no session yet"
                problems.append(
                    SheetProblem(row.line, layout.title("visit_number"), f"{proposal} has no visit {visit}: {have}.")
                )
                continue
            session = sessions[index - 1]
            current = dewar.session or (dewar.obj.session if dewar.obj else None)
            if current is not None and current != session:
                problems.append(
                    SheetProblem(
                        row.line,
                        layout.title("visit_number"),
                        f"Dewar {dewar.name} is for the session of {current.start:%Y-%m-%d}, not visit {visit}.",
                    )
                )
                continue
            if dewar.obj is None or dewar.obj.session_id is None:
                dewar.session = session
    if names:
        listed = ", ".join(sorted(names))
        messages.append(f"The sheet names the shipment {listed}; its rows were imported into {shipment.name}.")
