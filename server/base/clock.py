"""Time: UTC instants for storage, local wall-clock times for people.

On the days the clocks change, a wall-clock time alone is not enough: going back, 02:30 happens
twice (first in summer time, then in winter time); going forward, 02:30 does not happen at all.
Instants are therefore always kept in UTC, wall-clock times are read with the occurrence meant
(``local_to_utc``), and shown with their offset on such days (``i18n.Formatter``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Literal
from zoneinfo import ZoneInfo

UTC = dt.UTC
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def to_db(moment: dt.datetime) -> str:
    """An aware datetime as the sortable UTC text the database keeps."""
    return moment.astimezone(UTC).strftime(_FORMAT)


def from_db(text: str) -> dt.datetime:
    """The aware UTC datetime of a time the database keeps (``to_db``'s text)."""
    return dt.datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


def from_db_or_none(text: str | None) -> dt.datetime | None:
    """``from_db`` for a column that may be empty (NULL: not revoked, not sent, not ended)."""
    return None if text is None else from_db(text)


class LocalTimeError(ValueError):
    """A local date and time that cannot be used (it does not exist, or is ambiguous)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


Occurrence = Literal["first", "second"]
OCCURRENCES: tuple[Occurrence, ...] = ("first", "second")


def local_to_utc(local: dt.datetime, zone: str, occurrence: Occurrence = "first") -> dt.datetime:
    """Interpret a naive wall-clock time in ``zone``; refuse times skipped by a clock change.

    A time that happens twice (clocks going back) is its first occurrence unless ``occurrence``
    is ``"second"``; asking for the second occurrence of a time that happens once is refused.
    """
    tz = ZoneInfo(zone)
    first = local.replace(tzinfo=tz, fold=0)
    back = first.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != local:
        raise LocalTimeError(
            "nonexistent_local_time",
            f"{local:%Y-%m-%d %H:%M} does not exist in {zone}: the clocks change at that time.")
    if occurrence == "first":
        return first.astimezone(UTC)
    if not is_repeated(local, zone):
        raise LocalTimeError(
            "not_repeated_local_time",
            f"{local:%Y-%m-%d %H:%M} happens only once in {zone}: there is no second one.")
    return local.replace(tzinfo=tz, fold=1).astimezone(UTC)


def is_repeated(local: dt.datetime, zone: str) -> bool:
    """Whether a naive wall-clock time happens twice in ``zone`` (the hour the clocks go back)."""
    tz = ZoneInfo(zone)
    first, second = local.replace(tzinfo=tz, fold=0), local.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    # Both readings must land back on the same wall-clock time (a skipped time does not).
    return all(m.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local
               for m in (first, second))


def to_local(moment: dt.datetime, zone: str) -> dt.datetime:
    """The wall-clock time in ``zone``; ``fold`` is 1 for the second of a repeated time."""
    return moment.astimezone(ZoneInfo(zone))


def utc_offset(moment: dt.datetime, zone: str) -> str:
    """The offset from UTC in force at ``moment`` in ``zone``, as people write it: "UTC+2",
    "UTC-3", "UTC+5:30", "UTC" for none."""
    offset = to_local(moment, zone).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@dataclasses.dataclass(frozen=True)
class ClockChange:
    """A moment the clocks of a zone change, told in wall-clock terms.

    Going back (``repeated``), the wall-clock times from ``local_from`` up to ``local_until``
    happen twice: first at ``offset_before``, then at ``offset_after``. Going forward, those
    times are skipped."""

    kind: Literal["back", "forward"]
    at: dt.datetime          # the instant, in UTC
    date: dt.date            # the local day
    local_from: dt.time      # first wall-clock time repeated or skipped
    local_until: dt.time     # first wall-clock time after them
    offset_before: str       # "UTC+2"
    offset_after: str        # "UTC+1"

    def public(self) -> dict[str, str]:
        """As the appointment form's script reads it ("until" is "24:00" at midnight)."""
        until = self.local_until.strftime("%H:%M")
        if self.local_until <= self.local_from:
            until = "24:00"
        return {"kind": self.kind, "date": self.date.isoformat(),
                "from": self.local_from.strftime("%H:%M"), "until": until,
                "offset_before": self.offset_before, "offset_after": self.offset_after}


@functools.lru_cache(maxsize=64)
def clock_changes(zone: str, first_day: dt.date, last_day: dt.date) -> tuple[ClockChange, ...]:
    """Every clock change in ``zone`` on the local days from ``first_day`` to ``last_day``."""
    tz = ZoneInfo(zone)
    changes = []
    day = first_day
    while day <= last_day:
        start = dt.datetime.combine(day, dt.time(), tz).astimezone(UTC)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz).astimezone(UTC)
        if start.astimezone(tz).utcoffset() != end.astimezone(tz).utcoffset():
            changes.append(_change_between(start, end, tz))
        day += dt.timedelta(days=1)
    return tuple(changes)


def changes_on(day: dt.date, zone: str) -> bool:
    """Whether the clocks of ``zone`` change on the local day ``day``."""
    return bool(clock_changes(zone, day, day))


def _change_between(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> ClockChange:
    """The change between two UTC instants whose offsets differ, found to the minute."""
    before = start.astimezone(tz).utcoffset()
    low, high = 0, int((end - start).total_seconds()) // 60  # minutes after start
    while high - low > 1:  # offset at low is ``before``; at high it is not
        middle = (low + high) // 2
        if (start + dt.timedelta(minutes=middle)).astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    at = start + dt.timedelta(minutes=high)
    old, new = (at - dt.timedelta(minutes=1)).astimezone(tz), at.astimezone(tz)
    old_offset, new_offset = old.utcoffset(), new.utcoffset()
    assert old_offset is not None and new_offset is not None
    wall_before = at.replace(tzinfo=None) + old_offset  # what the clocks would have shown
    wall_after = at.replace(tzinfo=None) + new_offset   # what they show
    back = new_offset < old_offset
    local_from, local_until = (wall_after, wall_before) if back else (wall_before, wall_after)
    return ClockChange(kind="back" if back else "forward", at=at, date=new.date(),
                       local_from=local_from.time(), local_until=local_until.time(),
                       offset_before=utc_offset(old, tz.key), offset_after=utc_offset(new, tz.key))
