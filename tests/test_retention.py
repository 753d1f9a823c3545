"""Retention (issue 12, item 5): what has outlived its time goes, the rest stays, the audit records
it and its chain still verifies; one run a day even with several processes.

The server's wall clock (``clock.now``) is moved by the test: a case whose last contact was
1000 days ago, another as old but under a legal hold, a recent case with a connection test of
four months ago and one of ten days ago. Then the real ``proxima retention run`` (a dry run
first) and ``proxima audit verify`` run in subprocesses on the same data directory, with the
real clock, while the server runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import WORKER_PASSWORD, appointment_form, eventually, loopback_config, new_case
from live_helpers import guest
from test_rights import stored_bytes
from test_startup import cli_env, proxima

from server.base import clock
from server.domain.retention import JOB
from server.edge.http import CONFIG
from server.services import audit_trail, retention
from server.storage import startup

PARIS = ZoneInfo("Europe/Paris")
OLD_NAME = "Ophélie Ancienne"


class Wall:
    """The server's wall clock, set by the test to so many days ago."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = clock.now()
        self.at = self.real
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def days_ago(self, days: int) -> dt.datetime:
        self.at = self.real - dt.timedelta(days=days)
        return self.at


async def case_with_link(proxima_, anne, wall: Wall, days: int, **fields):
    """A case opened ``days`` ago, an appointment three days later, its link opened."""
    at = wall.days_ago(days)
    await anne.login("anne@example.org", WORKER_PASSWORD)  # a session of that day
    case = await new_case(anne, **fields)
    day = (at + dt.timedelta(days=3)).astimezone(PARIS).date().isoformat()
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(date=day, time="10:00"), status=201)
    await guest(proxima_, created["link"])
    return case, created["appointment"]["id"]


async def connection_test(store, appointment_id: int, case_id: int, wall: Wall, days: int):
    """A connection test's result as the test peer stores it (with its record entry)."""
    wall.days_ago(days)
    [browser] = await store.invitations.browsers(appointment_id)
    await store.interviews.add_test(appointment_id, browser.id, "video",
                                    {"figures": {"rtt_ms": 40}, "browser": browser.browser,
                                     "device": browser.device})
    await store.entries.add(case_id, "test_done", {"recommendation": "video"}, appointment_id)


async def daily_run_done(store) -> None:
    """The server's own daily run, started with it, is over: the test's moves of the clock
    cannot meet it."""
    async def finished() -> bool:
        return any(r["finished_at"] for r in await store.retention.runs(JOB))
    await eventually(finished)


async def count(store, sql: str, *args) -> int:
    return await store.db.run(lambda c: c.execute(sql, args).fetchone()[0])


