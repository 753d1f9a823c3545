"""Signalling under load: Proxima against a bare aiohttp WebSocket relay, in the same run.

Run it (from the repository root, as root, in a loopback-only network namespace like `make test`):

    unshare --net -- sh -c 'ip link set lo up &&
      exec .venv/bin/python tests/bench/signalling_load.py'

Try it small first: ``--sessions 100 --rates 500 --seconds 3 --hold 5``. Options: ``--sessions``
(1:1 sessions, that is pairs of sockets; default 1000, at most 2500), ``--rates`` (relayed
messages a second offered; default 2000,5000,10000), ``--seconds`` (each rate's window, default
10), ``--hold`` (sessions held idle before the load, default 25 s: longer than the 15 s heartbeat
plus its 7.5 s pong deadline), ``--drain`` (at most this long after each window for its messages
to arrive, default 30 s), ``--deflate`` (see below), ``--pin`` (server on CPU 0, load generator
on CPU 1).

Each server runs alone in its own process, started by this script, so its CPU time and memory
(read from /proc/<pid>) are its own; the clients run in another process (tests/bench/
_load_client.py, raw WebSocket clients speaking docs/protocol.md), one server at a time:

* Proxima: the real app over TLS with development certificates, as tests/conftest.py serves it
  (background jobs included). Before the clients come, one worker account, one case and N video
  appointments are made through the store and ``Scheduling`` in that process, with a guest cookie
  per appointment (``Scheduling.admit_browser``) and one worker login session. The load process
  then opens the worker's and the person's sockets of each appointment: hello, consent, waiting
  room, admit, both ``admitted``.
* The floor: a bare aiohttp relay, same TLS certificate and context, same heartbeat (15 s) and
  frame limit, which forwards each text frame to the other socket of its pair (the only message
  of its own is ``paired``, sent to both when the second socket arrives).

It prints for each: the sessions held after ``--hold`` (and after the load), memory per socket
(the server process's RSS after the sessions are held, minus before the first one, divided by the
sockets), the set-up rate (sessions a second, 50 set up at a time), the server's CPU while the
sessions sit idle (Proxima's background jobs re-check every socket's access every 15 s), and at
each offered rate, over a window of ``--seconds``:

* sent: what the clients managed to write in the window (below the offer when the server stops
  reading and TCP pushes back, or when the load generator itself is short of CPU);
* achieved: signals received on the other sockets in the window, whenever they were sent (a
  saturated server still works through the backlog of the rate before: that is its throughput);
* p50 and p99 latency from the scheduled send to the receipt, over the signals scheduled in the
  window (one still undelivered ``--drain`` seconds after the window counts as infinite, "inf";
  how many were is the next row);
* the server's CPU time per message achieved, its CPU share, and the load generator's own (near
  100 % means the clients, not the server, are the limit).

The last column is the ratio Proxima / relay. A signal is a valid ICE candidate whose foundation
carries the send time; each socket sends at most 25 a second (the protocol allows 30, bursts of
120). The clients do not ask for permessage-deflate (aiohttp's default); browsers do, and both
servers accept it: ``--deflate`` measures that case (each frame compressed and decompressed at
both ends, which costs the load generator too).

The defaults take about 4 minutes (making 1,000 appointments, setting up, holding, three rates
with their drains, for each server). A server still busy 15 s after it is told to stop is killed
(a saturated Proxima may be). The machine matters: on a shared 2-core machine figures are noisy;
compare Proxima and the relay of the same run, not runs of different days.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import math
import multiprocessing
import os
import resource
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

import _load_client
from aiohttp import WSMsgType, web
from conftest import free_port, loopback_config, serve_https

from server.base import clock, crypto
from server.base.certs import make_dev_certs
from server.domain.consent import consent_hash
from server.domain.models import Case
from server.edge.http import GUEST_COOKIE, SCHEDULING, SESSION_COOKIE, STORE
from server.services import accounts
from server.services.scheduling import AppointmentForm

MAX_SESSIONS = 2500
PER_SOCKET_RATE = 25.0  # under the protocol's 30 messages a second per connection
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36"
HEARTBEAT_SECONDS = 15.0  # as server/views/signalling.py
MAX_MSG_SIZE = 65537  # as server/views/signalling.py (64 KiB allowed)
SERVER_START_SECONDS = 900.0  # making 2,500 appointments takes a while


# -- the servers, each in its own process ------------------------------------------------------

async def _until_told(conn: Any) -> None:
    """Wait (in a thread, no CPU) for the parent's word to stop."""
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)


