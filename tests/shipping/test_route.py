"""The dewar's route as drawn (shipping.route): the words of each leg, and where the line ends."""

import datetime as dt
from types import SimpleNamespace

from shipping.choices import DewarEventKind, DewarStatus
from shipping.route import MIN_GAP, dewar_route, duration_words

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _event(status, hours, kind=DewarEventKind.STATUS, note=""):
    return SimpleNamespace(
        status=status,
        kind=kind,
        at=T0 + dt.timedelta(hours=hours),
        location_id=None,
        note=note,
        get_status_display=lambda: DewarStatus(status).label,
        get_kind_display=lambda: DewarEventKind(kind).label,
    )


def test_a_leg_is_said_as_people_say_it():
    assert duration_words(dt.timedelta(minutes=35)) == "35 min"
    assert duration_words(dt.timedelta(hours=5, minutes=20)) == "5 h 20 min"
    assert duration_words(dt.timedelta(hours=13, minutes=20)) == "13 h"
    assert duration_words(dt.timedelta(days=2, hours=4, minutes=10)) == "2 d 4 h"
    assert duration_words(dt.timedelta(days=3)) == "3 d"


def test_a_returned_dewar_ends_at_its_last_station_and_stations_never_crowd():
    events = [
        _event(DewarStatus.IN_TRANSIT_TO_FACILITY, 0),
        _event(DewarStatus.AT_FACILITY, 48),
        _event(DewarStatus.AT_BEAMLINE, 48.2),  # twelve minutes later: still MIN_GAP apart
        _event(DewarStatus.AT_BEAMLINE, 50, kind=DewarEventKind.INCIDENT, note="Damaged: lid\nmore"),
        _event(DewarStatus.IN_TRANSIT_TO_USER, 72),
        _event(DewarStatus.RETURNED, 120),
    ]
    route = dewar_route(events, now=T0 + dt.timedelta(days=30))
    xs = [s.x for s in route.stations]
    assert all(b - a >= MIN_GAP for a, b in zip(xs, xs[1:], strict=False))
    assert xs[1] - xs[0] > xs[2] - xs[1]  # two days read longer than twelve minutes
    assert [leg.text for leg in route.legs] == ["2 d", "12 min", "23 h", "2 d"]
    assert not any(leg.ongoing for leg in route.legs)  # returned: no leg on to "now"
    assert route.stations[-1].current and not route.stations[0].current
    (mark,) = route.marks
    assert mark.kind == "incident" and "Damaged: lid" in mark.title and "more" not in mark.title
    assert xs[2] < mark.x < xs[3]
    assert route.summary.endswith("; 1 incident")


def test_no_status_change_no_route():
    assert dewar_route([]) is None
