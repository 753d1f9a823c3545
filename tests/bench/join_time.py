"""Join time: from "let in" to the first remote video frame on both sides, against a floor.

Run it (from the repository root, as root, in a loopback-only network namespace like `make test`):

    unshare --net -- sh -c 'ip link set lo up &&
      exec .venv/bin/python tests/bench/join_time.py --runs 10'

What it measures, over ``--runs`` runs (at least 10 is the point), in Debian's Chromium (headless,
fake camera and microphone, the browser arguments of tests/conftest.py) on loopback:

* Proxima: a real Proxima served in-process over HTTPS with development certificates. For each
  run a fresh case and appointment are created through the API by a logged-in worker; the person
  opens the invitation link and consents (waiting room), the worker opens the live page, ticks the
  checklist (lobby). Both pages get a probe, then the worker's "let in" button is clicked from
  inside the worker page: t0 is ``performance.timeOrigin + performance.now()`` just before the
  click. Each side's figure is the time until ``requestVideoFrameCallback`` first fires on its
  ``#remote-video``.
* Floor, in the same run: two blank pages on http://127.0.0.1 (a secure context) running the same
  ``web/static/peer.js`` (perfect negotiation, same polite/impolite roles as Proxima: "a" plays the
  worker, "b" the person), connected by a bare aiohttp WebSocket relay that forwards every message
  to the other page; the only rule is that a "go" is sent to both. Page "a" takes t0 and sends
  "go" (as the worker's click sends "admit"); on "go" each page opens camera and microphone
  (as Proxima does on "admitted") and starts its peer connection. Same first-frame probe. As in
  interview.js, a signal that arrives before the page has its peer connection is dropped.

One warm-up run of each (``--warmup``, default 1; not counted) comes first, so that the browser's
cold start does not land on whichever is measured first. It prints one row per run, then the
median and p90 of each column and the ratio proxima / floor of the medians of max(both sides).
An attempt where either Proxima or the floor gets no first frame within 10 s is reported as
stalled (with the peer connections' states), not counted, and tried again (at most 3 x --runs
attempts). All traffic stays on 127.0.0.1; the script stops by itself and cleans up its pages,
browser and servers.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import math
import ssl
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import aiohttp
from aiohttp import web
from conftest import CHROMIUM_ARGS, free_port, loopback_config, serve_https  # as the suite does
from live_helpers import RECORD_PEER_CONNECTIONS, to_consent
from playwright.async_api import async_playwright

from server.base import passwords
from server.base.certs import make_dev_certs
from server.edge.http import STORE
from server.services import accounts

EMAIL = "bench@example.org"
PASSWORD = "worker-password-for-the-bench"
PEER_JS = ROOT / "web" / "static" / "peer.js"
FRAME_TIMEOUT_MS = 10000

# Installed in a page before the click / "go": resolves with the epoch ms of the first frame
# presented on #remote-video (srcObject polled every 5 ms, then requestVideoFrameCallback).
PROBE = """(timeout) => {
    window.__firstFrame = new Promise((resolve, reject) => {
        const v = document.getElementById('remote-video');
        const giveUp = setTimeout(() => reject(new Error('no remote frame in time')), timeout);
        const poll = () => {
            if (!v.srcObject) { setTimeout(poll, 5); return; }
            v.requestVideoFrameCallback(() => {
                clearTimeout(giveUp);
                resolve(performance.timeOrigin + performance.now());
            });
        };
        poll();
    });
    return document.visibilityState;
}"""

DIAGNOSE = """() => {
    const v = document.getElementById('remote-video');
    return {srcObject: !!v.srcObject, videoWidth: v.videoWidth, log: window.__log || [],
            pcs: (window.__pcs || []).map(pc => [pc.signalingState, pc.iceConnectionState,
                                                  pc.connectionState])};
}"""


class Stalled(Exception):
    """No first frame on a side within the time limit."""


async def first_frames(pages: dict[str, Any], t0: float) -> tuple[float, float]:
    results = await asyncio.gather(*(p.evaluate("window.__firstFrame") for p in pages.values()),
                                   return_exceptions=True)
    if any(isinstance(r, BaseException) for r in results):
        states = {name: await page.evaluate(DIAGNOSE) for name, page in pages.items()}
        got = {name: ("frame" if not isinstance(r, BaseException) else "none")
               for name, r in zip(pages, results, strict=True)}
        raise Stalled(f"{got}; {states}")
    first, second = results
    return first - t0, second - t0


async def new_context(browser: Any, **options: Any) -> Any:
    context = await browser.new_context(**options)
    await context.add_init_script(RECORD_PEER_CONNECTIONS)
    return context


# Clicks the button ``selector`` finds from inside the page; returns t0, the epoch ms just before.
CLICK_AND_TIME = """(selector) => {
    const button = document.querySelector(selector);
    const t0 = performance.timeOrigin + performance.now();
    button.click();
    return t0;
}"""

FLOOR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>floor</title></head>
<body>
<video id="remote-video" autoplay playsinline width="320" height="240"></video>
<video id="local-video" autoplay muted playsinline width="160" height="120"></video>
<script src="/peer.js"></script>
<script>
'use strict';
const side = new URLSearchParams(location.search).get('side');
const other = side === 'a' ? 'b' : 'a';
const ws = new WebSocket('ws://' + location.host + '/ws' + location.search);
const send = m => ws.send(JSON.stringify(m));
let peer = null;
window.__open = new Promise(resolve => { ws.onopen = () => resolve(true); });
ws.onmessage = async event => {
    const msg = JSON.parse(event.data);
    if (msg.type === 'go') {
        // As interview.js does on "admitted": open the media, then start the peer connection.
        const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
        document.getElementById('local-video').srcObject = stream;
        peer = new window.ProximaPeer({peer: other, polite: side === 'b', iceServers: [],
                                       stream: stream,
                                       signal: s => send(Object.assign({type: 'signal'}, s))});
        peer.ontrack = s => { document.getElementById('remote-video').srcObject = s; };
    } else if (msg.type === 'signal' && peer) {
        await peer.gotSignal(msg);
    }
};
window.__go = () => {
    const t0 = performance.timeOrigin + performance.now();
    send({type: 'go'});
    return t0;
};
</script>
</body></html>
"""


