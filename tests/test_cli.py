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

from server.edge.http import CONFIG

ROOT = Path(__file__).resolve().parent.parent
PROXIMA = str(Path(sys.executable).parent / "proxima")


def env_for(tmp_path: Path, port: int, public_url: bool = True, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXIMA_")}
    env.update(PROXIMA_DATA_DIR=str(tmp_path / "data"), PROXIMA_PORT=str(port), **extra)
    if public_url:
        env["PROXIMA_PUBLIC_URL"] = f"https://localhost:{port}"
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
    """`PROXIMA_PORT=<port> make run`, as the README says: served and announced on that port,
    and the first login printed last, framed, with how to get another one."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT,
                               env=env_for(tmp_path, port, public_url=False),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        html = wait_for_login_page(port, str(ROOT / "certs" / "ca.pem"), process, timeout=60)
        assert time.monotonic() - started < 60
        assert "Se connecter" in html
    finally:
        out = stop(process)
    # The address served is the one announced (PROXIMA_PUBLIC_URL is not set).
    assert f"Proxima is serving https://localhost:{port} " in out
    assert ":8443" not in out
    # The first login comes last (only the access log of the test's request and the stop may
    # follow), in a frame, with the one-time password and how to make another administrator.
    lines = out.splitlines()
    top = next(i for i, line in enumerate(lines) if "First administrator account created" in line)
    assert any("Proxima is serving" in line for line in lines[:top])
    frame = lines[top - 1:]
    bottom = next(i for i, line in enumerate(frame) if i > 0 and line.strip().startswith("+-"))
    frame = frame[:bottom + 1]
    assert frame[0].strip() == frame[-1].strip() and set(frame[0].strip()) == {"+", "-"}
    assert all(line.strip().startswith("| ") and line.rstrip().endswith(" |")
               for line in frame[1:-1])
    assert len({len(line.rstrip()) for line in frame}) == 1  # straight edges
    text = "\n".join(line.strip().strip("|") for line in frame)
    assert re.search(rf"open\s+https://localhost:{port}/login", text)
    assert re.search(r"email:\s+admin@localhost\.localdomain\s", text)
    assert re.search(r"password:\s+[0-9a-f]{6}(-[0-9a-f]{6}){3}\s", text)
    assert ".venv/bin/proxima create-worker --role admin" in text
    after = [line for line in lines[top - 1 + bottom + 1:] if line.strip()]
    assert all(re.search(r"GET /login|SIGINT|Interrupt|make: \*\*\*", line)
               for line in after), after
    assert (tmp_path / "data" / "proxima.sqlite3").exists()
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o077 == 0


NOISY_PIP = """#!/bin/sh
# Stands in for pip, which cannot reach a package index inside the tests' loopback-only network
# namespace: it says what a first install says (pip and setuptools warnings, ~190 lines).
i=0
while [ $i -lt 60 ]; do
  echo "  /tmp/pip-build-env/setuptools/config/_apply_pyprojecttoml.py:82: BuildBackendWarning:"
  echo "          Please use a simple string containing a SPDX expression for project.license."
  echo "WARNING: Location 'file:///opt/pypi/simple/aiortc/' is ignored." >&2
  i=$((i + 1))
done
if [ -n "$FAIL_ON" ] && [ "${*#*$FAIL_ON}" != "$*" ]; then
  echo "ERROR: No matching distribution found for aiortc>=1.9" >&2
  exit 1
fi
"""


def test_make_installs_quietly_and_shows_errors(tmp_path):
    """The install steps of `make run` keep pip's and setuptools' warnings in a log, so they
    cannot scroll the first login away; a failing step still shows its errors."""
    pip = tmp_path / "pip"
    pip.write_text(NOISY_PIP, encoding="utf-8")
    pip.chmod(0o755)
    venv = tmp_path / "venv"
    make = ["make", "--no-print-directory", f"VENV={venv}", f"PIP={pip}", str(venv / ".installed")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXIMA_")}
    quiet = subprocess.run(make, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    shown = (quiet.stdout + quiet.stderr).splitlines()
    assert shown == [(f"Installing Proxima and what it needs in {venv}/ (a minute or two the "
                      "first time)...")], shown
    assert "BuildBackendWarning" in (venv / "install.log").read_text(encoding="utf-8")

    (venv / ".installed").unlink()
    failed = subprocess.run(make, cwd=ROOT, env={**env, "FAIL_ON": "-e ."},
                            capture_output=True, text=True, timeout=120)
    assert failed.returncode != 0
    assert "ERROR: No matching distribution found for aiortc>=1.9" in failed.stderr
    assert re.search(r"make: this failed .*install\.log.*: \S*pip install -q -e \.",
                     failed.stderr)
    assert not (venv / ".installed").exists()


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


def test_check_warns_when_links_would_miss_the_port_served(tmp_path):
    certs = tmp_path / "certs"
    port = free_port()
    env = env_for(tmp_path, port, public_url=False, PROXIMA_CERT_FILE=str(certs / "server.pem"),
                  PROXIMA_KEY_FILE=str(certs / "server-key.pem"),
                  PROXIMA_CA_FILE=str(certs / "ca.pem"),
                  PROXIMA_SECRET_KEY="a secret key for this test only")
    subprocess.run([PROXIMA, "make-certs"], env=env, check=True, capture_output=True)
    derived = subprocess.run([PROXIMA, "check"], env=env, capture_output=True, text=True)
    assert derived.returncode == 0, derived.stdout
    assert f"ok: invitation links start with https://localhost:{port}\n" in derived.stdout
    assert "WARNING" not in derived.stdout
    # A public URL on another port than the one served, and no proxy: a warning, not a failure.
    stale = subprocess.run([PROXIMA, "check"], capture_output=True, text=True,
                           env={**env, "PROXIMA_PUBLIC_URL": "https://localhost:8443"})
    assert stale.returncode == 0, stale.stdout
    assert (f"WARNING: PROXIMA_PUBLIC_URL https://localhost:8443 is on port 8443, but Proxima "
            f"listens on port {port}") in stale.stdout
    assert f"https://localhost:{port}" in stale.stdout  # what to use instead
    # Behind a declared proxy, another port is expected.
    proxied = subprocess.run([PROXIMA, "check"], capture_output=True, text=True, env={
        **env, "PROXIMA_PUBLIC_URL": "https://proxima.example.org",
        "PROXIMA_TRUSTED_PROXIES": "127.0.0.1"})
    assert proxied.returncode == 0 and "WARNING" not in proxied.stdout, proxied.stdout
    # Listening on every address with links only this machine can open.
    everywhere = subprocess.run([PROXIMA, "check"], capture_output=True, text=True, env={
        **env, "PROXIMA_HOST": "0.0.0.0", "PROXIMA_PUBLIC_URL": f"https://localhost:{port}"})
    assert "WARNING: invitation links start with https://localhost" in everywhere.stdout


async def test_invitation_links_follow_the_port_when_no_public_url_is_set(make_proxima):
    from conftest import appointment_form, new_case
    proxima = await make_proxima(public_url="")
    port = proxima.app[CONFIG].port
    assert proxima.url == f"https://localhost:{port}"
    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(), status=201)
    assert created["link"].startswith(f"https://localhost:{port}/j/")
