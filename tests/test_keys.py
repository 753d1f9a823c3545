"""Rotating the secret key (issue 12, item 4), as a sysadmin does it: the real ``proxima keys``
command in a subprocess on the real database file, while a Proxima serves it; interrupted by its
own batch limit and by SIGKILL, then run again; a wrong or missing key refused in one line."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

from conftest import (
    Proxima,
    appointment_form,
    eventually,
    loopback_config,
    new_case,
    serve_https,
)
from test_startup import PROXIMA, cli_env, one_line, proxima

from server.base import crypto
from server.edge.http import CONFIG

OLD = "the-key-the-data-was-sealed-with"
NEW = crypto.new_secret_key().decode("ascii")
NAMES = [f"Personne Numéro{n}" for n in range(6)]


def sealed(data: Path) -> Counter[str]:
    """The sealed values of every BLOB column, by the key they name ('legacy': none)."""
    kinds = {crypto.SEALED_FORMAT + crypto.key_id(OLD.encode()): "old",
             crypto.SEALED_FORMAT + crypto.key_id(NEW.encode()): "new"}
    found: Counter[str] = Counter()
    with sqlite3.connect(data / "proxima.sqlite3") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in db.execute(f'PRAGMA table_info("{table}")').fetchall():
                if column[2].upper() == "BLOB":
                    for (blob,) in db.execute(f'SELECT "{column[1]}" FROM "{table}" '
                                              f'WHERE "{column[1]}" IS NOT NULL'):
                        blob = bytes(blob)
                        found["legacy" if blob[:1] == crypto.LEGACY_FORMAT else
                              kinds.get(blob[:1 + crypto.KEY_ID_BYTES], "other")] += 1
    db.close()
    return found


def as_legacy(data: Path, table: str) -> int:
    """Seal ``table``'s values as Proxima did before key ids (format 1, no key id)."""
    old = crypto.Sealer(OLD.encode())
    aead = crypto.AESGCM(crypto._derive(OLD.encode(), b"proxima at-rest v1"))
    with sqlite3.connect(data / "proxima.sqlite3") as db:
        rows = db.execute(f'SELECT rowid, sealed FROM "{table}"').fetchall()
        for rowid, blob in rows:
            plain = crypto.json.dumps(old.open(bytes(blob)), ensure_ascii=False,
                                      separators=(",", ":")).encode()
            nonce = os.urandom(12)
            db.execute(f'UPDATE "{table}" SET sealed = ? WHERE rowid = ?',
                       (crypto.LEGACY_FORMAT + nonce + aead.encrypt(nonce, plain, None), rowid))
    db.close()
    return len(rows)


async def data_sealed_with_the_old_key(tmp_path: Path, cert_dir: Path) -> tuple[Path, list[int]]:
    """A Proxima run with the old key: cases and appointments (invitations in the outbox)."""
    config = loopback_config(tmp_path, cert_dir, secret_key=OLD)
    app, runner = await serve_https(config, cert_dir)
    try:
        import ssl
        running = Proxima(config.effective_public_url, app,
                          ssl.create_default_context(cafile=str(cert_dir / "ca.pem")))
        anne = await running.worker()
        ids = []
        for n, name in enumerate(NAMES):
            case = await new_case(anne, reference=f"DOS-{n}", person_name=name)
            ids.append(case["id"])
            if n % 2:
                await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                                appointment_form(), status=201)
        for session in running.sessions:
            await session.close()
    finally:
        await runner.cleanup()
    return Path(config.data_dir), ids


async def names_read(client, ids: list[int]) -> list[str]:
    return [(await client.json("GET", f"/api/cases/{i}"))["case"]["person_name"] for i in ids]


