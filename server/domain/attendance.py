"""The attendance sheet (émargement) of a group session, read from its session log.

One row per stay: who (their name, their role in the group), when they arrived and left, how many
minutes, and whether they attended by phone. Only the group's workers see it; it is exported as CSV
for a spreadsheet and as a printable page with an empty column for signatures (the paper file).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Mapping

from server.base import clock
from server.domain.groups import GroupMember, GroupSession
from server.domain.ids import ParticipantId
from server.domain.session_log import SessionLog

# The roles a row can show: the group's roles, and "person" for a beneficiary.
ROLES = ("facilitator", "note_taker", "technical_helper", "co_worker", "person")
# What the live room writes as a participant's role, when the group does not say better.
_LOG_ROLES = {"worker": "facilitator", "coworker": "co_worker", "person": "person"}
# A cell a spreadsheet would read as a formula starts with one of these (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclasses.dataclass(frozen=True)
class AttendanceRow:
    """One stay of one participant in the session."""

    participant: str  # the log's participant id: w:3, g:17
    name: str
    role: str  # one of ROLES
    arrived: dt.datetime | None  # None: marked as attending (by phone) without a stay
    left: dt.datetime | None  # None: still there
    by_phone: bool

    @property
    def minutes(self) -> int | None:
        """Whole minutes of the stay (to the nearest); None while it goes on."""
        if self.arrived is None or self.left is None:
            return None
        seconds = max(0, int((self.left - self.arrived).total_seconds()))
        return (seconds + 30) // 60

    def public(self) -> dict[str, object]:
        return {"participant": self.participant, "name": self.name, "role": self.role,
                "arrived": self.arrived.isoformat() if self.arrived else None,
                "left": self.left.isoformat() if self.left else None,
                "minutes": self.minutes, "by_phone": self.by_phone}


def group_roles(group: GroupSession, members: list[GroupMember]) -> dict[str, str]:
    """The role of each worker of the group, by participant id (the facilitator hosts)."""
    roles: dict[str, str] = {str(ParticipantId.worker(m.worker_id)): m.role for m in members
                             if m.worker_id is not None}
    roles[str(ParticipantId.worker(group.facilitator_id))] = "facilitator"
    return roles


def attendance(log: SessionLog, roles: Mapping[str, str]) -> list[AttendanceRow]:
    """Every stay in the log, in the order people arrived."""
    rows = []
    for pid, entry in log.participants.items():
        role = roles.get(pid) or (entry.role if entry.role in ROLES else
                                  _LOG_ROLES.get(entry.role, "person"))
        if not pid.startswith("w:"):
            role = "person"  # a browser is a person's, whatever it claims
        if not entry.stays:
            rows.append(AttendanceRow(pid, entry.name, role, None, None, entry.by_phone))
        for stay in entry.stays:
            rows.append(AttendanceRow(
                pid, entry.name, role, dt.datetime.fromisoformat(stay.joined),
                dt.datetime.fromisoformat(stay.left) if stay.left else None, entry.by_phone))
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(rows, key=lambda r: (r.arrived or never, r.name))


def spreadsheet_cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading ``=``, ``+``, ``-`` or ``@`` would make it a
    formula (a name is data, never code), so such a cell starts with an apostrophe."""
    return "'" + text if text.startswith(_FORMULA) else text


def local_time(moment: dt.datetime | None, zone: str) -> str:
    """``YYYY-MM-DD HH:MM`` in the service's time zone (what spreadsheets read as a date)."""
    return clock.to_local(moment, zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def to_csv(rows: list[AttendanceRow], header: list[str], role_names: Mapping[str, str],
           yes_no: tuple[str, str], zone: str, delimiter: str) -> str:
    """The sheet as CSV text: a header, then one line per stay (name, role, arrival, departure,
    minutes, by phone). The caller gives the words in the reader's language."""
    return write_csv(header, [
        [row.name, role_names.get(row.role, row.role), local_time(row.arrived, zone),
         local_time(row.left, zone), "" if row.minutes is None else str(row.minutes),
         yes_no[0] if row.by_phone else yes_no[1]] for row in rows], delimiter)


def write_csv(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    """CSV text for a spreadsheet (the attendance sheet, a case record's export): a header, then
    the rows, every cell safe from being read as a formula."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_cell(cell) for cell in row])
    return out.getvalue()
