"""Shared fixtures: a real Proxima served over HTTPS on loopback, real clients, a real SMTP server.

Nothing is mocked: the app runs with its SQLite database in a temporary directory, behind TLS with
development certificates, and the tests talk to it with aiohttp clients (and Chromium, in the
browser tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import aioice.ice
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from server.app import create_app
from server.base import settings
from server.base.certs import make_dev_certs
from server.edge.http import STORE, AccessLogger
from server.live.limits import Clock, SignallingLimits

ADMIN_PASSWORD = "admin-password-for-tests"
WORKER_PASSWORD = "worker-password-for-tests"


def loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """The host addresses aioice gathers candidates on, in the tests: loopback only."""
    return ["127.0.0.1"]


@pytest.fixture(scope="session", autouse=True)
def ice_on_loopback() -> Iterator[None]:
    """aioice gathers its host candidates on 127.0.0.1 for the whole run, then as before.

    The suite runs in a loopback-only network namespace and aioice leaves 127.0.0.1 out of its
    host candidates. Set here, explicitly, for the tests only (nothing changes at import;
    production keeps the real interfaces). aioice looks the function up at each gathering.
    """
    real = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = loopback_addresses
    yield
    aioice.ice.get_host_addresses = real


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    make_dev_certs(d)
    return d


@dataclass
class Client:
    """An HTTP client for one browser-like party: its own cookies, the right Origin."""

    base: str
    session: aiohttp.ClientSession
    origin: str

    async def request(self, method: str, path: str, json: Any = None,
                      headers: dict[str, str] | None = None, **kw: Any) -> aiohttp.ClientResponse:
        h = {"Origin": self.origin, "Accept": "application/json"}
        h.update(headers or {})
        response = await self.session.request(method, self.base + path, json=json, headers=h,
                                              allow_redirects=kw.pop("allow_redirects", True),
                                              **kw)
        await response.read()
        return response

    async def json(self, method: str, path: str, json: Any = None, status: int = 200,
                   **kw: Any) -> Any:
        response = await self.request(method, path, json=json, **kw)
        body = await response.json(content_type=None)
        assert response.status == status, (response.status, body)
        return body

    async def login(self, email: str, password: str) -> Any:
        return await self.json("POST", "/api/session", {"email": email, "password": password})


@dataclass
class Proxima:
    """A running Proxima and what the tests need to reach it."""

    url: str
    app: web.Application
    ssl: ssl.SSLContext
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)
    websockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)

    @property
    def store(self) -> Any:
        return self.app[STORE]

    def client(self, user_agent: str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36",
               ) -> Client:
        jar = aiohttp.CookieJar(unsafe=True)
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ssl),
                                        cookie_jar=jar, headers={"User-Agent": user_agent})
        self.sessions.append(session)
        return Client(self.url, session, self.url)

    async def worker(self, email: str = "anne@example.org", name: str = "Anne Martin",
                     role: str = "worker", password: str = WORKER_PASSWORD,
                     phone: str = "01 23 45 67 89") -> Client:
        """A logged-in worker with a chosen password (created through the real API)."""
        from server.base import passwords
        from server.services import accounts
        worker, _ = await accounts.create_worker(self.store, email, name, phone, role)
        await self.store.workers.update(worker.id, password_hash=passwords.hash_password(password),
                                        must_change_password=False)
        client = self.client()
        await client.login(email, password)
        return client


def loopback_config(tmp: Path, cert_dir: Path, **overrides: Any) -> settings.Config:
    """Settings for a Proxima on a free loopback port, with quick job timers for tests."""
    port = free_port()
    values: dict[str, object] = {
        "host": "127.0.0.1", "port": port, "public_url": f"https://127.0.0.1:{port}",
        "data_dir": str(tmp / f"data-{port}"), "cert_file": str(cert_dir / "server.pem"),
        "key_file": str(cert_dir / "server-key.pem"), "ca_file": str(cert_dir / "ca.pem"),
        "outbox_interval_seconds": 0.2, "outbox_retry_seconds": 0.3, "login_delay_seconds": 1.0}
    values.update(overrides)
    return settings.load(environ={}).replace(**values)


class ManualClock:
    """A monotonic clock that moves only when the test moves it: waits take no time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def serve_https(config: settings.Config, cert_dir: Path, clock: Clock = time.monotonic,
                      limits: SignallingLimits | None = None, room_clock: Any = None,
                      ) -> tuple[web.Application, web.AppRunner]:
    """The real app behind TLS on ``config.port``, as ``proxima serve`` runs it (with the test's
    clock, signalling limits and room clock, if it gives them)."""
    app = create_app(config, clock=clock, limits=limits, room_clock=room_clock)
    runner = web.AppRunner(app, access_log_class=AccessLogger,
                           access_log=logging.getLogger("aiohttp.access"))
    await runner.setup()
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(cert_dir / "server.pem", cert_dir / "server-key.pem")
    await web.TCPSite(runner, "127.0.0.1", config.port, ssl_context=server_ssl).start()
    return app, runner


