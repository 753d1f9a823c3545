"""The secret key, the data directory's modes and start-up faults, as a sysadmin meets them.

Real processes and real disks: the ``proxima`` command runs as a subprocess, a read-only or full
disk is a real tmpfs mounted in a private mount namespace (``unshare --mount``; root only, as
``make test`` runs), and a database restored from another installation is a real SQLite backup.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from conftest import Client, eventually, free_port, new_case

from server.base import i18n
from server.edge.http import CONFIG

PROXIMA = str(Path(sys.executable).parent / "proxima")
PRIVATE = ("proxima.sqlite3", "proxima.sqlite3-wal", "proxima.sqlite3-shm", "secret.key")
STORAGE_MESSAGE = ("The server cannot save anything right now. Please try again in a few "
                   "minutes; if it lasts, tell your administrator.")

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="real read-only and full disks need root (make test runs as root)")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli_env(data_dir: Path | str, cert_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``proxima`` command on ``data_dir``, on a free port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXIMA_")}
    env.update(PROXIMA_DATA_DIR=str(data_dir), PROXIMA_PORT=str(port),
               PROXIMA_PUBLIC_URL=f"https://127.0.0.1:{port}",
               PROXIMA_CERT_FILE=str(cert_dir / "server.pem"),
               PROXIMA_KEY_FILE=str(cert_dir / "server-key.pem"),
               PROXIMA_CA_FILE=str(cert_dir / "ca.pem"), **extra)
    return env


def proxima(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a ``proxima`` command; one that should refuse to start and serves instead times out."""
    return subprocess.run([PROXIMA, *args], env=env, capture_output=True, text=True, timeout=60)


