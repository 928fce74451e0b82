"""A dewar's route drawn as a timeline (SVG geometry; ``shipping/_route.html`` draws it, escaping every text).

    dewar_route(events, now=None) -> Route | None

Each status change is a station on one line, left to right in time; notes and incidents are marks on the
line at their time. Stations are spaced by the time between them, but never closer than ``MIN_GAP`` so that
their labels never overlap: the time each leg took is written on it. A dewar still on its way (not returned,
lost or cancelled) has a dashed leg on to "now".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from .choices import DewarEventKind, DewarStatus

MIN_GAP = 120  # px between stations: room for a label such as "In transit to facility" on two lines
MARGIN = 70
WIDTH = 980  # drawn at its own size (text never scaled down); a longer route is wider and scrolls
HEIGHT = 128
LINE_Y = 50
END_STATUSES = frozenset({DewarStatus.RETURNED, DewarStatus.LOST, DewarStatus.CANCELLED})
# The station's words: short enough for MIN_GAP, two lines at most.
SHORT = {
    DewarStatus.REGISTERED: ("Registered",),
    DewarStatus.IN_TRANSIT_TO_FACILITY: ("In transit", "to facility"),
    DewarStatus.AT_FACILITY: ("At facility",),
    DewarStatus.AT_BEAMLINE: ("At beamline",),
    DewarStatus.IN_TRANSIT_TO_USER: ("In transit", "to user"),
    DewarStatus.RETURNED: ("Returned",),
    DewarStatus.LOST: ("Lost",),
    DewarStatus.CANCELLED: ("Cancelled",),
}


@dataclass
class Station:
    x: float
    status: str
    words: tuple[str, ...]
    at: dt.datetime
    place: str
    current: bool = False

    @property
    def title(self) -> str:
        where = f" · {self.place}" if self.place else ""
        return f"{' '.join(self.words)}: {timezone.localtime(self.at):%Y-%m-%d %H:%M}{where}"


@dataclass
class Leg:
    x1: float
    x2: float
    text: str
    ongoing: bool = False

    @property
    def middle(self) -> float:
        return round((self.x1 + self.x2) / 2, 1)


@dataclass
class Mark:
    x: float
    kind: str  # "note" or "incident"
    title: str

    @property
    def diamond(self) -> str:
        return f"M{self.x:.1f} {LINE_Y - 7}l7 7l-7 7l-7 -7z"


@dataclass
class Route:
    width: int
    height: int = HEIGHT
    line_y: int = LINE_Y
    stations: list[Station] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    @property
    def summary(self) -> str:
        words = " → ".join(" ".join(s.words) for s in self.stations)
        incidents = sum(1 for m in self.marks if m.kind == "incident")
        return words + (f"; {incidents} incident{'s' if incidents != 1 else ''}" if incidents else "")


def duration_words(delta: dt.timedelta) -> str:
    """A leg's time as people say it: "35 min", "5 h", "2 d 4 h"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h" + (f" {minutes} min" if minutes and hours < 10 else "")
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


def dewar_route(events, now: dt.datetime | None = None) -> Route | None:
    """The route of the dewar whose ``events`` (in time order, locations loaded) are given; None without a
    status change."""
    events = list(events)
    changes = [e for e in events if e.kind == DewarEventKind.STATUS]
    if not changes:
        return None
    now = now or timezone.now()
    ongoing = changes[-1].status not in END_STATUSES
    times = [e.at for e in changes] + ([max(now, changes[-1].at)] if ongoing else [])
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    total = sum(gaps)
    # What the width leaves beyond the minimum gaps is shared in proportion to time: a 3-week stay reads
    # longer than a 20-minute one.
    width = max(WIDTH, 2 * MARGIN + MIN_GAP * len(gaps))
    extra = width - 2 * MARGIN - MIN_GAP * len(gaps)
    xs = [float(MARGIN)]
    for gap in gaps:
        xs.append(xs[-1] + MIN_GAP + (extra * gap / total if total > 0 else extra / len(gaps)))
    route = Route(width=width)
    for n, event in enumerate(changes):
        route.stations.append(
            Station(
                x=round(xs[n], 1),
                status=event.status,
                words=SHORT.get(event.status, (event.get_status_display(),)),
                at=event.at,
                place=event.location.name if event.location_id else "",
                current=n == len(changes) - 1,
            )
        )
    for n in range(len(gaps)):
        last = ongoing and n == len(gaps) - 1
        words = duration_words(times[n + 1] - times[n])
        route.legs.append(Leg(round(xs[n], 1), round(xs[n + 1], 1), f"{words} so far" if last else words, last))

    def x_at(at: dt.datetime) -> float:
        for n in range(len(gaps)):
            if times[n] <= at <= times[n + 1]:
                share = (at - times[n]) / (times[n + 1] - times[n]) if times[n + 1] > times[n] else 0
                return xs[n] + share * (xs[n + 1] - xs[n])
        return xs[0] if at < times[0] else xs[-1]

    for event in events:
        if event.kind != DewarEventKind.STATUS:
            note = event.note.strip().splitlines()[0] if event.note.strip() else event.get_kind_display()
            title = f"{event.get_kind_display()}, {timezone.localtime(event.at):%Y-%m-%d %H:%M}: {note}"
            route.marks.append(Mark(round(x_at(event.at), 1), event.kind, title))
    return route
