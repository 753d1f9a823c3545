"""My account: the logged-in worker's own name, phone and console language (``/api/account``).

The name and the phone are what invitations show the person ("avec Hélène Dupont", the number to
call if the connection fails) and what new appointments start from; the password is changed
through ``POST /api/password``. Every change is written to the audit log (which fields, not their
values).
"""

from __future__ import annotations

from aiohttp import web

from server.base import i18n
from server.domain.models import N_, Invalid, Worker, check_choice, check_phone, check_text
from server.edge.http import LANG_COOKIE, STORE, json_body, require_worker
from server.storage.accounts import WorkerChanges

routes = web.RouteTableDef()

FIELDS = ("display_name", "phone", "language")
LANGUAGE_CHOICES = ("", *i18n.LANGUAGES)  # "" is the browser's language


@routes.get("/api/account")
async def my_account(request: web.Request) -> web.Response:
    """The logged-in worker's account."""
    worker = await require_worker(request)
    return web.json_response({"worker": worker.public()})


@routes.patch("/api/account")
async def change_my_account(request: web.Request) -> web.Response:
    """Change one's own name, phone or console language; only the fields sent change."""
    worker = await require_worker(request)
    data = await json_body(request)
    changed = _changes(data, worker)
    store = request.app[STORE]
    if changed:
        await store.workers.update(worker.id, **changed)
        await store.audit.record(f"worker:{worker.id}", "update_account", "ok",
                                 target=f"worker:{worker.id}:{','.join(sorted(changed))}")
    updated = await store.workers.get(worker.id)
    assert updated is not None
    response = web.json_response({"worker": updated.public()})
    if "language" in data:  # this browser's pages and API messages follow at once
        if updated.language:
            response.set_cookie(LANG_COOKIE, updated.language, secure=True, httponly=True,
                                samesite="Strict", path="/", max_age=365 * 86400)
        else:
            response.del_cookie(LANG_COOKIE, path="/")
    return response


def _changes(data: dict[str, object], worker: Worker) -> WorkerChanges:
    """The fields sent that differ from the account (each checked first)."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise Invalid(min(unknown), N_("Unknown field."))
    changes = WorkerChanges()
    if "display_name" in data:
        name = check_text("display_name", data["display_name"], 200)
        if name != worker.display_name:
            changes["display_name"] = name
    if "phone" in data:
        phone = check_phone("phone", data["phone"], required=False)
        if phone != worker.phone:
            changes["phone"] = phone
    if "language" in data:
        language = check_choice("language", data["language"], LANGUAGE_CHOICES)
        if language != worker.language:
            changes["language"] = language
    return changes
