"""The tamper-evident audit trail (issue 12, item 3), as an attacker and a data-protection officer
meet it: real SQLite files edited with the sqlite3 module (the append-only triggers dropped
first), the real ``proxima audit`` command in a subprocess, the head in the log output, the
export by the command and by the admin-only API, and concurrent writers on one file."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import logging
import re
import shutil
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import eventually, loopback_config, new_case
from test_startup import cli_env, one_line, proxima

from server.domain.audit_chain import ChainedEntry, entry_hash
from server.edge.http import CONFIG
from server.storage import startup
from server.storage.db import _split

MIGRATIONS = Path(__file__).resolve().parent.parent / "server" / "storage" / "migrations"


def copy_of(data: Path, to: Path) -> Path:
    """A consistent copy of a data directory (the database through SQLite's backup, the key)."""
    to.mkdir(mode=0o700)
    with sqlite3.connect(data / "proxima.sqlite3") as src, \
            sqlite3.connect(to / "proxima.sqlite3") as dst:
        src.backup(dst)
    shutil.copy2(data / "secret.key", to / "secret.key")
    return to


def tamper(data: Path, *statements: str) -> None:
    """What someone with the file can do: drop the triggers, then change rows by hand."""
    with sqlite3.connect(data / "proxima.sqlite3") as db:
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("DROP TRIGGER audit_log_no_delete")
        for statement in statements:
            db.execute(statement)
    db.close()


def verify(data: Path, cert_dir: Path, *args: str) -> tuple[int, str]:
    done = proxima("audit", "verify", *args, env=cli_env(data, cert_dir))
    return done.returncode, one_line(done.stdout + done.stderr)


async def busy_proxima(make_proxima, **settings):
    """A running Proxima whose audit log holds a few dozen entries."""
    running = await make_proxima(**settings)
    anne = await running.worker()
    for n in range(3):
        case = await new_case(anne, reference=f"DOS-{n}")
        await anne.json("GET", f"/api/cases/{case['id']}")
    return running


async def test_verify_passes_untouched_and_names_the_first_broken_entry(make_proxima, cert_dir,
                                                                       tmp_path):
    running = await busy_proxima(make_proxima)
    data = Path(running.app[CONFIG].data_dir)
    code, line = verify(data, cert_dir)
    assert code == 0 and line.startswith("The audit trail is intact:"), line
    entries = int(re.search(r"(\d+) entries", line)[1])
    assert entries >= 6

    edited = copy_of(data, tmp_path / "edited")
    tamper(edited, "UPDATE audit_log SET outcome = 'denied' WHERE id = 5")
    code, line = verify(edited, cert_dir)
    assert code == 1 and line.startswith("The audit trail is broken at entry 5:"), line

    deleted = copy_of(data, tmp_path / "deleted")
    tamper(deleted, "DELETE FROM audit_log WHERE id = 5")
    code, line = verify(deleted, cert_dir)
    assert code == 1 and line.startswith("The audit trail is broken at entry 5:"), line
    assert "missing" in line

    reordered = copy_of(data, tmp_path / "reordered")  # entries 4 and 5 swap places
    tamper(reordered, "UPDATE audit_log SET id = -5 WHERE id = 5",
           "UPDATE audit_log SET id = 5 WHERE id = 4", "UPDATE audit_log SET id = 4 WHERE id = -5")
    code, line = verify(reordered, cert_dir)
    assert code == 1 and line.startswith("The audit trail is broken at entry 4:"), line

    first = copy_of(data, tmp_path / "first")  # the first entries deleted
    tamper(first, "DELETE FROM audit_log WHERE id <= 2")
    code, line = verify(first, cert_dir)
    assert code == 1 and line.startswith("The audit trail is broken at entry 1:"), line

    # The running server's own trail is untouched, and still verifies as it grows.
    await new_case(await running.worker("bob@example.org", "Bob Bernard"))
    code, line = verify(data, cert_dir)
    assert code == 0, line


async def test_a_rewritten_chain_shows_against_the_head_in_the_logs(make_proxima, cert_dir,
                                                                    tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="proxima.audit")

    def heads() -> list[tuple[int, str]]:
        return [(int(m[1]), m[2]) for r in caplog.records if r.name == "proxima.audit"
                for m in [re.fullmatch(r"audit trail head: entry (\d+) hash ([0-9a-f]{64})",
                                       r.getMessage())] if m]

    running = await busy_proxima(make_proxima, audit_head_minutes=0.005)  # every 0.3 s
    data = Path(running.app[CONFIG].data_dir)
    head = (await running.store.audit.head())
    logged = await eventually(lambda: [h for h in heads() if h[0] >= head.id])
    assert logged[0] == (logged[0][0], (await running.store.audit.entry(logged[0][0])).hash)
    head_id, head_hash = logged[0]
    code, line = verify(data, cert_dir, "--head", f"{head_id}:{head_hash}")
    assert code == 0, line

    # Someone who knows the algorithm edits entry 3 and recomputes every hash after it.
    rewritten = copy_of(data, tmp_path / "rewritten")
    tamper(rewritten, "UPDATE audit_log SET actor = 'worker:99' WHERE id = 3")
    with sqlite3.connect(rewritten / "proxima.sqlite3") as db:
        previous = None
        for row in db.execute("SELECT id, at, actor, action, case_id, target, outcome "
                              "FROM audit_log ORDER BY id").fetchall():
            previous = entry_hash(previous, ChainedEntry(*row))
            db.execute("UPDATE audit_log SET hash = ? WHERE id = ?", (previous, row[0]))
    db.close()
    code, line = verify(rewritten, cert_dir)
    assert code == 0, "the chain alone cannot see a whole rewrite: the logged head does"
    code, line = verify(rewritten, cert_dir, "--head", f"{head_id}:{head_hash}")
    assert code == 1, line
    assert line.startswith(f"The audit trail is broken at entry {head_id}:"), line
    assert "rewritten" in line
    done = proxima("audit", "verify", "--head", "12:not-a-hash", env=cli_env(data, cert_dir))
    assert done.returncode == 2 and "ID:HASH" in one_line(done.stderr)


async def test_entries_chain_in_one_order_when_written_at_once(tmp_path, cert_dir):
    """Two stores on one file (as two processes), each auditing from many coroutines at once."""
    config = loopback_config(tmp_path, cert_dir)
    first, second = startup.open_store(config), startup.open_store(config)
    try:
        await asyncio.gather(*(store.audit.record(f"worker:{n}", "read_case", "ok", case_id=n)
                               for n in range(60) for store in (first, second)))
        async with first.atomic():  # an act's own entries chain too, inside its transaction
            await first.audit.record("worker:1", "create_case", "ok", case_id=1)
        walk = await second.audit.walk()
        assert walk.broken is None
        assert walk.count == 121 and walk.head is not None and walk.head.id == 121
    finally:
        first.db.close()
        second.db.close()


async def test_a_database_made_before_the_chain_verifies_after_the_migration(tmp_path,
                                                                             cert_dir):
    data = tmp_path / "old"
    data.mkdir(mode=0o700)
    with sqlite3.connect(data / "proxima.sqlite3") as db:  # the schema before migration 009
        for path in sorted(MIGRATIONS.glob("00[1-8]_*.sql")):
            for statement in _split(path.read_text(encoding="utf-8")):
                db.execute(statement)
        db.execute("PRAGMA user_version = 8")
        for n in range(40):  # as the server wrote them then: no id, no hash
            db.execute("INSERT INTO audit_log (at, actor, action, case_id, target, outcome) "
                       "VALUES (?, ?, 'read_case', ?, '', 'ok')",
                       (f"2026-01-{n % 28 + 1:02d}T10:00:00Z", f"worker:{n % 3}", n))
    db.close()
    env = cli_env(data, cert_dir)
    code, line = verify(data, cert_dir)
    assert code == 0, line
    assert "40 entries" in line
    made = proxima("create-worker", "--email", "zoe@example.org", "--name", "Zoé", env=env)
    assert made.returncode == 0, made.stderr
    code, line = verify(data, cert_dir)
    assert code == 0 and "41 entries" in line, line
    with sqlite3.connect(data / "proxima.sqlite3") as db:  # still append-only
        for statement in ("UPDATE audit_log SET outcome = 'x'", "DELETE FROM audit_log"):
            try:
                db.execute(statement)
            except sqlite3.IntegrityError as exc:
                assert "append-only" in str(exc)
            else:
                raise AssertionError(statement)
    db.close()


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_export_for_the_data_protection_officer(make_proxima, cert_dir):
    running = await make_proxima()
    admin = await running.worker("root@example.org", "Ada Admin", role="admin")
    anne = await running.worker()
    bob = await running.worker("bob@example.org", "Bob Bernard")
    anne_case = await new_case(anne, reference="DOS-A")
    bob_case = await new_case(bob, reference="DOS-B")
    await anne.json("GET", f"/api/cases/{anne_case['id']}")
    await anne.request("GET", f"/api/cases/{bob_case['id']}")  # refused, and audited
    anne_id = (await running.store.workers.by_email("anne@example.org"))[0].id
    env = cli_env(running.app[CONFIG].data_dir, cert_dir)
    today = dt.datetime.now(ZoneInfo(running.app[CONFIG].timezone)).date()

    # By the command: one case, everything about it, oldest first, with each entry's hash.
    done = proxima("audit", "export", "--case", str(bob_case["id"]), env=env)
    assert done.returncode == 0, done.stderr
    about_bob = rows(done.stdout)
    assert {r["case_id"] for r in about_bob} == {str(bob_case["id"])}
    assert about_bob[0]["action"] == "create_case"
    assert any(r["outcome"] == "denied" and r["actor"] == f"worker:{anne_id}" for r in about_bob)
    assert [int(r["id"]) for r in about_bob] == sorted(int(r["id"]) for r in about_bob)
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["hash"]) for r in about_bob)
    # One worker, by email, and days.
    done = proxima("audit", "export", "--worker", "anne@example.org", "--since",
                   today.isoformat(), "--until", today.isoformat(), env=env)
    by_anne = rows(done.stdout)
    assert by_anne and {r["actor"] for r in by_anne} == {f"worker:{anne_id}"}
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    done = proxima("audit", "export", "--since", tomorrow, env=env)
    assert done.returncode == 0 and rows(done.stdout) == []
    done = proxima("audit", "export", "--until", "2026-02-30", env=env)
    assert done.returncode == 2 and "YYYY-MM-DD" in one_line(done.stderr)
    done = proxima("audit", "export", "--worker", "nobody@example.org", env=env)
    assert done.returncode == 2 and "nobody@example.org" in one_line(done.stderr)

    # By the API, for administrators only.
    response = await admin.request("GET", f"/api/audit/export?case_id={bob_case['id']}"
                                          f"&since={today}&until={today}")
    assert response.status == 200 and response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    api_rows = rows(await response.text())
    assert [r["id"] for r in api_rows][:len(about_bob)] == [r["id"] for r in about_bob]
    refused = await anne.request("GET", "/api/audit/export")
    assert refused.status == 403
    bad = await admin.json("GET", "/api/audit/export?since=yesterday", status=400)
    assert bad["field"] == "since"

    # Every export is itself in the trail, with its filter.
    admin_id = (await running.store.workers.by_email("root@example.org"))[0].id
    exports = [e for e in await running.store.audit.entries() if e["action"] == "export_audit"]
    assert {e["actor"] for e in exports} == {"cli", f"worker:{admin_id}"}
    assert any(f"case:{bob_case['id']}" in e["target"] for e in exports)
    assert any(f"worker:{anne_id}" in e["target"] for e in exports)
    code, line = verify(Path(running.app[CONFIG].data_dir), cert_dir)
    assert code == 0, line