async def _populate(app: web.Application, sessions: int, zone: str) -> dict[str, Any]:
    """One worker, one case, ``sessions`` appointments, each with a guest browser's cookie."""
    store, scheduling = app[STORE], app[SCHEDULING]
    worker, _ = await accounts.create_worker(store, "bench@example.org", "Anne Martin",
                                             "01 23 45 67 89", "worker")
    await store.workers.update(worker.id, must_change_password=False)
    worker = await store.workers.get(worker.id)
    session = crypto.new_token()
    await store.sessions.create(crypto.token_hash(session), worker.id)
    case = await store.cases.create(Case(
        id=0, worker_id=worker.id, reference="BENCH-LOAD", person_name="Fatou Diallo", email="",
        mobile="", language="fr", modality="video", accessibility="", created_at=clock.now()))
    start = dt.datetime.now(ZoneInfo(zone)) + dt.timedelta(minutes=10)
    form = AppointmentForm(date=start.strftime("%Y-%m-%d"), time=start.strftime("%H:%M"),
                           duration_minutes=240, modality="video", topic="Banc d'essai.",
                           incident_phone="01 23 45 67 89")
    rooms = []
    for _ in range(sessions):
        appointment, _link = await scheduling.create(worker, case, form)
        invitation = await store.invitations.current(appointment.id)
        cookie, _guest = await scheduling.admit_browser(invitation, USER_AGENT)
        rooms.append({"room": appointment.public_id,
                      "guest_cookie": f"{GUEST_COOKIE}-{appointment.public_id}={cookie}"})
    return {"worker_cookie": f"{SESSION_COOKIE}={session}", "rooms": rooms,
            "consent_hash": consent_hash("fr")}


async def _serve_proxima(tmp: Path, cert_dir: Path, sessions: int, conn: Any) -> None:
    config = loopback_config(tmp, cert_dir)
    app, runner = await serve_https(config, cert_dir)
    try:
        began = time.monotonic()
        made = await _populate(app, sessions, config.timezone)
        conn.send({"url": config.effective_public_url, "pid": os.getpid(),
                   "populate_seconds": time.monotonic() - began, **made})
        await _until_told(conn)
    finally:
        await runner.cleanup()


def serve_proxima(tmp: str, cert_dir: str, sessions: int, conn: Any, cpu: int | None) -> None:
    """Proxima's process: the app over TLS, the appointments made, then serve until told."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve_proxima(Path(tmp), Path(cert_dir), sessions, conn))


async def _serve_relay(cert_dir: Path, sessions: int, conn: Any) -> None:
    pairs: dict[str, dict[str, web.WebSocketResponse]] = {}

    async def socket(request: web.Request) -> web.WebSocketResponse:
        pair, side = request.match_info["pair"], request.query.get("side", "a")
        ws = web.WebSocketResponse(max_msg_size=MAX_MSG_SIZE, heartbeat=HEARTBEAT_SECONDS)
        await ws.prepare(request)
        peers = pairs.setdefault(pair, {})
        peers[side] = ws
        if len(peers) == 2:
            for each in list(peers.values()):
                await each.send_str('{"type":"paired"}')
        other_side = "b" if side == "a" else "a"
        try:
            async for frame in ws:
                other = peers.get(other_side)
                if frame.type == WSMsgType.TEXT and other is not None and not other.closed:
                    with contextlib.suppress(ConnectionError):
                        await other.send_str(frame.data)
        finally:
            if peers.get(side) is ws:
                del peers[side]
        return ws

    app = web.Application()
    app.router.add_get("/ws/{pair}", socket)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # as serve_https
    server_ssl.load_cert_chain(cert_dir / "server.pem", cert_dir / "server-key.pem")
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=server_ssl).start()
    try:
        conn.send({"url": f"https://127.0.0.1:{port}", "pid": os.getpid(), "populate_seconds": 0,
                   "worker_cookie": "", "consent_hash": "",
                   "rooms": [{"room": f"pair{i}"} for i in range(sessions)]})
        await _until_told(conn)
    finally:
        await runner.cleanup()


def serve_relay(tmp: str, cert_dir: str, sessions: int, conn: Any, cpu: int | None) -> None:
    """The bare relay's process."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    asyncio.run(_serve_relay(Path(cert_dir), sessions, conn))


