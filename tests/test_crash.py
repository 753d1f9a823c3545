"""One transaction per business act: a process killed (SIGKILL) between any two steps of planning,
moving, cancelling, re-issuing or revoking leaves the records as before the act, or as after it,
never half-done (an appointment without its invitation, a revoked link without its new one...)."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("crash_act.py")


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), str(data_dir), *args],
                          capture_output=True, text=True, timeout=120)


def state(data_dir: Path) -> dict[str, list[tuple]]:
    """What an act changes, without the values that differ between runs (tokens, times)."""
    db = sqlite3.connect(data_dir / "proxima.sqlite3")
    try:
        return {
            "appointments": db.execute(
                "SELECT id, status, sequence FROM appointments ORDER BY id").fetchall(),
            "invitations": db.execute(
                "SELECT id, appointment_id, revoked_at IS NULL FROM invitations ORDER BY id"
            ).fetchall(),
            "outbox": db.execute(
                "SELECT id, kind, status, appointment_id, invitation_id FROM outbox ORDER BY id"
            ).fetchall(),
            "entries": db.execute("SELECT id, kind FROM case_entries ORDER BY id").fetchall(),
        }
    finally:
        db.close()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("crash") / "data"
    done = run(data, "prepare")
    assert done.returncode == 0, done.stderr
    return data


@pytest.mark.parametrize("act", ["plan", "move", "cancel", "reissue", "revoke"])
def test_a_kill_between_the_steps_of_an_act_leaves_it_whole_or_undone(prepared, tmp_path, act):
    before = state(prepared)
    complete = tmp_path / "complete"
    shutil.copytree(prepared, complete)
    done = run(complete, act, "0")
    assert done.returncode == 0, done.stderr
    steps = int(done.stdout.split()[-1])
    after = state(complete)
    assert after != before and steps >= 3, (steps, after)
    for kill_at in range(1, steps + 1):
        copy = tmp_path / f"killed-{kill_at}"
        shutil.copytree(prepared, copy)
        killed = run(copy, act, str(kill_at))
        assert killed.returncode == -signal.SIGKILL, (kill_at, killed.stderr)
        found = state(copy)
        assert found in (before, after), f"{act}: killed after step {kill_at} of {steps}: {found}"