async def test_retention_deletes_what_is_past_and_keeps_the_rest(make_proxima, monkeypatch,
                                                                 cert_dir):
    wall = Wall(monkeypatch)
    wall.days_ago(1000)
    running = await make_proxima()
    store = running.store
    await daily_run_done(store)
    anne = await running.worker()
    old, old_appointment = await case_with_link(running, anne, wall, 1000, person_name=OLD_NAME,
                                                reference="DOS-OLD")
    held, _ = await case_with_link(running, anne, wall, 1000, person_name="Hugo Gardé",
                                   reference="DOS-HELD")
    await anne.json("PUT", f"/api/cases/{held['id']}/legal-hold", {"reason": "Enquête"})
    recent, recent_appointment = await case_with_link(running, anne, wall, 130,
                                                      person_name="Rita Récente")
    await connection_test(store, recent_appointment, recent["id"], wall, 120)
    await connection_test(store, recent_appointment, recent["id"], wall, 10)
    wall.days_ago(0)
    assert await store.retention.last_contact(old["id"]) < wall.real - dt.timedelta(days=900)
    assert await store.retention.last_contact(held["id"]) is None  # held: out of retention
    audit_before = await count(store, "SELECT count(*) FROM audit_log")
    sealed = await store.db.run(lambda c: c.execute(
        "SELECT sealed FROM cases WHERE id = ?", (old["id"],)).fetchone()[0])

    # A dry run says what would go and deletes nothing.
    data = Path(running.app[CONFIG].data_dir)
    env = cli_env(data, cert_dir)
    dry = proxima("retention", "run", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(f"Dry run: would delete: 1 cases ({old['id']}), 1 connection-"
                                 "test results and 1 record entries of tests"), dry.stdout
    assert "1 cases kept under a legal hold" in dry.stdout
    assert await store.cases.get(old["id"]) is not None

    done = proxima("retention", "run", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Done: deleted: 1 cases ({old['id']})"), done.stdout

    # Gone: the old case and everything of it, the old test result (and its entry).
    assert await store.cases.get(old["id"]) is None
    for table in ("appointments", "case_entries"):
        assert await count(store, f"SELECT count(*) FROM {table} WHERE case_id = ?",
                           old["id"]) == 0
    for table in ("invitations", "outbox", "connection_tests"):
        assert await count(store, f"SELECT count(*) FROM {table} WHERE appointment_id = ?",
                           old_appointment) == 0
    assert await count(store, "SELECT count(*) FROM connection_tests WHERE appointment_id = ?",
                       recent_appointment) == 1
    assert [e.kind for e in await store.entries.for_case(recent["id"])].count("test_done") == 1
    # Kept: the held case, the recent case and its record.
    assert (await store.cases.get(held["id"])).person_name == "Hugo Gardé"
    assert (await store.cases.get(recent["id"])).person_name == "Rita Récente"
    assert len(await store.appointments.for_case(held["id"])) == 1
    # Nothing of the old case in the files (the database overwrote it, the WAL was emptied).
    raw = stored_bytes(running)
    assert sealed[-32:] not in raw and OLD_NAME.encode() not in raw

    # The audit: its old entries gone, the deletions recorded, the chain verifies from its
    # anchor (and refuses any other delete, even with the prune's flag set by hand).
    anchor = await store.audit.anchor()
    assert anchor is not None and anchor.first_id > 1
    assert await count(store, "SELECT count(*) FROM audit_log") < audit_before
    assert await count(store, "SELECT count(*) FROM audit_log WHERE at < ?", clock.to_db(
        wall.real - dt.timedelta(days=365))) == 0
    deleted = [e for e in await store.audit.entries() if e["action"] == "retention_delete_case"]
    assert [(e["actor"], e["case_id"]) for e in deleted] == [("cli", old["id"])]
    assert [e["outcome"] for e in await store.audit.entries()
            if e["action"] == "set_legal_hold"] == []  # 1000 days old: pruned with the rest
    verified = proxima("audit", "verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert f"(from entry {anchor.first_id}: the older ones were deleted by retention)" in \
        verified.stdout
    # A head logged before the prune names an entry retention deleted: said, not "intact".
    stale = await audit_trail.verify(store, (1, "0" * 64))
    assert not stale.ok and "was deleted by retention" in stale.line
    with sqlite3.connect(data / "proxima.sqlite3") as db:
        for statements in (["DELETE FROM audit_log WHERE id = ?"],
                           ["INSERT INTO audit_prune (id) VALUES (1)",
                            "DELETE FROM audit_log WHERE id = ?"]):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                for statement in statements:
                    db.execute(statement, (anchor.first_id,) if "?" in statement else ())
            db.rollback()
    db.close()

    # A second run finds nothing more to delete; the logins that no longer work went.
    again = await retention.run(store, running.app[CONFIG], "retention")
    assert again.cases == [] and again.tests == 0 and again.audit_entries == 0
    assert await count(store, "SELECT count(*) FROM worker_sessions WHERE last_seen_at < ?",
                       clock.to_db(wall.real - dt.timedelta(hours=1))) == 0


async def test_one_run_a_day_with_two_processes(tmp_path, cert_dir):
    config = loopback_config(tmp_path, cert_dir)
    first, second = startup.open_store(config), startup.open_store(config)  # two connections
    try:
        day = dt.date(2026, 3, 2)
        claims = await asyncio.gather(first.retention.claim_day(JOB, day, "a"),
                                      second.retention.claim_day(JOB, day, "b"))
        assert sorted(claims) == [False, True]
        assert not await first.retention.claim_day(JOB, day, "a")
        assert await second.retention.claim_day(JOB, day + dt.timedelta(days=1), "b")
        # Today's run: one of the two does it and writes its summary; the other finds it taken.
        reports = await asyncio.gather(retention.run_daily(first, config, "a"),
                                       retention.run_daily(second, config, "b"))
        assert sum(r is not None for r in reports) == 1
        [today] = [r for r in await first.retention.runs(JOB)
                   if r["day"] == retention.today(config).isoformat()]
        assert today["finished_at"] and today["summary"].startswith("deleted: 0 cases")
    finally:
        first.db.close()
        second.db.close()


async def test_a_group_session_goes_once_none_of_its_persons_is_left(proxima, monkeypatch):
    from test_no_recording import plan_group

    await daily_run_done(proxima.store)
    anne = await proxima.worker(role="facilitator")
    planned = await plan_group(proxima, anne)
    group_id = planned["group"]["id"]
    first, second = planned["cases"]
    await anne.json("PUT", f"/api/cases/{second}/legal-hold", {"reason": "Enquête"})
    wall = Wall(monkeypatch)
    wall.days_ago(-800)  # 800 days later
    store, config = proxima.store, proxima.app[CONFIG]
    report = await retention.run(store, config, "retention")
    assert report.cases == [first] and report.groups == []  # a held person is still in it
    assert await store.groups.get(group_id) is not None
    await store.personal_data.lift_hold(second)
    report = await retention.run(store, config, "retention")
    assert report.cases == [second] and report.groups == [group_id]
    assert "1 group sessions left without any person" in report.summary()
    assert await store.groups.get(group_id) is None
    assert await store.groups.members(group_id) == []