# -- Proxima, started in-process as tests/conftest.py does ----------------------------------------

async def start_proxima(tmp: Path) -> tuple[str, web.Application, web.AppRunner, ssl.SSLContext]:
    cert_dir = tmp / "certs"
    cert_dir.mkdir()
    make_dev_certs(cert_dir)
    config = loopback_config(tmp, cert_dir)
    app, runner = await serve_https(config, cert_dir)
    client_ssl = ssl.create_default_context(cafile=str(cert_dir / "ca.pem"))
    return config.effective_public_url, app, runner, client_ssl


class Api:
    """The worker's aiohttp client (own cookies, the right Origin)."""

    def __init__(self, base: str, client_ssl: ssl.SSLContext) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_ssl),
                                             cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def json(self, method: str, path: str, body: Any, status: int) -> Any:
        async with self.session.request(method, self.base + path, json=body, headers={
                "Origin": self.base, "Accept": "application/json"}) as response:
            data = await response.json(content_type=None)
            if response.status != status:
                raise RuntimeError(f"{method} {path}: {response.status} {data}")
            return data


async def make_worker(app: web.Application, api: Api) -> None:
    store = app[STORE]
    worker, _ = await accounts.create_worker(store, EMAIL, "Anne Martin", "01 23 45 67 89",
                                             "worker")
    await store.workers.update(worker.id, password_hash=passwords.hash_password(PASSWORD),
                               must_change_password=False)
    await api.json("POST", "/api/session", {"email": EMAIL, "password": PASSWORD}, 200)


async def new_appointment(api: Api, n: int) -> tuple[int, str]:
    """A fresh case and a video appointment starting in a few minutes (waiting room open)."""
    case = (await api.json("POST", "/api/cases", {
        "reference": f"BENCH-{n:03d}", "person_name": "Fatou Diallo",
        "email": "fatou@example.net", "mobile": "06 12 34 56 78", "language": "fr",
        "modality": "video"}, 201))["case"]
    start = dt.datetime.now(ZoneInfo("Europe/Paris")) + dt.timedelta(minutes=5)
    created = await api.json("POST", f"/api/cases/{case['id']}/appointments", {
        "date": start.strftime("%Y-%m-%d"), "time": start.strftime("%H:%M"),
        "duration_minutes": 45, "modality": "video", "topic": "Banc d'essai.",
        "incident_phone": "01 23 45 67 89", "plan_b": "worker_calls", "attendees": [],
        "documents": ""}, 201)
    return created["appointment"]["id"], created["link"]


