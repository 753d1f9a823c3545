"""Run one business act on a Proxima data directory, and SIGKILL the process at a chosen step.

Used by tests/test_crash.py as a subprocess (a real kill, real files):

    python tests/crash_act.py DATA_DIR prepare
    python tests/crash_act.py DATA_DIR ACT KILL_AT

``prepare`` creates a worker, a case and an appointment. ``ACT`` is one of ``plan``, ``move``,
``cancel``, ``reissue``, ``revoke``; the process is killed (SIGKILL) right after the database
call number ``KILL_AT`` of the act returns; ``0`` runs the act to its end and prints how many
database calls it made.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from typing import Any
from zoneinfo import ZoneInfo

from server.base import settings
from server.services.scheduling import AppointmentForm, Scheduling
from server.storage import startup as storage
from server.storage.db import Database


def form(days: int) -> AppointmentForm:
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()  # the service's time zone
    day = (today + dt.timedelta(days=days)).isoformat()
    return AppointmentForm.from_json({
        "date": day, "time": "10:00", "duration_minutes": 45, "modality": "video",
        "topic": "Faire le point", "incident_phone": "01 23 45 67 89"})


async def main(data_dir: str, act: str, kill_at: int) -> None:
    config = settings.load(environ={}).replace(data_dir=data_dir,
                                               public_url="https://127.0.0.1:9")
    store = storage.open_store(config)
    scheduling = Scheduling(store, config, notify=lambda: None)
    if act == "prepare":
        from server.base import clock
        from server.domain.models import Case
        from server.services import accounts
        worker, _ = await accounts.create_worker(store, "anne@example.org", "Anne Martin",
                                                 "01 23 45 67 89", "worker")
        case = await store.cases.create(Case(
            id=0, worker_id=worker.id, reference="R1", person_name="Fatou Diallo",
            email="fatou@example.net", mobile="06 12 34 56 78", language="fr",
            modality="video", accessibility="", created_at=clock.now()))
        await scheduling.create(worker, case, form(3))
        store.db.close()
        return
    worker = (await store.workers.all())[0]
    case = (await store.cases.for_worker(None))[0]
    appointment = (await store.appointments.for_case(case.id))[0]
    calls = 0
    original = Database.run

    async def counted(self: Database, fn: Any) -> Any:
        nonlocal calls
        result = await original(self, fn)
        calls += 1
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    Database.run = counted  # type: ignore[method-assign]
    if act == "plan":
        await scheduling.create(worker, case, form(5))
    elif act == "move":
        await scheduling.move(worker, case, appointment, form(6))
    elif act == "cancel":
        await scheduling.cancel(worker, case, appointment)
    elif act == "reissue":
        await scheduling.reissue(worker, case, appointment)
    elif act == "revoke":
        await scheduling.revoke(case, appointment)
    else:
        raise SystemExit(f"unknown act {act}")
    Database.run = original  # type: ignore[method-assign]
    print(calls)
    store.db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0))
