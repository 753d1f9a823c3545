"""The command line and `make run`, as a sysadmin uses them: real processes, real HTTPS."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
PROXIMA = str(Path(sys.executable).parent / "proxima")


def env_for(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXIMA_")}
    env.update(PROXIMA_DATA_DIR=str(tmp_path / "data"), PROXIMA_PORT=str(port),
               PROXIMA_PUBLIC_URL=f"https://localhost:{port}", **extra)
    return env


def wait_for_login_page(port: int, cafile: str, process: subprocess.Popen, timeout: float,
                        ) -> str:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "the server stopped"
        try:
            context = ssl.create_default_context(cafile=cafile)  # made by the server's start
            with urllib.request.urlopen(f"https://localhost:{port}/login", context=context,
                                        timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def stop(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
    return out


def test_make_run_serves_the_login_page_over_https(tmp_path):
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT,
                               env=env_for(tmp_path, port), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        html = wait_for_login_page(port, str(ROOT / "certs" / "ca.pem"), process, timeout=60)
        assert time.monotonic() - started < 60
        assert "Se connecter" in html
    finally:
        out = stop(process)
    assert "First administrator account created" in out
    m = re.search(r"email:\s+(\S+)\s+password:\s+(\S+)", out)
    assert m and m.group(1) == "admin@localhost.localdomain"
    assert (tmp_path / "data" / "proxima.sqlite3").exists()
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o077 == 0


def test_serve_prints_the_first_admin_once_and_check_reports(tmp_path):
    certs = tmp_path / "certs"
    port = free_port()
    env = env_for(tmp_path, port, PROXIMA_CERT_FILE=str(certs / "server.pem"),
                  PROXIMA_KEY_FILE=str(certs / "server-key.pem"),
                  PROXIMA_CA_FILE=str(certs / "ca.pem"))
    missing = subprocess.run([PROXIMA, "check"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "make-certs" in missing.stdout
    subprocess.run([PROXIMA, "make-certs"], env=env, check=True, capture_output=True)
    assert (certs / "ca.pem").exists() and (certs / "server-key.pem").stat().st_mode & 0o077 == 0
    outputs = []
    for _ in range(2):
        process = subprocess.Popen([PROXIMA, "serve"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            wait_for_login_page(port, str(certs / "ca.pem"), process, timeout=30)
        finally:
            outputs.append(stop(process))
    assert "First administrator account created" in outputs[0]
    assert "First administrator account created" not in outputs[1]
    ok = subprocess.run([PROXIMA, "check"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    assert "database" in ok.stdout and "secret key present" in ok.stdout
    smtp = subprocess.run([PROXIMA, "check"], capture_output=True, text=True,
                          env={**env, "PROXIMA_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"})
    assert smtp.returncode == 1 and "SMTP server unreachable" in smtp.stdout


def test_create_and_disable_worker_from_the_cli(tmp_path):
    env = env_for(tmp_path, free_port())
    made = subprocess.run([PROXIMA, "create-worker", "--email", "Zoe@Example.org", "--name",
                           "Zoé Bernard", "--role", "facilitator"], env=env, capture_output=True,
                          text=True)
    assert made.returncode == 0 and "one-time password" in made.stdout
    again = subprocess.run([PROXIMA, "create-worker", "--email", "zoe@example.org", "--name",
                            "Z"], env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
    off = subprocess.run([PROXIMA, "disable-worker", "--email", "zoe@example.org"], env=env,
                         capture_output=True, text=True)
    assert off.returncode == 0 and "disabled" in off.stdout