# -- one target: its server, the load, the figures ---------------------------------------------

def _receive(conn: Any, timeout: float, what: str) -> Any:
    if not conn.poll(timeout):
        raise RuntimeError(f"no answer from {what} within {timeout:.0f} s")
    answer = conn.recv()
    if isinstance(answer, dict) and "failed" in answer:
        raise RuntimeError(f"{what} failed: {answer['failed']}")
    return answer


def measure(target: str, tmp: Path, cert_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Start the target's server process and the load process; return the load's figures."""
    spawn = multiprocessing.get_context("spawn")
    here, there = spawn.Pipe()
    serve = serve_proxima if target == "proxima" else serve_relay
    server = spawn.Process(target=serve, name=f"{target}-server", args=(
        str(tmp), str(cert_dir), args.sessions, there, 0 if args.pin else None))
    server.start()
    try:
        ready = _receive(here, SERVER_START_SECONDS, f"the {target} server")
        note(f"{target}: serving {ready['url']} (pid {ready['pid']}), "
             f"{len(ready['rooms'])} rooms made in {ready['populate_seconds']:.1f} s")
        plan = {**ready, "target": target, "server_pid": ready["pid"],
                "ca_file": str(cert_dir / "ca.pem"), "rates": args.rates,
                "seconds": args.seconds, "hold": args.hold, "drain": args.drain,
                "setup_concurrency": 50, "cpu": 1 if args.pin else None,
                "compress": 15 if args.deflate else 0}
        mine, theirs = spawn.Pipe()
        load = spawn.Process(target=_load_client.run, args=(plan, theirs), name=f"{target}-load")
        load.start()
        per_rate = args.seconds + args.drain + 5
        budget = args.sessions + args.hold + len(args.rates) * per_rate + 120
        result = _receive(mine, budget, f"the load against {target}")
        load.join(30)
        return result
    finally:
        with contextlib.suppress(BrokenPipeError):
            here.send("stop")
        server.join(15)
        if server.is_alive():
            note(f"{target}: the server did not stop within 15 s; killed")
            server.kill()
            server.join()


def note(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


# -- the table ---------------------------------------------------------------------------------

def _ratio(a: float, b: float) -> str:
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return "-"
    return f"{a / b:.2f}"


def _rows(result: dict[str, Any]) -> list[tuple[str, float, str]]:
    sockets = 2 * result["set_up"]
    rows = [("sessions set up", result["set_up"], "{:.0f}"),
            ("sessions held after the hold", result["held"], "{:.0f}"),
            ("memory per socket, KiB", (result["rss_after_kib"] - result["rss_before_kib"])
             / max(1, sockets), "{:.1f}"),
            ("set-up, sessions/s", result["set_up"] / result["setup_seconds"], "{:.0f}"),
            ("idle CPU while held, % of a core", 100 * result["idle_cpu_share"], "{:.1f}")]
    for phase in result["phases"]:
        rate, seconds = phase["rate"], phase["seconds"]
        achieved = phase["received"] / seconds
        rows += [(f"{rate:,.0f}/s offered: sent, msg/s", phase["sent"] / seconds, "{:.0f}"),
                 ("  achieved, msg/s", achieved, "{:.0f}"),
                 ("  p50 latency, ms", phase["p50_ms"], "{:.1f}"),
                 ("  p99 latency, ms", phase["p99_ms"], "{:.1f}"),
                 ("  undelivered after the drain", phase["undelivered"], "{:.0f}"),
                 ("  CPU per message, ms", 1000 * phase["server_cpu"] / max(1, phase["received"]),
                  "{:.3f}"),
                 ("  server CPU, % of a core", 100 * phase["server_cpu"] / seconds, "{:.0f}"),
                 ("  load generator CPU, % of a core", 100 * phase["load_cpu_share"], "{:.0f}")]
    rows.append(("sessions held after the load", result["held_after"], "{:.0f}"))
    return rows


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    proxima, relay = _rows(results["proxima"]), _rows(results["relay"])
    print(f"\n{args.sessions} sessions asked ({2 * args.sessions} sockets), TLS on loopback, "
          f"{args.seconds:g} s per rate, {os.cpu_count()} CPUs"
          f"{', permessage-deflate' if args.deflate else ', no compression'}"
          f"{', server on CPU 0 and clients on CPU 1' if args.pin else ''}\n")
    print(f"{'':36}{'proxima':>12}{'relay':>12}{'proxima/relay':>15}")
    for (label, value, form), (_, floor, _) in zip(proxima, relay, strict=True):
        cells = [form.format(v) if math.isfinite(v) else "inf" for v in (value, floor)]
        print(f"{label:36}{cells[0]:>12}{cells[1]:>12}{_ratio(value, floor):>15}")
    for name, result in results.items():
        odd = {**result["setup_failures"], **result["errors"]}
        if odd:
            print(f"{name}: set-up failures and errors received: {odd}")
    print(flush=True)


def raise_fd_limit(needed: int) -> None:
    """Raise this process's soft limit on open files (the children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"{needed} open files are needed and the hard limit is {hard}: "
                             "raise it (ulimit -Hn) first")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def main(args: argparse.Namespace) -> None:
    raise_fd_limit(4 * args.sessions + 1024)
    results = {}
    with tempfile.TemporaryDirectory(prefix="proxima-load-") as name:
        tmp = Path(name)
        cert_dir = tmp / "certs"
        cert_dir.mkdir()
        make_dev_certs(cert_dir)
        for target in ("proxima", "relay"):
            results[target] = measure(target, tmp, cert_dir, args)
    report(results, args)