async def proxima_run(browser: Any, base: str, api: Api, n: int) -> tuple[float, float]:
    appointment_id, link = await new_appointment(api, n)
    person_ctx = await new_context(browser, ignore_https_errors=True, locale="fr-FR",
                                   viewport={"width": 800, "height": 900})
    worker_ctx = await new_context(browser, ignore_https_errors=True, locale="fr-FR",
                                   viewport={"width": 1100, "height": 900})
    try:
        # The person: invitation link, consent, waiting room.
        person = await person_ctx.new_page()
        await person.goto(link)
        await to_consent(person)  # one step per screen: the arrival, the check, the consent
        await person.locator("#consent-form input[name=modality][value=video]").check()
        await person.locator("#consent-form button[type=submit]").click()
        await person.locator("#waiting-step").wait_for(state="visible")

        # The worker: logged in (the browser's own cookie), live page, checklist, lobby.
        login = await worker_ctx.request.post(base + "/api/session", headers={
            "Origin": base, "Accept": "application/json"},
            data={"email": EMAIL, "password": PASSWORD})
        if login.status != 200:
            raise RuntimeError(f"browser login: {login.status} {await login.text()}")
        worker = await worker_ctx.new_page()
        await worker.goto(f"{base}/appointments/{appointment_id}/live")
        await worker.locator("#checklist-form input[name=quiet]").check()
        await worker.locator("#checklist-form input[name=confidential]").check()
        await worker.locator("#checklist-form button[type=submit]").click()
        await worker.locator("#lobby-list .admit").wait_for(state="visible")

        for page in (worker, person):
            visibility = await page.evaluate(PROBE, FRAME_TIMEOUT_MS)
            if visibility != "visible":
                raise RuntimeError(f"page not visible ({visibility}): timers may be throttled")
        t0 = await worker.evaluate(CLICK_AND_TIME, "#lobby-list .admit")
        return await first_frames({"worker": worker, "person": person}, t0)
    finally:
        await worker_ctx.close()
        await person_ctx.close()


# -- the floor: two blank pages and a bare relay ----------------------------------------------

