"""Pictures of the data drawn on the server as SVG (no script, no chart library): a session's best resolution
per sample.

    session_collections(session, user) -> SessionData     # its collections (newest first) and the plot

The plot is geometry only (points, ticks, labels in SVG user units); ``samples/data/_resolution_plot.html``
draws it, so every text is escaped by the template. Resolution runs downwards (the best at the top, as people
read "higher is better"); samples run left to right in the order they were first collected on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.db.models import Count, Min

from .links import url_maker
from .models import DataCollection
from .selectors import collection_visible_to

COLLECTIONS_SHOWN = 100
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 64, 14, 78  # room for the axis labels and the samples' names
NAMES_UP_TO = 40  # more samples than this: no names under the axis (the points keep their tooltips)
# Quality bands of a best resolution (Å), as a crystallographer sorts them at a glance.
BANDS = ((2.0, "good"), (3.0, "fair"), (math.inf, "poor"))


@dataclass
class Point:
    sample_id: int
    name: str
    best: float | None
    collections: int
    x: float
    y: float
    band: str
    url: str

    @property
    def cross(self) -> str:
        """An × for a sample with no resolution yet (SVG path data)."""
        return f"M{self.x - 4:.1f} {self.y - 4:.1f}l8 8m0 -8l-8 8"

    @property
    def label(self) -> str:
        n = f"{self.collections} collection{'s' if self.collections != 1 else ''}"
        best = f"best {self.best:.2f} Å" if self.best is not None else "no resolution yet"
        return f"{self.name}: {best} ({n})"


@dataclass
class ResolutionPlot:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM
    points: list[Point] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    names: bool = True

    @property
    def tick_x(self) -> int:
        return self.left - 6

    @property
    def names_y(self) -> int:
        return self.plot_bottom + 8

    @property
    def axis_label_y(self) -> float:
        return (self.top + self.plot_bottom) / 2

    @property
    def summary(self) -> str:
        measured = [p for p in self.points if p.best is not None]
        if not measured:
            return f"{len(self.points)} samples, none with a resolution yet."
        best = min(measured, key=lambda p: p.best)
        return f"Best resolution of {len(self.points)} samples; the best is {best.name} at {best.best:.2f} Å."


@dataclass
class SessionData:
    collections: list[DataCollection]
    count: int
    plot: ResolutionPlot | None


def _band(best: float | None) -> str:
    if best is None:
        return "none"
    return next(name for limit, name in BANDS if best <= limit)


def _ticks(low: float, high: float) -> tuple[float, float, float]:
    """A range around [low, high] on round steps, and the step (about five ticks)."""
    span = max(high - low, 0.2)
    raw = span / 5
    step = min((s for s in (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0) if s >= raw), default=raw)
    return math.floor(low / step) * step, math.ceil(high / step) * step + (step if high == low else 0), step


def resolution_plot(rows: list[dict]) -> ResolutionPlot | None:
    """``rows``: per sample ``sample_id``, ``sample__name``, ``best``, ``first``, ``n`` (see below)."""
    if not rows:
        return None
    plot = ResolutionPlot(names=len(rows) <= NAMES_UP_TO)
    rows = sorted(rows, key=lambda r: (r["first"], r["sample__name"]))
    values = [r["best"] for r in rows if r["best"] is not None]
    low, high, step = _ticks(min(values, default=1.0), max(values, default=3.0))
    inner_bottom = plot.plot_bottom - 14  # a row below the axis range for "no resolution yet"
    span = plot.plot_right - plot.left

    def y_of(value: float) -> float:
        return plot.top + (value - low) / (high - low) * (inner_bottom - plot.top)

    count = round((high - low) / step)
    plot.ticks = [
        (round(y_of(low + k * step), 1), f"{low + k * step:.2f}".rstrip("0").rstrip(".")) for k in range(count + 1)
    ]
    sample_url = url_maker("beamline:sample")
    for index, row in enumerate(rows):
        x = plot.left + span * (index + 0.5) / len(rows)
        best = row["best"]
        plot.points.append(
            Point(
                sample_id=row["sample_id"],
                name=row["sample__name"],
                best=best,
                collections=row["n"],
                x=round(x, 1),
                y=round(y_of(best) if best is not None else plot.plot_bottom - 4, 1),
                band=_band(best),
                url=sample_url(row["sample_id"]),
            )
        )
    return plot


def session_collections(session, user) -> SessionData:
    """The session's collections the user may see (the newest ``COLLECTIONS_SHOWN``), their count, and the plot
    of the best resolution per sample over all of them (two queries and the count)."""
    visible = collection_visible_to(user).filter(session=session)
    per_sample = (
        visible.filter(sample__isnull=False)
        .values("sample_id", "sample__name")
        .annotate(best=Min("best_resolution"), first=Min("start_time"), n=Count("id"))
        .order_by()
    )
    shown = list(
        visible.select_related("sample", "beamline")
        .defer("search_text", "metadata")
        .order_by("-start_time", "-id")[: COLLECTIONS_SHOWN + 1]
    )
    count = len(shown) if len(shown) <= COLLECTIONS_SHOWN else visible.count()
    return SessionData(collections=shown[:COLLECTIONS_SHOWN], count=count, plot=resolution_plot(list(per_sample)))