def _rates(text: str) -> list[float]:
    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("rates are numbers separated by commas") from None
    if not rates or min(rates) <= 0:
        raise argparse.ArgumentTypeError("give at least one rate, each above 0")
    return rates


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=1000,
                        help=f"1:1 sessions (pairs of sockets), 1 to {MAX_SESSIONS} (default 1000)")
    parser.add_argument("--rates", type=_rates, default=[2000.0, 5000.0, 10000.0],
                        help="relayed messages a second offered (default 2000,5000,10000)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measuring window per rate (default 10)")
    parser.add_argument("--hold", type=float, default=25.0,
                        help="seconds the sessions are held idle before the load (default 25)")
    parser.add_argument("--drain", type=float, default=30.0,
                        help="at most this long after each window for its messages to arrive "
                             "(default 30)")
    parser.add_argument("--deflate", action="store_true",
                        help="clients ask for permessage-deflate, as browsers do")
    parser.add_argument("--pin", action="store_true",
                        help="server on CPU 0, load generator on CPU 1")
    args = parser.parse_args()
    if not 1 <= args.sessions <= MAX_SESSIONS:
        parser.error(f"--sessions must be between 1 and {MAX_SESSIONS}")
    if args.seconds <= 0 or args.hold < 0 or args.drain < 0:
        parser.error("--seconds must be above 0, --hold and --drain at least 0")
    per_socket = max(args.rates) / (2 * args.sessions)
    if per_socket > PER_SOCKET_RATE:
        parser.error(f"{max(args.rates):.0f}/s over {2 * args.sessions} sockets is "
                     f"{per_socket:.1f}/s per socket, over the {PER_SOCKET_RATE:.0f} this bench "
                     f"allows (the protocol's limit is 30): use --sessions "
                     f"{math.ceil(max(args.rates) / (2 * PER_SOCKET_RATE))} or more")
    main(args)