def one_line(stderr: str) -> str:
    """A start-up fault is one plain line, never a traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# -- item 11: the data directory and its files are Proxima's only ------------------------------

async def test_the_data_dir_and_its_files_are_private_and_fixed_at_start(make_proxima):
    proxima_ = await make_proxima()
    data = Path(proxima_.app[CONFIG].data_dir)
    assert mode(data) == 0o700
    for name in PRIVATE:
        assert mode(data / name) == 0o600, name
    # A data dir left open by an older Proxima (or a careless copy) is closed at the next start.
    os.chmod(data, 0o755)
    for name in PRIVATE:
        os.chmod(data / name, 0o644)
    await proxima_.restart()
    assert mode(data) == 0o700
    for name in PRIVATE:
        assert mode(data / name) == 0o600, name


# -- item 12: the key -------------------------------------------------------------------------

async def test_a_lost_key_file_stops_the_start_instead_of_making_a_new_key(make_proxima,
                                                                          cert_dir):
    running = await make_proxima()
    await new_case(await running.worker())
    data = Path(running.app[CONFIG].data_dir)
    key_file = data / "secret.key"
    saved = key_file.read_bytes()
    key_file.unlink()
    env = cli_env(data, cert_dir)
    for command in (["serve"], ["create-worker", "--email", "zoe@example.org", "--name", "Zoé"]):
        refused = proxima(*command, env=env)
        line = one_line(refused.stderr)
        assert refused.returncode == 2, (command, refused.stdout)
        assert str(key_file) in line and "PROXIMA_SECRET_KEY" in line, line
        assert not key_file.exists(), "a new key was made over sealed data"
    checked = proxima("check", env=env)
    assert checked.returncode == 1
    assert any(line.startswith("PROBLEM:") and str(key_file) in line
               for line in checked.stdout.splitlines()), checked.stdout
    # With the key restored from the backup, everything is readable again.
    key_file.write_bytes(saved)
    checked = proxima("check", env=env)
    assert checked.returncode == 0, checked.stdout
    assert "secret key present" in checked.stdout


async def test_a_wrong_secret_key_is_refused_at_start_and_by_check(make_proxima, cert_dir):
    running = await make_proxima(secret_key="the-key-this-database-was-made-with")
    await new_case(await running.worker())
    data = running.app[CONFIG].data_dir
    wrong = cli_env(data, cert_dir, PROXIMA_SECRET_KEY="another-key-typed-by-mistake")
    refused = proxima("serve", env=wrong)
    assert refused.returncode == 2, refused.stdout
    assert "PROXIMA_SECRET_KEY" in one_line(refused.stderr)
    checked = proxima("check", env=wrong)
    assert checked.returncode == 1
    assert "secret key present" not in checked.stdout
    assert any(line.startswith("PROBLEM:") and "PROXIMA_SECRET_KEY" in line
               for line in checked.stdout.splitlines()), checked.stdout
    right = cli_env(data, cert_dir, PROXIMA_SECRET_KEY="the-key-this-database-was-made-with")
    assert proxima("check", env=right).returncode == 0


async def test_a_database_without_key_check_is_verified_against_its_sealed_data(make_proxima,
                                                                               cert_dir):
    running = await make_proxima(secret_key="the-key-this-database-was-made-with")
    await new_case(await running.worker())
    config = running.app[CONFIG]
    with contextlib.closing(sqlite3.connect(config.database_path)) as db:
        db.execute("DELETE FROM key_check" if _has_table(db, "key_check") else "SELECT 1")
        db.commit()  # as a database made before the key check was kept
    wrong = cli_env(config.data_dir, cert_dir, PROXIMA_SECRET_KEY="another-key")
    checked = proxima("check", env=wrong)
    assert checked.returncode == 1 and "PROXIMA_SECRET_KEY" in checked.stdout, checked.stdout
    right = cli_env(config.data_dir, cert_dir,
                    PROXIMA_SECRET_KEY="the-key-this-database-was-made-with")
    made = proxima("create-worker", "--email", "zoe@example.org", "--name", "Zoé", env=right)
    assert made.returncode == 0, made.stderr
    with contextlib.closing(sqlite3.connect(config.database_path)) as db:
        assert db.execute("SELECT count(*) FROM key_check").fetchone()[0] == 1
    refused = proxima("create-worker", "--email", "eve@example.org", "--name", "Eve", env=wrong)
    assert refused.returncode == 2 and "PROXIMA_SECRET_KEY" in one_line(refused.stderr)


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


async def test_readyz_is_503_when_the_key_does_not_open_the_database(make_proxima):
    ours, theirs = await make_proxima(), await make_proxima()
    await new_case(await theirs.worker())
    probe = ours.client()
    assert (await probe.request("GET", "/readyz")).status == 200
    # A backup of another installation restored over ours while it runs.
    with contextlib.closing(sqlite3.connect(theirs.app[CONFIG].database_path)) as source, \
            contextlib.closing(sqlite3.connect(ours.app[CONFIG].database_path)) as target:
        source.backup(target)
    response = await probe.request("GET", "/readyz")
    assert response.status == 503
    assert "key" in (await response.json())["status"]


# -- item 13: start-up faults are one plain line ----------------------------------------------

def in_private_mount(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in its own mount namespace: its tmpfs mounts are invisible outside."""
    return subprocess.run(["unshare", "--mount", "--", "sh", "-c", script], env=env,
                          capture_output=True, text=True, timeout=300)


FAULTS = {
    # fault: (how the disk is made to fail, the cause the line must name)
    "read-only": ('mount -o remount,ro "$MNT"', "Read-only file system"),
    "full": ('dd if=/dev/zero of="$MNT/fill" bs=64k 2>/dev/null; true',
             "No space left on device"),
}


@needs_root
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_read_only_or_full_disk_is_one_plain_line_naming_the_path(fault, tmp_path, cert_dir):
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    how, cause = FAULTS[fault]
    empty, existing = mnt / "empty", mnt / "data"
    env = cli_env(existing, cert_dir, MNT=str(mnt), OUT=str(out), PROXIMA=PROXIMA,
                  EMPTY=str(empty), CERTS=str(mnt / "certs"))
    script = f"""
    set -u
    mount -t tmpfs -o size=2M tmpfs "$MNT" || exit 90
    "$PROXIMA" create-worker --email anne@example.org --name Anne >/dev/null || exit 91
    {how}
    run() {{ name=$1; shift; timeout 60 "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
             echo $? >"$OUT/$name.rc"; }}
    run serve "$PROXIMA" serve
    run create-worker "$PROXIMA" create-worker --email zoe@example.org --name Zoe
    run check "$PROXIMA" check
    run empty-serve env PROXIMA_DATA_DIR="$EMPTY" "$PROXIMA" serve
    run make-certs env PROXIMA_CERT_FILE="$CERTS/server.pem" "$PROXIMA" make-certs
    """
    ran = in_private_mount(script, env)
    assert ran.returncode == 0, ran.stderr

    def result(name: str) -> tuple[int, str, str]:
        return (int((out / f"{name}.rc").read_text()), (out / f"{name}.out").read_text(),
                (out / f"{name}.err").read_text())

    for name, path in (("serve", existing), ("create-worker", existing),
                       ("empty-serve", empty), ("make-certs", mnt / "certs")):
        code, stdout, stderr = result(name)
        line = one_line(stderr)
        assert code == 2, (name, code, stdout)
        assert line.startswith("proxima: ") and str(path) in line and cause in line, (name, line)
    code, stdout, stderr = result("check")
    assert code == 1 and "Traceback" not in stderr, stderr
    assert any(line.startswith("PROBLEM:") and str(existing) in line and cause in line
               for line in stdout.splitlines()), stdout


