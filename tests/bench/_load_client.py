"""The load generator of tests/bench/signalling_load.py: raw WebSocket clients in their own process.

Not run by itself: signalling_load.py starts ``run`` in a separate process, so that the clients'
CPU is never counted as the server's. It knows no server code, only the wire (docs/protocol.md):

* Proxima: per appointment, the worker's socket (session cookie) and the person's socket (guest
  cookie) say ``hello``; the person consents and waits; the worker sees them in the ``lobby`` and
  admits them; both get ``admitted``. The bare relay: two sockets of a pair, told ``paired``.
* Then the clients hold the sessions (answering the server's WebSocket pings), and at each
  offered rate send ``signal`` messages carrying a valid ICE candidate to the other socket of
  their session, round-robin over every socket (so each socket sends rate / sockets a second,
  under the protocol's 30/s), open loop: the send times are fixed in advance and each socket has
  its own queue, so a slow server does not slow the offer down. The scheduled send time (monotonic
  ns, one clock for the whole process) is the candidate's foundation; latency is the time from it
  to the receipt on the other socket, so time spent queued in the client counts too.

The server's CPU time and memory are read from /proc/<pid> at the edges of each window.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
import os
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any

import aiohttp

SIGNAL_SUFFIX = (' 1 udp 2122260223 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}')
STEP_TIMEOUT = 30.0  # seconds for one step of a session's set-up
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str) -> float:
    """User plus system CPU time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


class Window:
    """One measuring window: what was offered, sent and received, and when."""

    def __init__(self, t0: int, t1: int) -> None:
        self.t0, self.t1 = t0, t1
        self.sent = 0  # written to a socket before the window ended
        self.received = 0  # signals received in the window, whenever they were sent
        self.latencies: list[int] = []  # ns, of the signals scheduled in the window

    def wrote(self, ts: int) -> None:
        if self.t0 <= ts < self.t1 and time.monotonic_ns() < self.t1:
            self.sent += 1

    def got(self, ts: int) -> None:
        now = time.monotonic_ns()
        if self.t0 <= now < self.t1:
            self.received += 1  # a backlog of the rate before counts too: it is throughput
        if self.t0 <= ts < self.t1:
            self.latencies.append(now - ts)


