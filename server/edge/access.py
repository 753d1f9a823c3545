"""Who may touch which case record, with every access written to the audit log."""

from __future__ import annotations

from aiohttp import web

from server.domain.models import N_, Appointment, Case, Worker, may_access
from server.edge.http import STORE, ApiError

__all__ = ["appointment_for", "case_for", "int_id", "may_access", "visible_cases"]


async def visible_cases(request: web.Request, worker: Worker) -> list[Case]:
    """The cases a worker may see (all of them for an administrator); the listing is audited."""
    store = request.app[STORE]
    cases = await store.cases.for_worker(None if worker.is_admin else worker.id)
    await store.audit.record(f"worker:{worker.id}", "list_cases", "ok",
                             target=f"{len(cases)} cases")
    return cases


async def case_for(request: web.Request, worker: Worker, case_id: int, action: str) -> Case:
    """Load a case for ``action``, or refuse (404 / 403); the attempt is audited either way."""
    store = request.app[STORE]
    case = await store.cases.get(case_id)
    actor = f"worker:{worker.id}"
    if case is None:
        await store.audit.record(actor, action, "not_found", target=f"case:{case_id}")
        raise ApiError(404, "case_not_found", N_("This case does not exist."))
    if not may_access(worker, case):
        await store.audit.record(actor, action, "denied", case_id=case.id)
        raise ApiError(403, "not_your_case", N_("This case is not assigned to you."))
    await store.audit.record(actor, action, "ok", case_id=case.id)
    return case


async def appointment_for(request: web.Request, worker: Worker, appointment_id: int,
                          action: str) -> tuple[Case, Appointment]:
    """Load an appointment and its case for ``action`` (audited like ``case_for``)."""
    store = request.app[STORE]
    appointment = await store.appointments.get(appointment_id)
    if appointment is None:
        await store.audit.record(f"worker:{worker.id}", action, "not_found",
                                 target=f"appointment:{appointment_id}")
        raise ApiError(404, "appointment_not_found", N_("This appointment does not exist."))
    case = await case_for(request, worker, appointment.case_id, action)
    return case, appointment


MAX_ID = 2**63 - 1  # SQLite's largest INTEGER: no row has a larger id (docs/openapi.yaml says so)


def parse_id(value: object) -> int | None:
    """A row id sent by a client (a JSON integer or a string of ASCII digits), or None.

    None for anything no row can have: not a whole number (``True``, ``1.5``, ``"1_0"``,
    ``"+1"``, non-ASCII digits), zero or less, or beyond SQLite's INTEGER range (which would
    raise OverflowError at the database instead of "not found").
    """
    if ((isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19)
            or (isinstance(value, float) and value.is_integer())):  # JSON's 3.0 is the integer 3
        value = int(value)
    if type(value) is not int or not 0 < value <= MAX_ID:
        return None
    return value


def int_id(request: web.Request, name: str = "id") -> int:
    """The id in the route, or 404 when no row can have it."""
    value = parse_id(request.match_info[name])
    if value is None:
        raise ApiError(404, "not_found", N_("This page does not exist."))
    return value
