"""The end of a group session, for its workers: the session's record (attendance, closing), the
closing form (``/api/groups/{id}/session/closing``), and the attendance sheet as CSV and as a
printable page. Only the group's workers and administrators; every read is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from server.base import clock, i18n
from server.domain.attendance import attendance, group_roles, to_csv
from server.domain.group_closing import EVERYONE, MAX_FOLLOW_UPS
from server.domain.groups import GroupMember, GroupSession
from server.domain.models import N_, InterviewSession, Worker
from server.domain.room import RoomRef
from server.edge.access import int_id
from server.edge.console import _console_worker, _page
from server.edge.http import (
    CONFIG,
    INTERVIEWS,
    STORE,
    ApiError,
    json_body,
    request_language,
    require_worker,
)
from server.services import group_closing
from server.services.group_closing import GroupClosing, GroupClosingForm, may_close
from server.services.groups import group_for
from server.services.records import recipients
from server.storage.repositories import Store

routes = web.RouteTableDef()

ROLE_NAMES = {"facilitator": N_("Facilitator"), "note_taker": N_("Note-taker"),
              "technical_helper": N_("Technical helper"), "co_worker": N_("Co-worker"),
              "person": N_("Participant")}
NOT_NOTE_TAKER = N_("Only the facilitator or the note-taker writes the end of the session.")
MEETING_MODALITIES = {"video": N_("Video"), "audio": N_("Audio only"), "phone": N_("Phone"),
                      "in_person": N_("In person")}


async def _group(request: web.Request, worker: Worker, action: str, audit_ok: bool = True,
                 ) -> tuple[GroupSession, list[GroupMember]]:
    """The group, if the worker is one of its workers (or an administrator); audited (the
    access granted too, unless the caller audits what it does with it)."""
    store = request.app[STORE]
    group_id = int_id(request)
    found = await group_for(store, worker, group_id)
    actor = f"worker:{worker.id}"
    if found is None:
        await store.audit.record(actor, action, "denied", target=f"group:{group_id}")
        raise ApiError(404, "group_not_found", N_("This group session does not exist."))
    if audit_ok:
        await store.audit.record(actor, action, "ok", target=f"group:{group_id}")
    return found


async def _session(store: Store, group: GroupSession) -> InterviewSession | None:
    return await store.interviews.latest_in(RoomRef.of_group(group))


def _language(request: web.Request, worker: Worker) -> str:
    """?lang=, else the language chosen on "My account", else the browser's."""
    if request.query.get("lang") in i18n.LANGUAGES or not worker.language:
        return request_language(request)
    return worker.language


@routes.get("/api/groups/{id}/session")
async def get_group_session(request: web.Request) -> web.Response:
    """The group's latest session with its whole log (names included: workers only), its
    attendance sheet and its closing."""
    worker = await require_worker(request)
    group, members = await _group(request, worker, "read_group_session")
    session = await _session(request.app[STORE], group)
    if session is None:
        return web.json_response({"session": None, "attendance": []})
    rows = attendance(session.log, group_roles(group, members))
    return web.json_response({
        "session": {"id": session.id, "status": session.status, "log": session.log.to_json(),
                    "started_at": session.started_at.isoformat(),
                    "ended_at": session.ended_at.isoformat() if session.ended_at else None},
        "attendance": [r.public() for r in rows]})


@routes.post("/api/groups/{id}/session/closing")
async def close_group_session(request: web.Request) -> web.Response:
    """Notes, follow-ups and the next meeting, by the facilitator or the note-taker."""
    worker = await require_worker(request)
    store = request.app[STORE]
    group, members = await _group(request, worker, "close_group_session", audit_ok=False)
    if not may_close(worker, group, members):  # a co-worker of another role: before the form
        await store.audit.record(f"worker:{worker.id}", "close_group_session", "denied",
                                 target=f"group:{group.id}")
        raise ApiError(403, "not_note_taker", NOT_NOTE_TAKER)
    form = GroupClosingForm.from_json(await json_body(request))
    service = GroupClosing(store, request.app[INTERVIEWS].rooms.locks,
                           request.app[CONFIG].timezone)
    try:
        closing, copied = await service.close(worker, group, members, form)
    except group_closing.NotAllowed:  # checked above; the service checks it too
        raise ApiError(403, "not_note_taker", NOT_NOTE_TAKER) from None
    except group_closing.NoSession:
        raise ApiError(409, "no_session", N_("This group session has not started yet.")) from None
    return web.json_response({"closing": closing, "records": copied})


