"""Rows whose unique values trade places are saved in place: their values are parked first, then set.

Two pins that swap positions (or names, or pin codes), two pucks or dewars that swap names: saved one after
the other, the first save collides with the other row's old value, because the database checks a unique
constraint on each row as it is written (PostgreSQL's constraints here are not deferrable, SQLite's cannot
be). Deleting the rows and inserting them again would lose what hangs on them: data collections and robot
actions are unlinked, the status history is deleted with the row. So every row whose unique values change
first takes, in one UPDATE with the others, values that no row holds (it is "parked"); then each is saved
with its own values. Both steps run in the caller's transaction, so a refusal undoes the parking too.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.db import models

from lims import audit
from samples.choices import MAX_OTHER_CAPACITY, ContainerType
from samples.models import Container

# A group of columns (attnames) that a unique constraint covers → the values that park an object out of it,
# from the object and its snapshot as in the database.
Groups = dict[tuple[str, ...], Callable[[models.Model, dict], dict]]


def parked_name(obj: models.Model, before: dict) -> dict:
    """A name that every name rule allows, unique by the id; the random part keeps it clear of real names."""
    return {"name": f"parked-{obj.pk}-{secrets.token_hex(4)}"}


def _nothing(column: str) -> Callable[[models.Model, dict], dict]:
    return lambda obj, before: {column: None}


DEWAR_KEYS: Groups = {("name",): parked_name}
CONTAINER_KEYS: Groups = {("name",): parked_name, ("barcode",): _nothing("barcode")}


def sample_keys(slots: FreeSlots) -> Groups:
    """A pin's unique groups: its position in its puck, its name for its protein, its pin code while live."""
    return {
        ("container_id", "position"): slots.take,
        ("protein_id", "name"): parked_name,
        ("pin_code",): _nothing("pin_code"),
    }


def park(model: type[models.Model], groups: Groups, *, kept: Iterable[tuple], removed: Iterable = ()) -> None:
    """Move out of the way, in one UPDATE, the unique values that the rows are about to change.

    ``kept``: (object with its new values, its snapshot as in the database or None for a new one); a group is
    parked when any of its columns changes. ``removed``: objects deleted later, once what moves out of them
    is saved elsewhere: all their groups are parked. The other columns keep their values.
    """
    rows = [(obj, before, False) for obj, before, *_ in kept if before is not None]
    rows += [(obj, audit.snapshot(obj), True) for obj in removed]
    fields = [name for group in groups for name in group]
    parked = []
    for obj, before, leaving in rows:
        values = {}
        for group, values_for in groups.items():
            if leaving or any(getattr(obj, name) != before[name] for name in group):
                values.update(values_for(obj, before))
        if values:
            parked.append(model(pk=obj.pk, **{**{name: before[name] for name in fields}, **values}))
    if parked:
        model.objects.bulk_update(parked, fields)


class FreeSlots:
    """Positions of the shipment's pucks that no pin holds, before or after the write: where moving pins wait.

    A pin waits in its own puck when it can (any puck has positions up to the largest capacity, most of them
    never used), else in another puck of the shipment; when every position is taken (pucks of 100 positions,
    all full), in a spare puck made for the purpose, which ``release`` deletes once every pin is in place.
    """

    def __init__(self, containers: list[Container], taken: Iterable[tuple[int, int]]):
        used = defaultdict(set)
        for container_id, position in taken:
            used[container_id].add(position)
        self.free = {c.pk: [p for p in range(1, MAX_OTHER_CAPACITY + 1) if p not in used[c.pk]] for c in containers}
        self.home = containers[0] if containers else None
        self.spares: list[int] = []

    def take(self, obj: models.Model, before: dict) -> dict:
        """Park values for a pin: a free (container, position), its own puck's if it has one."""
        container_id = before["container_id"]
        if not self.free.get(container_id):
            container_id = next((pk for pk, positions in self.free.items() if positions), None)
        if container_id is None:
            container_id = self._spare()
        return {"container_id": container_id, "position": self.free[container_id].pop()}

    def _spare(self) -> int:
        spare = Container.objects.create(
            shipment_id=self.home.shipment_id,
            dewar_id=self.home.dewar_id,
            name=f"parked-{secrets.token_hex(6)}",
            container_type=ContainerType.OTHER,
            capacity=MAX_OTHER_CAPACITY,
        )
        self.spares.append(spare.pk)
        self.free[spare.pk] = list(range(1, MAX_OTHER_CAPACITY + 1))
        return spare.pk

    def release(self) -> None:
        """Delete the spare pucks, empty again."""
        if self.spares:
            Container.objects.filter(pk__in=self.spares).delete()