class Socket:
    """One client WebSocket: a reader (signals timed, the rest kept for the set-up) and a writer."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, box: list[Window]) -> None:
        self.ws = ws
        self.box = box  # the current window, shared by every socket
        self.control: asyncio.Queue[dict[str, Any]] | None = asyncio.Queue()
        self.out: asyncio.Queue[int] = asyncio.Queue()
        self.prefix = ""
        self.errors: collections.Counter[str] = collections.Counter()
        self.tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._write())]

    def send_to(self, peer: str) -> None:
        self.prefix = ('{"type":"signal","to":' + json.dumps(peer)
                       + ',"candidate":{"candidate":"candidate:')

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(msg))

    async def expect(self, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The next control message that passes ``check`` (others are skipped)."""
        assert self.control is not None
        async with asyncio.timeout(STEP_TIMEOUT):
            while True:
                msg = await self.control.get()
                if check(msg):
                    return msg

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            msg = json.loads(frame.data)
            kind = msg.get("type")
            if kind == "signal":
                line = msg["candidate"]["candidate"]
                self.box[0].got(int(line[10:line.index(" ")]))
            elif kind == "error":
                self.errors[msg.get("code", "?")] += 1
            elif self.control is not None:
                self.control.put_nowait(msg)

    async def _write(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                ts = await self.out.get()
                await self.ws.send_str(f"{self.prefix}{ts}{SIGNAL_SUFFIX}")
                self.box[0].wrote(ts)

    @property
    def open(self) -> bool:
        return not self.ws.closed

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class Load:
    """All the sockets of one run against one server."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.box = [Window(0, 0)]
        self.pairs: list[tuple[Socket, Socket]] = []
        self.failures: collections.Counter[str] = collections.Counter()
        context = ssl.create_default_context(cafile=plan["ca_file"])
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=0),
            cookie_jar=aiohttp.DummyCookieJar())
        self.wss = plan["url"].replace("https://", "wss://")

    async def connect(self, opened: list[Socket], path: str, cookie: str = "") -> Socket:
        headers = {"Origin": self.plan["url"]}
        if cookie:
            headers["Cookie"] = cookie
        ws = await self.http.ws_connect(self.wss + path, headers=headers, autoping=True,
                                        max_msg_size=65537, compress=self.plan["compress"])
        opened.append(Socket(ws, self.box))
        return opened[-1]

    async def proxima_session(self, room: dict[str, str], opened: list[Socket],
                              ) -> tuple[Socket, Socket]:
        """Worker and person of one appointment, up to both being told ``admitted``."""
        worker = await self.connect(opened, f"/ws/{room['room']}", self.plan["worker_cookie"])
        await worker.send({"type": "hello", "version": 1})
        worker_id = (await worker.expect(lambda m: m["type"] == "welcome"))["id"]
        await worker.expect(lambda m: m["type"] == "lobby")
        person = await self.connect(opened, f"/ws/{room['room']}", room["guest_cookie"])
        await person.send({"type": "hello", "version": 1})
        person_id = (await person.expect(lambda m: m["type"] == "welcome"))["id"]
        await person.send({"type": "consent", "modality": "video", "audio_fallback": True,
                           "others_present": False, "text_hash": self.plan["consent_hash"]})
        await person.expect(lambda m: m["type"] == "waiting")
        await worker.expect(lambda m: m["type"] == "lobby"
                            and any(w["id"] == person_id for w in m["waiting"]))
        await worker.send({"type": "admit", "participant": person_id})
        await worker.expect(lambda m: m["type"] == "admitted")
        await person.expect(lambda m: m["type"] == "admitted")
        worker.send_to(person_id)
        person.send_to(worker_id)
        return worker, person

    async def relay_session(self, room: dict[str, str], opened: list[Socket],
                            ) -> tuple[Socket, Socket]:
        """Both sockets of a pair, up to both being told ``paired``."""
        a = await self.connect(opened, f"/ws/{room['room']}?side=a")
        b = await self.connect(opened, f"/ws/{room['room']}?side=b")
        for side, peer in ((a, "b"), (b, "a")):
            await side.expect(lambda m: m["type"] == "paired")
            side.send_to(peer)
        return a, b

    async def set_up(self) -> float:
        """Every session, ``setup_concurrency`` at a time; returns the seconds it took."""
        start = self.proxima_session if self.plan["target"] == "proxima" else self.relay_session
        gate = asyncio.Semaphore(self.plan["setup_concurrency"])

        async def one(room: dict[str, str]) -> None:
            opened: list[Socket] = []
            async with gate:
                try:
                    self.pairs.append(await start(room, opened))
                except (aiohttp.ClientError, OSError, TimeoutError, KeyError) as exc:
                    self.failures[type(exc).__name__ + (
                        f" {exc.status}" if isinstance(exc, aiohttp.WSServerHandshakeError)
                        else "")] += 1
                    await asyncio.gather(*(s.close() for s in opened))

        began = time.monotonic()
        await asyncio.gather(*(one(room) for room in self.plan["rooms"]))
        took = time.monotonic() - began
        for pair in self.pairs:
            for s in pair:
                s.control = None  # from now on only signals and errors matter
        return took

    def held(self) -> int:
        return sum(1 for a, b in self.pairs if a.open and b.open)

    def errors(self) -> dict[str, int]:
        total: collections.Counter[str] = collections.Counter()
        for pair in self.pairs:
            for s in pair:
                total.update(s.errors)
        return dict(total)

    async def offer(self, rate: float, seconds: float) -> dict[str, Any]:
        """Offer ``rate`` signals a second for ``seconds``, then wait for the stragglers."""
        sockets = [s for pair in self.pairs for s in pair]
        pid = self.plan["server_pid"]
        errors_before = self.errors()
        await asyncio.sleep(0.5)
        t0 = time.monotonic_ns() + 50_000_000
        window = Window(t0, t0 + int(seconds * 1e9))
        self.box[0] = window
        total = int(rate * seconds)
        await asyncio.sleep((t0 - time.monotonic_ns()) / 1e9)
        cpu0, mine0 = cpu_seconds(pid), cpu_seconds("self")
        k = 0
        while (now := time.monotonic_ns()) < window.t1:
            due = min(total, int((now - t0) * rate / 1e9) + 1)
            while k < due:
                sockets[k % len(sockets)].out.put_nowait(t0 + int(k * 1e9 / rate))
                k += 1
            await asyncio.sleep(0.002)
        cpu1, mine1 = cpu_seconds(pid), cpu_seconds("self")
        wall = (time.monotonic_ns() - t0) / 1e9
        drain_until = time.monotonic() + self.plan["drain"]
        while len(window.latencies) < k and time.monotonic() < drain_until:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # polls the window, with a deadline, as eventually() does
        errors = collections.Counter(self.errors())
        errors.subtract(errors_before)
        return {"rate": rate, "scheduled": k, "sent": window.sent, "received": window.received,
                "undelivered": k - len(window.latencies), "seconds": seconds,
                "p50_ms": percentile(window.latencies, k, 0.50),
                "p99_ms": percentile(window.latencies, k, 0.99),
                "server_cpu": cpu1 - cpu0, "load_cpu_share": (mine1 - mine0) / wall,
                "errors": {c: n for c, n in errors.items() if n}}

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for pair in self.pairs for s in pair))
        await self.http.close()


def percentile(latencies: list[int], scheduled: int, q: float) -> float:
    """Nearest-rank percentile in ms over every message scheduled; an undelivered one is inf."""
    if scheduled == 0:
        return math.nan
    rank = max(0, math.ceil(q * scheduled) - 1)
    ordered = sorted(latencies)
    return ordered[rank] / 1e6 if rank < len(ordered) else math.inf


async def _run(plan: dict[str, Any]) -> dict[str, Any]:
    pid = plan["server_pid"]
    load = Load(plan)
    out: dict[str, Any] = {"requested": len(plan["rooms"])}
    try:
        out["rss_before_kib"] = rss_kib(pid)
        out["setup_seconds"] = await load.set_up()
        out["set_up"] = len(load.pairs)
        out["setup_failures"] = dict(load.failures)
        say(f"{plan['target']}: {len(load.pairs)} sessions set up in "
            f"{out['setup_seconds']:.1f} s; holding them {plan['hold']:.0f} s")
        cpu0, began = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(plan["hold"])
        out["idle_cpu_share"] = (cpu_seconds(pid) - cpu0) / (time.monotonic() - began)
        out["rss_after_kib"] = rss_kib(pid)
        out["held"] = load.held()
        out["phases"] = []
        for rate in plan["rates"]:
            phase = await load.offer(rate, plan["seconds"])
            say(f"{plan['target']}: {rate:.0f}/s offered: {phase['received'] / plan['seconds']:.0f}"
                f"/s achieved, p99 {phase['p99_ms']:.1f} ms")
            out["phases"].append(phase)
        out["held_after"] = load.held()
        out["errors"] = load.errors()
    finally:
        await load.close()
    return out


def say(text: str) -> None:
    print(f"  [load] {text}", file=sys.stderr, flush=True)


def run(plan: dict[str, Any], conn: Any) -> None:
    """The load process's entry point: runs ``plan`` and sends back the figures."""
    if plan.get("cpu") is not None:
        os.sched_setaffinity(0, {plan["cpu"]})
    try:
        conn.send(asyncio.run(_run(plan)))
    except BaseException as exc:
        conn.send({"failed": f"{type(exc).__name__}: {exc}"})
        raise