@routes.get("/api/groups/{id}/attendance.csv")
async def attendance_csv(request: web.Request) -> web.Response:
    """The attendance sheet as CSV (UTF-8 with a byte order mark, for spreadsheets)."""
    worker = await require_worker(request)
    group, members = await _group(request, worker, "read_attendance")
    session = await _session(request.app[STORE], group)
    rows = attendance(session.log, group_roles(group, members)) if session else []
    lang = _language(request, worker)
    tr = i18n.translations(lang)
    header = [tr.gettext(N_("Name")), tr.gettext(N_("Role")), tr.gettext(N_("Arrival")),
              tr.gettext(N_("Departure")), tr.gettext(N_("Minutes")),
              tr.gettext(N_("By phone"))]
    # Spreadsheets read ";" in French (the comma is the decimal mark there), "," in English.
    text = to_csv(rows, header, {k: tr.gettext(v) for k, v in ROLE_NAMES.items()},
                  (tr.gettext(N_("yes")), tr.gettext(N_("no"))), request.app[CONFIG].timezone,
                  ";" if lang == "fr" else ",")
    zone = request.app[CONFIG].timezone
    day = clock.to_local(session.started_at if session else group.starts_at, zone).date()
    name = "emargement" if lang == "fr" else "attendance"
    return web.Response(body=("\ufeff" + text).encode("utf-8"), content_type="text/csv",
                        charset="utf-8", headers={
                            "Content-Disposition": f'attachment; filename="{name}-{day}.csv"'})


@routes.get("/groups/{id}/attendance")
async def attendance_page(request: web.Request) -> web.Response:
    """The attendance sheet to print, with an empty column for signatures."""
    worker = await _console_worker(request)
    group, members = await _group(request, worker, "read_attendance")
    record = await group_record(request.app[STORE], request.app[CONFIG].timezone, group,
                                members, worker)
    return _page(request, "console/attendance.html", worker, group=group, record=record)


async def group_record(store: Store, zone: str, group: GroupSession,
                       members: list[GroupMember], worker: Worker) -> dict[str, Any]:
    """What the group's pages show of its latest session, for its workers only: the attendance
    sheet, who was invited and did not come, the closing with names, and — for the facilitator
    and the note-taker — the closing form, filled with what was written before."""
    session = await _session(store, group)
    facilitator = await store.workers.get(group.facilitator_id)
    record: dict[str, Any] = {"session": session, "facilitator": facilitator,
                              "role_names": ROLE_NAMES, "meeting_modalities": MEETING_MODALITIES,
                              "may_close": may_close(worker, group, members)}
    if session is None:
        return record
    choices = [(EVERYONE, N_("Everyone"), True)]
    choices.append((f"worker:{group.facilitator_id}",
                    facilitator.display_name if facilitator else "", False))
    for m in members:
        other = await store.workers.get(m.worker_id) if m.worker_id is not None else None
        if other is not None:
            choices.append((f"worker:{other.id}", other.display_name, False))
    people = await recipients(store, group.id, session.log)
    choices += [(f"person:{p.member_id}", p.case.person_name, False) for p, _ in people]
    closing = session.log.closing
    record.update(
        rows=attendance(session.log, group_roles(group, members)), choices=choices,
        absent=[p.case.person_name for p, browsers in people if not browsers],
        closing=_closing_view(closing, {v: n for v, n, _ in choices}, zone) if closing else None,
        form=_closing_form(closing, zone))
    return record


def _closing_view(closing: dict[str, Any], names: dict[str, str], zone: str,
                  ) -> dict[str, Any]:
    """The closing with names (for the group's workers) and times as datetimes (a follow-up's
    day at noon in the service's time zone, for the date formatter)."""
    meeting = closing.get("next_meeting")
    return {**closing, "follow_ups": [
        {**f, "who_name": names.get(f["who"], f["who"]),
         "by": dt.datetime.combine(dt.date.fromisoformat(f["by"]), dt.time(12),
                                   ZoneInfo(zone)) if f.get("by") else None}
        for f in closing.get("follow_ups", [])],
        "at": dt.datetime.fromisoformat(closing["at"]) if closing.get("at") else None,
        "by_name": names.get(f"worker:{closing.get('by')}", ""),
        "next_meeting": {**meeting, "starts_at": dt.datetime.fromisoformat(meeting["starts_at"])}
        if meeting else None}


def _closing_form(closing: dict[str, Any] | None, zone: str) -> dict[str, Any]:
    """The closing form's values: what was written, and empty rows to add follow-ups."""
    closing = closing or {}
    follow_ups = [(f["who"], f["what"], f.get("by") or "")
                  for f in closing.get("follow_ups", [])]
    follow_ups += [(EVERYONE, "", "")] * min(3, MAX_FOLLOW_UPS - len(follow_ups))
    meeting = closing.get("next_meeting")
    local = clock.to_local(dt.datetime.fromisoformat(meeting["starts_at"]), zone) \
        if meeting else None
    return {"notes": closing.get("notes", ""), "follow_ups": follow_ups,
            "date": local.strftime("%Y-%m-%d") if local else "",
            "time": local.strftime("%H:%M") if local else "",
            "modality": meeting["modality"] if meeting else "video"}