@pytest.fixture
async def make_proxima(tmp_path: Path, cert_dir: Path) -> AsyncIterator[Any]:
    """Start Proximas over HTTPS on loopback with the given settings; ``clock`` (a ManualClock),
    ``limits`` (SignallingLimits) and ``room_clock`` (a ManualRoomClock) go to ``create_app``,
    and stay across a restart."""
    runners: list[web.AppRunner] = []
    started: list[Proxima] = []

    async def serve(config: settings.Config, clock: Clock, limits: SignallingLimits | None,
                    room_clock: Any = None) -> tuple[web.Application, web.AppRunner]:
        app, runner = await serve_https(config, cert_dir, clock, limits, room_clock)
        runners.append(runner)
        return app, runner

    async def start(clock: Clock = time.monotonic, limits: SignallingLimits | None = None,
                    room_clock: Any = None, **overrides: Any) -> Proxima:
        config = loopback_config(tmp_path, cert_dir, **overrides)
        app, runner = await serve(config, clock, limits, room_clock)
        client_ssl = ssl.create_default_context(cafile=str(cert_dir / "ca.pem"))
        proxima = Proxima(config.effective_public_url, app, client_ssl)

        async def restart() -> None:
            """Stop the server (its sockets close) and start a new one on the same data."""
            nonlocal runner
            await runner.cleanup()
            runners.remove(runner)
            proxima.app, runner = await serve(config, clock, limits, room_clock)
        proxima.restart = restart  # type: ignore[attr-defined]
        started.append(proxima)
        return proxima

    yield start
    for proxima in started:
        for ws in proxima.websockets:
            await ws.close()
        for s in proxima.sessions:
            await s.close()
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def proxima(make_proxima: Any) -> Proxima:
    return await make_proxima()


class Mailbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        self.arrived.set()
        return "250 Message accepted for delivery"

    async def wait(self, count: int, timeout: float = 10.0) -> list[Any]:
        async def until() -> None:
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(until(), timeout)
        return self.messages


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Any:
    server = SmtpServer(free_port(), Mailbox())
    server.start()
    yield server
    with contextlib.suppress(Exception):
        server.stop()


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Poll ``check()`` (sync or async) until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in time (last value: {value!r})")
        await asyncio.sleep(interval)


def appointment_form(**overrides: Any) -> dict[str, Any]:
    """A valid appointment a few days ahead, in Europe/Paris local time."""
    import datetime as dt
    from zoneinfo import ZoneInfo
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()
    day = (today + dt.timedelta(days=3)).isoformat()
    form = {"date": day, "time": "10:00", "duration_minutes": 45, "modality": "video",
            "topic": "Faire le point sur votre dossier de logement.",
            "incident_phone": "01 23 45 67 89", "plan_b": "worker_calls",
            "attendees": [{"name": "Paul Durand", "role": "interprète"}],
            "documents": "Votre dernier avis d'imposition"}
    form.update(overrides)
    return form


async def new_case(client: Client, **overrides: Any) -> dict[str, Any]:
    data = {"reference": "DOS-2026-0042", "person_name": "Fatou Diallo",
            "email": "fatou@example.net", "mobile": "06 12 34 56 78", "language": "fr",
            "modality": "video"}
    data.update(overrides)
    return (await client.json("POST", "/api/cases", data, status=201))["case"]


# -- browser tests: Debian's Chromium with fake camera and microphone ---------------------------

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", "--use-fake-device-for-media-stream",
                 "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection"]


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {"executable_path": "/usr/bin/chromium", "headless": True, "args": CHROMIUM_ARGS}


AXE_PATH = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core (installed from npm by `make test`) on the page; returns its violations."""
    await page.evaluate(AXE_PATH.read_text(encoding="utf-8"))
    return await page.evaluate(
        "async () => (await axe.run(document)).violations.map("
        "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.html).slice(0, 3)}))")


async def login_in_browser(page: Any, base_url: str, email: str = "anne@example.org",
                           password: str = WORKER_PASSWORD) -> None:
    """Log a worker in through the console's login page (French labels)."""
    import re
    await page.goto(base_url + "/login")
    await page.get_by_label("E-mail", exact=True).fill(email)
    await page.get_by_label("Mot de passe").fill(password)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(re.compile(r"/cases$"))


# -- real coturn on loopback (../shared/RECIPES.md), and the test namespace's network tools ------

TURN_SECRET = "test-turn-secret"
TURN_PORT = 3479


@pytest.fixture(scope="session")
def coturn(tmp_path_factory):
    if shutil.which("turnserver") is None:
        pytest.fail("coturn is not installed: `make test` installs it")
    d = tmp_path_factory.mktemp("turn")
    process = subprocess.Popen([
        "turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        f"--listening-port={TURN_PORT}", "--min-port=49160", "--max-port=49260",
        "--use-auth-secret", f"--static-auth-secret={TURN_SECRET}", "--realm=proxima.test",
        "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--fingerprint",
        f"--pidfile={d}/turn.pid", f"--userdb={d}/turndb", f"--log-file={d}/turn.log",
        "--simple-log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", TURN_PORT), timeout=0.5).close()
            break
        except OSError:
            assert process.poll() is None, "coturn did not start"
            assert time.monotonic() < deadline, "coturn did not listen in time"
            time.sleep(0.1)
    yield f"turn:127.0.0.1:{TURN_PORT}?transport=udp"
    process.terminate()
    process.wait(5)




def only_loopback() -> bool:
    """True inside the loopback-only network namespace that `make test` runs in."""
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]


def nft(*commands: str) -> None:
    for command in commands:
        subprocess.run(["sh", "-c", "nft " + command], check=True)


@pytest.fixture
def screenshots() -> Path:
    """Where a test saves its screenshots, for a reviewer to look at every page:
    $PROXIMA_SCREENSHOTS, else build/screenshots/ in the repository (README, "Screenshots for
    review")."""
    import os
    where = Path(os.environ.get("PROXIMA_SCREENSHOTS") or
                 Path(__file__).resolve().parent.parent / "build" / "screenshots")
    where.mkdir(parents=True, exist_ok=True)
    return where
