"""A case record's exports, for its worker and administrators: a printable page for the paper
file (``/cases/{id}/record/print``), CSV for a spreadsheet and JSON for other software
(``/api/cases/{id}/record.csv``, ``/api/cases/{id}/record.json``). Each read is audited like the
case page's; another worker's case answers 404, as a case that does not exist (audited as
refused). Sealed notes are opened: it is the worker's own read.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.base import clock, i18n
from server.domain.attendance import write_csv
from server.domain.case_export import (
    ADVICE,
    DELIVERY_REASONS,
    ENTRY_LABELS,
    Code,
    Value,
    as_json,
    as_rows,
    details,
)
from server.domain.models import N_, Case, Worker
from server.edge.access import case_for, int_id
from server.edge.console import _console_language, _console_worker, _page
from server.edge.http import CONFIG, STORE, ApiError, require_worker

routes = web.RouteTableDef()

CASE_NOT_FOUND = N_("This case does not exist.")

# The console's pages name entries, reasons and advice in the exports' words (_macros.html).
i18n.LABELS.update(entries=ENTRY_LABELS, delivery_reasons=DELIVERY_REASONS, advice=ADVICE)


async def _case(request: web.Request, worker: Worker, action: str) -> Case:
    """The case for an export: another worker's case is "not found" (its existence is not
    said); the read or the refusal is audited by ``case_for``."""
    try:
        return await case_for(request, worker, int_id(request), action)
    except ApiError as error:
        if error.status == 403:
            raise ApiError(404, "case_not_found", CASE_NOT_FOUND) from None
        raise


def _say(lang: str, zone: str) -> tuple[Any, Any]:
    """A label translator and a value writer in ``lang``, times in the service's zone."""
    tr = i18n.translations(lang)
    fmt = i18n.Formatter(lang, zone)

    def say(value: Value) -> str:
        if isinstance(value, Code):
            return tr.gettext(value.msgid)
        if isinstance(value, str):
            return value
        return fmt.datetime(value)
    return tr.gettext, say


@routes.get("/api/cases/{id}/record.json")
async def record_json(request: web.Request) -> web.Response:
    """The case and its whole record as JSON (GET /api/cases/{id}'s, with ``schema_version``)."""
    worker = await require_worker(request)
    case = await _case(request, worker, "export_case_json")
    store = request.app[STORE]
    entries = await store.entries.for_case(case.id)
    appointments = [a.public() for a in await store.appointments.for_case(case.id)]
    body = as_json(case, entries, appointments, clock.now())
    return web.json_response(body, headers={
        "Content-Disposition": f'attachment; filename="{_file_name(case, "json")}"'})


@routes.get("/api/cases/{id}/record.csv")
async def record_csv(request: web.Request) -> web.Response:
    """The record as CSV: one line per entry (UTF-8 with a byte order mark, ``;`` in French as
    the attendance sheet)."""
    worker = await require_worker(request)
    case = await _case(request, worker, "export_case_csv")
    entries = await request.app[STORE].entries.for_case(case.id)
    lang = _console_language(request, worker)
    label, say = _say(lang, request.app[CONFIG].timezone)
    header = [label(N_("Date")), label(N_("Entry")), label(N_("Appointment")),
              label(N_("Details"))]
    text = write_csv(header, as_rows(entries, label, say), ";" if lang == "fr" else ",")
    return web.Response(body=("\ufeff" + text).encode("utf-8"), content_type="text/csv",
                        charset="utf-8", headers={
                            "Content-Disposition":
                                f'attachment; filename="{_file_name(case, "csv")}"'})


@routes.get("/cases/{id}/record/print")
async def record_page(request: web.Request) -> web.Response:
    """The record to print for the paper file: the case's details and every entry in full."""
    worker = await _console_worker(request)
    case = await _case(request, worker, "print_case_record")
    entries = await request.app[STORE].entries.for_case(case.id)
    _, say = _say(_console_language(request, worker), request.app[CONFIG].timezone)
    lines = [{"entry": e, "label": ENTRY_LABELS.get(e.kind, e.kind),
              "details": [(name, say(value)) for name, value in details(e)]} for e in entries]
    return _page(request, "console/record_print.html", worker, case=case, lines=lines,
                 printed_at=clock.now())


def _file_name(case: Case, extension: str) -> str:
    """``dossier-<id>-<day>.<ext>``: no name of the person in a file name (it is seen in
    download lists and synced folders)."""
    return f"dossier-{case.id}-{clock.now().date().isoformat()}.{extension}"