class Relay:
    """A bare signalling relay between blank pages of the same run: a message naming a page
    (``to``) goes to it, any other to every other page of the run, and a "go" to all of them."""

    def __init__(self, page: str) -> None:
        self.html = page
        self.rooms: dict[str, dict[str, web.WebSocketResponse]] = {}

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=self.html, content_type="text/html")

    async def peer_js(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(PEER_JS, headers={"Content-Type": "text/javascript"})

    async def ready(self, request: web.Request) -> web.Response:
        """How many pages of the run have their socket here."""
        return web.json_response(len(self.rooms.get(request.query["run"], {})))

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        room, side = request.query["run"], request.query["side"]
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        peers = self.rooms.setdefault(room, {})
        peers[side] = ws
        try:
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                msg = json.loads(frame.data)
                to = msg.get("to")
                for other_side, other in list(peers.items()):
                    named = other_side == to if to is not None else other_side != side
                    if (msg.get("type") == "go" or named) and not other.closed:
                        await other.send_str(frame.data)
        finally:
            peers.pop(side, None)
            if not peers:
                self.rooms.pop(room, None)
        return ws


async def start_floor_server(page: str = FLOOR_PAGE) -> tuple[str, web.AppRunner]:
    """The relay and its blank page (``page``) on http://127.0.0.1 (a secure context)."""
    relay = Relay(page)
    app = web.Application()
    app.router.add_get("/", relay.page)
    app.router.add_get("/peer.js", relay.peer_js)
    app.router.add_get("/ready", relay.ready)
    app.router.add_get("/ws", relay.ws)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return f"http://127.0.0.1:{port}", runner


async def floor_run(browser: Any, base: str, n: int) -> tuple[float, float]:
    ctx_a = await new_context(browser, viewport={"width": 800, "height": 600})
    ctx_b = await new_context(browser, viewport={"width": 800, "height": 600})
    try:
        a = await ctx_a.new_page()
        b = await ctx_b.new_page()
        await asyncio.gather(a.goto(f"{base}/?run={n}&side=a"), b.goto(f"{base}/?run={n}&side=b"))
        await asyncio.gather(a.evaluate("window.__open"), b.evaluate("window.__open"))
        await asyncio.sleep(0.2)  # the relay has registered both sockets
        for page in (a, b):
            await page.evaluate(PROBE, FRAME_TIMEOUT_MS)
        t0 = await a.evaluate("window.__go()")
        return await first_frames({"a": a, "b": b}, t0)
    finally:
        await ctx_a.close()
        await ctx_b.close()


# -- report ------------------------------------------------------------------------------------

def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def report(rows: list[tuple[float, float, float, float]]) -> None:
    heads = ("run", "proxima worker ms", "proxima person ms", "floor a ms", "floor b ms")
    print("  ".join(f"{h:>17}" if i else f"{h:>4}" for i, h in enumerate(heads)))
    for i, row in enumerate(rows, 1):
        print(f"{i:>4}  " + "  ".join(f"{v:17.1f}" for v in row))
    columns = list(zip(*rows, strict=True))
    print("  med  " + "  ".join(f"{statistics.median(c):17.1f}" for c in columns))
    print("  p90  " + "  ".join(f"{p90(list(c)):17.1f}" for c in columns))
    proxima = [max(w, p) for w, p, _, _ in rows]
    floor = [max(a, b) for _, _, a, b in rows]
    pm, fm = statistics.median(proxima), statistics.median(floor)
    print(f"\nboth sides (max of the two): proxima median {pm:.1f} ms (p90 {p90(proxima):.1f}), "
          f"floor median {fm:.1f} ms (p90 {p90(floor):.1f})")
    print(f"ratio proxima / floor (medians of max(both sides)): {pm / fm:.2f}", flush=True)


async def measure(what: str, attempt: Any, stalls: list[str]) -> tuple[float, float] | None:
    try:
        return await attempt()
    except Stalled as e:
        stalls.append(f"{what}: {e}")
        print(f"  {what} stalled: {e}", file=sys.stderr, flush=True)
        return None


async def main(runs: int, warmup: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    rows: list[tuple[float, float, float, float]] = []
    stalls: dict[str, list[str]] = {"proxima": [], "floor": []}
    attempts = 0
    with tempfile.TemporaryDirectory(prefix="proxima-bench-") as tmp:
        base, app, runner, client_ssl = await start_proxima(Path(tmp))
        floor_base, floor_runner = await start_floor_server()
        api = Api(base, client_ssl)
        try:
            await make_worker(app, api)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                                   headless=True, args=CHROMIUM_ARGS)
                try:
                    n = 0
                    # A run where either side stalls is not counted and is tried again (bounded).
                    while len(rows) < runs and attempts < 3 * runs + warmup:
                        n += 1
                        counted = n > warmup
                        if counted:
                            attempts += 1
                        label = f"run {len(rows) + 1}" if counted else "warm-up (not counted)"
                        proxima = await measure("proxima", lambda n=n: proxima_run(
                            browser, base, api, n), stalls["proxima"] if counted else [])
                        floor = await measure("floor", lambda n=n: floor_run(
                            browser, floor_base, n), stalls["floor"] if counted else [])
                        print(f"{label}: proxima {proxima and [round(v, 1) for v in proxima]} ms,"
                              f" floor {floor and [round(v, 1) for v in floor]} ms",
                              file=sys.stderr, flush=True)
                        if counted and proxima and floor:
                            rows.append((*proxima, *floor))
                finally:
                    await browser.close()
        finally:
            await api.session.close()
            await floor_runner.cleanup()
            await runner.cleanup()
    print(f"{len(rows)} counted runs out of {attempts} attempts; stalled (no first frame within "
          f"{FRAME_TIMEOUT_MS / 1000:.0f} s, attempt not counted): proxima "
          f"{len(stalls['proxima'])}, floor {len(stalls['floor'])}\n")
    if rows:
        report(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="number of runs (default 10)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="uncounted warm-up runs first (default 1)")
    args = parser.parse_args()
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    asyncio.run(main(args.runs, args.warmup))