@needs_root
async def test_a_disk_that_fills_up_while_serving_answers_503_and_recovers(tmp_path, cert_dir):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = cli_env(mnt / "data", cert_dir)
    port = int(env["PROXIMA_PORT"])
    server = subprocess.Popen(  # noqa: ASYNC220 - starting it does not wait; it runs apart
        ["unshare", "--mount", "--", "sh", "-c",
         f'mount -t tmpfs -o size=4M tmpfs "{mnt}" && exec "{PROXIMA}" serve'],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)

    def in_its_namespace(command: str) -> None:
        subprocess.run(["nsenter", "--target", str(server.pid), "--mount", "--", "sh", "-c",
                        command], check=True, timeout=60)

    session = None
    try:
        password = _first_admin_password(server)
        context = ssl.create_default_context(cafile=str(cert_dir / "ca.pem"))
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context),
                                        cookie_jar=aiohttp.CookieJar(unsafe=True))
        base = f"https://127.0.0.1:{port}"
        client = Client(base, session, base)
        await eventually(lambda: _answers(client, "/healthz"), timeout=30)
        await client.login("admin@localhost.localdomain", password)
        await client.json("POST", "/api/password", {"current_password": password,
                                                    "new_password": "a-new-admin-password"})
        await new_case(client)

        in_its_namespace(f'dd if=/dev/zero of="{mnt}/fill" bs=64k 2>/dev/null; true')
        refused = await client.request("POST", "/api/cases", {"reference": "DOS-2",
                                                              "person_name": "Paul Durand"})
        body = await refused.json()
        assert refused.status == 503, body
        assert body["error"] == "storage_unavailable"
        assert body["message"] == i18n.translations("fr").gettext(STORAGE_MESSAGE)
        assert body["message"] != STORAGE_MESSAGE  # French, the default language
        english = await client.request("POST", "/api/cases?lang=en", {"reference": "DOS-2",
                                                                      "person_name": "P"})
        assert (await english.json())["message"] == STORAGE_MESSAGE
        # What needs no write keeps working; the probe says the storage is not ready.
        assert (await client.json("GET", "/api/session"))["worker"]["role"] == "admin"
        assert (await client.request("GET", "/healthz")).status == 200
        assert (await client.request("GET", "/readyz")).status == 503

        in_its_namespace(f'rm "{mnt}/fill"')  # the administrator frees some space
        assert (await client.request("GET", "/readyz")).status == 200
        await client.json("POST", "/api/cases", {"reference": "DOS-2",
                                                 "person_name": "Paul Durand"}, status=201)
    finally:
        if session is not None:
            await session.close()
        output = _stop(server)
    assert "Traceback" not in output, output


def _first_admin_password(server: subprocess.Popen[str]) -> str:
    """Read the one-time password ``proxima serve`` prints on a fresh data dir."""
    assert server.stdout is not None
    serving = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        assert line, "the server stopped before serving"
        serving = serving or "Proxima is serving" in line
        if "password:" in line:  # printed last, after the serving line
            assert serving
            return line.split("password:")[1].split()[0]
    raise AssertionError("the server did not start in time")


async def _answers(client: Client, path: str) -> bool:
    try:
        return (await client.request("GET", path)).status == 200
    except aiohttp.ClientError:
        return False


def _stop(process: subprocess.Popen[str]) -> str:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
    return out or ""
