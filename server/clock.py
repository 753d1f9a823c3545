"""Time: UTC instants for storage, local wall-clock times for people."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def to_db(moment: dt.datetime) -> str:
    """An aware datetime as the sortable UTC text the database keeps."""
    return moment.astimezone(UTC).strftime(_FORMAT)


def from_db(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    return dt.datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


class LocalTimeError(ValueError):
    """A local date and time that cannot be used (it does not exist, or is ambiguous)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def local_to_utc(local: dt.datetime, zone: str) -> dt.datetime:
    """Interpret a naive wall-clock time in ``zone``; refuse times skipped by a clock change.

    For a time that happens twice (clocks going back), the first occurrence is taken.
    """
    tz = ZoneInfo(zone)
    first = local.replace(tzinfo=tz, fold=0)
    back = first.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != local:
        raise LocalTimeError(
            "nonexistent_local_time",
            f"{local:%Y-%m-%d %H:%M} does not exist in {zone}: the clocks change at that time.")
    return first.astimezone(UTC)


def to_local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(zone))
