"""The console's group sessions: the list, the form to plan one, and a group's page.

Pages only read; planning goes through ``POST /api/groups`` from ``console.js``. The group's
live room (``/groups/{id}/live``) is another page (``live.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from server.base import clock, i18n
from server.domain.groups import DEFAULT_RULE, DEFAULT_SPEAKING_RULES, MAX_MINUTES
from server.domain.models import N_, may_access
from server.edge.access import int_id, visible_cases
from server.edge.console import _clock_changes, _console_language, _console_worker, _page
from server.edge.group_end import group_record
from server.edge.http import CONFIG, STORE, ApiError
from server.services.groups import group_for

routes = web.RouteTableDef()


@routes.get("/groups")
async def groups_page(request: web.Request) -> web.Response:
    """The group sessions I lead or take part in (all of them for an administrator)."""
    worker = await _console_worker(request)
    store = request.app[STORE]
    groups = await store.groups.for_worker(None if worker.is_admin else worker.id)
    await store.audit.record(f"worker:{worker.id}", "list_groups", "ok",
                             target=f"{len(groups)} groups")
    rows = []
    for group in groups:
        members = await store.groups.members(group.id)
        mine = next((m.role for m in members if m.worker_id == worker.id), None)
        role = "facilitator" if group.facilitator_id == worker.id else mine
        rows.append({"group": group, "count": len(members) + 1, "role": role})
    return _page(request, "console/groups.html", worker, rows=rows)


@routes.get("/groups/new")
async def new_group_page(request: web.Request) -> web.Response:
    """The form to plan a group session: my cases to choose from, a colleague's case by its
    number (with their agreement), co-workers with a role."""
    worker = await _console_worker(request)
    store, config = request.app[STORE], request.app[CONFIG]
    cases = await visible_cases(request, worker)
    colleagues = [w for w in await store.workers.all() if w.id != worker.id and not w.disabled]
    tr = i18n.translations(_console_language(request, worker))
    tomorrow = clock.to_local(clock.now(), config.timezone).date() + dt.timedelta(days=1)
    return _page(request, "console/group_form.html", worker, cases=cases,
                 colleagues=colleagues, default_date=tomorrow.isoformat(),
                 clock_changes=_clock_changes(config), max_minutes=MAX_MINUTES,
                 default_rule=tr.gettext(DEFAULT_RULE),
                 default_speaking_rules=tr.gettext(DEFAULT_SPEAKING_RULES))


@routes.get("/groups/{id}")
async def group_page(request: web.Request) -> web.Response:
    """A group session: when, the agenda and rules, the members with their roles, each
    person's link (the new ones once, after planning) and their appointment."""
    worker = await _console_worker(request)
    store = request.app[STORE]
    group_id = int_id(request)
    found = await group_for(store, worker, group_id)
    if found is None:
        await store.audit.record(f"worker:{worker.id}", "read_group", "denied",
                                 target=f"group:{group_id}")
        raise ApiError(404, "group_not_found", N_("This group session does not exist."))
    group, members = found
    await store.audit.record(f"worker:{worker.id}", "read_group", "ok",
                             target=f"group:{group_id}")
    names = {w.id: w.display_name for w in await store.workers.all()}
    people: list[dict[str, Any]] = []
    workers = [{"name": names.get(group.facilitator_id, ""), "role": "facilitator"}]
    for m in members:
        if m.worker_id is not None:
            workers.append({"name": names.get(m.worker_id, ""), "role": m.role})
            continue
        appointment = await store.appointments.get(m.appointment_id or 0)
        case = await store.cases.get(appointment.case_id) if appointment else None
        if appointment is None or case is None:
            continue
        invitation = await store.invitations.current(appointment.id)
        agreement = m.agreement or {}
        people.append({
            "name": case.person_name, "appointment": appointment,
            "state": invitation.state(clock.now()) if invitation else None,
            "expires_at": invitation.expires_at if invitation else None,
            "visible": may_access(worker, case),
            "colleague": names.get(agreement["worker_id"], "") if agreement.get("worker_id")
            else None, "agreed_at": _moment(agreement.get("at"))})
    # The session's own record (attendance, closing): edge/group_end.py.
    record = await group_record(store, request.app[CONFIG].timezone, group, members, worker)
    return _page(request, "console/group.html", worker, group=group, workers=workers,
                 people=people, leads=worker.id == group.facilitator_id, record=record)


def _moment(text: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if isinstance(text, str) else None