async def test_rotate_reseals_everything_while_serving_and_finishes_after_interruptions(
        make_proxima, cert_dir, tmp_path):
    data, ids = await data_sealed_with_the_old_key(tmp_path, cert_dir)
    legacy = as_legacy(data, "cases")  # as a database sealed before key ids holds them
    before = sealed(data)
    assert before["old"] > 12 and before["legacy"] == legacy and before["new"] == 0, before

    # Step 1: the new key in force, the old one kept; the server reads both.
    running = await make_proxima(data_dir=str(data), secret_key=NEW, old_secret_key=OLD)
    anne = await running.worker("bob@example.org", "Bob Bernard", role="admin")
    assert await names_read(anne, ids) == NAMES
    env = cli_env(data, cert_dir, PROXIMA_SECRET_KEY=NEW, PROXIMA_OLD_SECRET_KEY=OLD)

    # Step 2, stopped by its own limit: two batches of three values, the rest left.
    partial = proxima("keys", "rotate", "--batch", "3", "--batches", "2", env=env)
    assert partial.returncode == 3, partial.stderr
    assert "re-sealed 6 values so far" in partial.stdout and "Stopped:" in partial.stdout
    assert sealed(data)["old"] + sealed(data)["legacy"] == before.total() - 6
    checked = proxima("check", env=env)
    assert f"{before.total() - 6} values still sealed with the old key" in checked.stdout
    assert await names_read(anne, ids) == NAMES  # no downtime: everything still readable

    # Killed between two batches: its output pipe is full, so the command stops in its report
    # of the first batch (committed) until the test kills it.
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(write_end, False)
    for chunk in (b"\n" * 512, b"\n"):  # full to the last byte
        with contextlib.suppress(BlockingIOError):
            while True:
                os.write(write_end, chunk)
    os.set_blocking(write_end, True)
    new_before = sealed(data)["new"]
    process = subprocess.Popen(  # noqa: ASYNC220 - it runs apart; the test waits on the file
        [PROXIMA, "keys", "rotate", "--batch", "1"], env=env, stdout=write_end,
        stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        await eventually(lambda: sealed(data)["new"] > new_before)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        os.close(read_end)
    assert sealed(data)["new"] == new_before + 1
    midway = sealed(data)
    assert midway["old"] + midway["legacy"] > 0 and set(midway) <= {"old", "new", "legacy"}, \
        midway
    assert await names_read(anne, ids) == NAMES
    late = await new_case(anne, reference="DOS-LATE", person_name="Arrivée Pendant")

    # Run again: it finishes; nothing sealed with the old key is left.
    done = proxima("keys", "rotate", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Done:" in done.stdout
    after = sealed(data)
    assert set(after) == {"new"} and after["new"] >= before.total(), after
    assert await names_read(anne, [*ids, late["id"]]) == [*NAMES, "Arrivée Pendant"]
    again = proxima("keys", "rotate", env=env)  # idempotent
    assert again.returncode == 0 and "Done: 0 values re-sealed" in again.stdout
    assert "key rotation done" in proxima("check", env=env).stdout

    # Step 3: the old key is no longer needed; the old key alone opens nothing.
    only_new = cli_env(data, cert_dir, PROXIMA_SECRET_KEY=NEW)
    assert proxima("check", env=only_new).returncode == 0
    only_old = cli_env(data, cert_dir, PROXIMA_SECRET_KEY=OLD)
    refused = proxima("serve", env=only_old)
    assert refused.returncode == 2 and "PROXIMA_SECRET_KEY" in one_line(refused.stderr)
    verified = proxima("audit", "verify", env=only_new)
    assert verified.returncode == 0, verified.stderr
    entries = [e for e in await running.store.audit.entries() if e["action"] == "rotate_keys"]
    assert [e["outcome"] for e in entries] == ["ok", "ok", "partial"]
    assert running.app[CONFIG].old_secret_key == OLD


async def test_a_wrong_or_missing_key_is_one_plain_line_naming_the_setting(cert_dir, tmp_path):
    data, _ = await data_sealed_with_the_old_key(tmp_path, cert_dir)
    # The new key without the old one, before the rotation: refused, naming both settings.
    for command in (["serve"], ["keys", "rotate"], ["audit", "verify"]):
        refused = proxima(*command, env=cli_env(data, cert_dir, PROXIMA_SECRET_KEY=NEW))
        line = one_line(refused.stderr)
        assert refused.returncode == 2, (command, refused.stdout)
        assert "PROXIMA_SECRET_KEY" in line and "PROXIMA_OLD_SECRET_KEY" in line, line
    # A wrong old key.
    wrong = cli_env(data, cert_dir, PROXIMA_SECRET_KEY=NEW, PROXIMA_OLD_SECRET_KEY="typo")
    for command in (["serve"], ["keys", "rotate"]):
        refused = proxima(*command, env=wrong)
        assert refused.returncode == 2
        assert "PROXIMA_OLD_SECRET_KEY" in one_line(refused.stderr)
    # Half rotated, then the old key dropped too soon: refused until it is back.
    env = cli_env(data, cert_dir, PROXIMA_SECRET_KEY=NEW, PROXIMA_OLD_SECRET_KEY=OLD)
    assert proxima("keys", "rotate", "--batch", "2", "--batches", "1", env=env).returncode == 3
    refused = proxima("serve", env=cli_env(data, cert_dir, PROXIMA_SECRET_KEY=NEW))
    assert refused.returncode == 2 and "PROXIMA_OLD_SECRET_KEY" in one_line(refused.stderr)
    # A key file that is missing: named, with the setting.
    made = tmp_path / "with-file"
    env = cli_env(made, cert_dir)
    assert proxima("create-worker", "--email", "zoe@example.org", "--name", "Zoé",
                   env=env).returncode == 0
    (made / "secret.key").unlink()
    refused = proxima("keys", "rotate", env=env)
    line = one_line(refused.stderr)
    assert refused.returncode == 2 and str(made / "secret.key") in line
    assert "PROXIMA_SECRET_KEY" in line
    fresh = proxima("keys", "new", env=env)
    assert fresh.returncode == 0 and len(fresh.stdout.strip()) == 44


def test_a_sealer_opens_either_key_and_seals_with_the_new_one():
    old, new = crypto.Sealer(OLD.encode()), crypto.Sealer(NEW.encode(), (OLD.encode(),))
    sealed_old = old.seal({"name": "Fatou"})
    assert new.open(sealed_old) == {"name": "Fatou"}
    assert new.seal("x").startswith(new.prefix) and new.prefix != old.prefix
    try:
        crypto.Sealer(NEW.encode()).open(sealed_old)
    except crypto.SealError as exc:
        assert "not configured" in str(exc)
    else:
        raise AssertionError("a value sealed with an unknown key opened")
