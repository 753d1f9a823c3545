"""Group join time: from "Let everyone in" until every link of the room carries media, against a
floor; and one participant's upstream and CPU share in a room of 6.

Run it (from the repository root, as root, in a loopback-only network namespace like `make test`):

    unshare --net -- sh -c 'ip link set lo up &&
      exec .venv/bin/python tests/bench/group_join.py --runs 3'

What it measures, for rooms of 3 to 6 participants (``--sizes``), ``--runs`` times each, in
Debian's Chromium (headless, fake camera and microphone, the browser arguments of
tests/conftest.py) on loopback. Every participant has a browser of its own (one Chromium each,
so that one participant's CPU can be read from its own processes):

* Proxima: a real Proxima served in-process over HTTPS. For each run a group of the facilitator
  and N-1 persons (fresh cases) is planned through the API; each person opens their own link at
  360 px, walks its steps to the consent, accepts the rule and the others' presence, keeps video
  (the "switch to sound only" fallback unticked, as a weak shared machine could trip it) and
  waits; the facilitator opens the group's live page and ticks the checklist. Every page gets a
  probe, then "Let everyone in" is clicked from inside the facilitator's page: t0 is taken just
  before the click. A page is done when N-1 of its peer connections have decoded video frames
  (getStats, polled every 50 ms); the run's figure is the last page's time.
* Floor, in the same run and the same browsers: N blank pages on http://127.0.0.1 (a secure
  context) running the same ``web/static/peer.js`` in full mesh (one PeerSession per other page,
  the lower index impolite, each link capped by the same PeerSession.budget as Proxima's pages),
  connected by a bare aiohttp WebSocket relay that forwards each signal to the page it names.
  Page 0 takes t0 and sends "go"; on "go" each page opens camera and microphone and starts its
  links. Same probe.

Then, in the room of 6 still running (Proxima, then the floor), over ``--window`` seconds: one
person's whole upstream (outbound-rtp bytesSent + headerBytesSent over all its links) in kbit/s,
and the CPU share (of one core) of that participant's browser, all its processes, from
/proc/<pid>/stat. On two shared cores the browsers of the others compete for the same CPU: the
share is comparable between Proxima and the floor of the same run, not with a real phone.

It prints one row per size (median, p90, floor median, ratio), including a ``median N s`` line per
size, then the upstream and CPU at 6. An attempt where a page gets no media on every link within
``--timeout`` seconds is reported as stalled, not counted, and tried again (at most 3 x --runs
attempts per size). Every page is traced (tests/bench/link_trace.py) and, after each attempt, the
bench prints the machine's CPU use and load average, how often links restarted ICE (and who
asked), were refused a description or lost their signalling, how long a signal took from page to
page and a description to apply, and writes the whole trace to a JSON file; on a stall, each link
without video at the deadline (when it connected, when its first frame came) and, for a link
still without video, both its ends' states and logs. On 2 cores a stall at 6 with signals taking
seconds and sockets cut by their pings is starvation (docs/groups.md, "The stalls at 6").
``--no-floor`` runs Proxima only; ``--no-silence-restart`` makes the pages skip the ICE restart
their silence watch asks for, to test that suspect. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import logging
import os
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
from conftest import CHROMIUM_ARGS
from live_helpers import RECORD_PEER_CONNECTIONS, to_consent
from playwright.async_api import async_playwright

from bench.join_time import (
    CLICK_AND_TIME,
    EMAIL,
    PASSWORD,
    Api,
    make_worker,
    p90,
    start_floor_server,
    start_proxima,
)
from bench.link_trace import (
    LINK_STATES,
    LINK_TRACE,
    late_links,
    load_figures,
    machine_cpu,
    signalling_figures,
    stalled_links,
    summary,
)
from server.edge.http import CONFIG

PARIS = ZoneInfo("Europe/Paris")
RULE = "Ce qui est dit dans le groupe reste dans le groupe."
TICKS = os.sysconf("SC_CLK_TCK")

# Installed in a page before t0: resolves with the epoch ms at which `links` of the page's peer
# connections have decoded video (or rejects after `timeout` ms with the links' states).
PROBE = """([links, timeout]) => {
    window.__allMedia = new Promise((resolve, reject) => {
        const started = performance.now();
        const poll = async () => {
            let flowing = 0;
            for (const pc of window.__pcs || []) {
                if (pc.connectionState === 'closed') continue;
                let frames = 0;
                try {
                    (await pc.getStats()).forEach(s => {
                        if (s.type === 'inbound-rtp' && s.kind === 'video')
                            frames += s.framesDecoded || 0;
                    });
                } catch (e) { /* closed meanwhile */ }
                if (frames > 0) flowing += 1;
                const first = window.__firstVideo = window.__firstVideo || {};
                const i = window.__pcs.indexOf(pc);
                if (frames > 0 && !first[i]) first[i] = Math.round(performance.timeOrigin +
                                                                     performance.now());
            }
            if (flowing >= links) {
                resolve(performance.timeOrigin + performance.now());
            } else if (performance.now() - started > timeout) {
                reject(new Error(flowing + ' of ' + links + ' links with media; ' +
                    JSON.stringify((window.__pcs || []).map(pc => pc.connectionState))));
            } else {
                setTimeout(poll, 50);
            }
        };
        poll();
    });
    return document.visibilityState;
}"""

# A page's whole upstream so far: bytes sent with their headers, over all its links.
BYTES_SENT = """async () => {
    let bytes = 0;
    for (const pc of window.__pcs || []) {
        try {
            (await pc.getStats()).forEach(s => {
                if (s.type === 'outbound-rtp') bytes += (s.bytesSent || 0) +
                                                         (s.headerBytesSent || 0);
            });
        } catch (e) { /* closed */ }
    }
    return bytes;
}"""

FLOOR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>floor</title></head>
<body>
<video id="local-video" autoplay muted playsinline width="160" height="120"></video>
<div id="remote"></div>
<script src="/peer.js"></script>
<script>
'use strict';
const query = new URLSearchParams(location.search);
const me = Number(query.get('side')), size = Number(query.get('size'));  // sides 0..size-1
const upstream = Number(query.get('kbps'));
const ws = new WebSocket('ws://' + location.host + '/ws' + location.search);
const send = m => ws.send(JSON.stringify(m));
const peers = new Map();
const early = [];
window.__open = new Promise(resolve => { ws.onopen = () => resolve(true); });
ws.onmessage = async event => {
    const msg = JSON.parse(event.data);
    if (msg.type === 'go') {
        // As the pages do on "admitted": open the media, then one link per other participant.
        const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
        document.getElementById('local-video').srcObject = stream;
        const height = stream.getVideoTracks()[0].getSettings().height || 0;
        const budget = window.ProximaPeer.budget(upstream, size - 1, height);
        for (let other = 0; other < size; other++) {
            if (other === me) continue;
            const peer = new window.ProximaPeer({
                peer: String(other), polite: me > other, iceServers: [], stream: stream,
                signal: s => send(Object.assign({type: 'signal', to: String(other), from: me},
                                                s))});
            peer.ontrack = s => {
                let v = document.getElementById('v' + other);
                if (!v) {
                    v = document.createElement('video');
                    Object.assign(v, {id: 'v' + other, autoplay: true, playsInline: true});
                    document.getElementById('remote').append(v);
                }
                v.srcObject = s;
            };
            peers.set(other, peer);
            peer.setBudget(budget);
        }
        for (const m of early.splice(0)) await peers.get(m.from).gotSignal(m);
    } else if (msg.type === 'signal' && peers.has(msg.from)) {
        await peers.get(msg.from).gotSignal(msg);
    } else if (msg.type === 'signal') {
        early.push(msg);  // this page is still opening its camera: kept for its link
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


TRACES = itertools.count(1)


class Stalled(Exception):
    """A page got no media on every link in time."""


# -- the participants' browsers and their CPU -----------------------------------------------------

def process_tree(marker: str) -> list[int]:
    """The pids of the Chromium whose command line holds ``marker``, and all its descendants."""
    parents: dict[int, int] = {}
    roots = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        if marker.encode() in cmdline.split(b"\0"):
            roots.append(int(entry))
    tree = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sorted(tree)


def cpu_seconds(pids: list[int]) -> float:
    """User + system time of the processes still alive among ``pids``."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


class Participants:
    """One headless Chromium per participant, each marked on its command line."""

    def __init__(self, no_silence_restart: bool = False) -> None:
        self.browsers: list[Any] = []
        self.markers: list[str] = []
        self.no_silence_restart = no_silence_restart

    async def launch(self, playwright: Any, count: int) -> None:
        for i in range(count):
            marker = f"--proxima-bench-participant={os.getpid()}-{i}"
            self.markers.append(marker)
            self.browsers.append(await playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True,
                args=[*CHROMIUM_ARGS, marker]))

    async def context(self, i: int, **options: Any) -> Any:
        context = await self.browsers[i].new_context(**options)
        await context.add_init_script(RECORD_PEER_CONNECTIONS)
        await context.add_init_script(LINK_TRACE)
        if self.no_silence_restart:
            await context.add_init_script("window.__noSilenceRestart = true")
        return context

    async def close(self) -> None:
        for browser in self.browsers:
            await browser.close()


async def upstream_and_cpu(page: Any, pids: list[int], window: float) -> tuple[float, float]:
    """A page's upstream (kbit/s) and its browser's CPU share (% of one core) over ``window``."""
    bytes0, cpu0 = await page.evaluate(BYTES_SENT), cpu_seconds(pids)
    start = asyncio.get_running_loop().time()
    await asyncio.sleep(window)  # a measuring window, not a wait for a condition
    bytes1, cpu1 = await page.evaluate(BYTES_SENT), cpu_seconds(pids)
    elapsed = asyncio.get_running_loop().time() - start
    return (bytes1 - bytes0) * 8 / 1000 / elapsed, (cpu1 - cpu0) / elapsed * 100


async def all_media(pages: list[Any], links: int, t0: float, timeout: float) -> float:
    """Seconds from t0 until the last page has media on ``links`` links; on a stall, the
    machine's load and each link without video, both its ends' states and logs."""
    cpu0 = machine_cpu()
    results = await asyncio.gather(*(p.evaluate("window.__allMedia") for p in pages),
                                   return_exceptions=True)
    failed = [f"page {i}: {r}" for i, r in enumerate(results) if isinstance(r, BaseException)]
    dumps = [await p.evaluate(LINK_STATES) for p in pages]
    trace = Path(tempfile.gettempdir()) / f"group-trace-{os.getpid()}-{next(TRACES)}.json"
    trace.write_text(json.dumps(dumps, indent=1))
    figures = (f"{load_figures(cpu0)}; on the links: {summary(dumps)}\n  "
               f"{signalling_figures(dumps)}; trace {trace}")
    if failed:
        late = late_links(dumps, t0 + timeout * 1000)
        raise Stalled("; ".join(failed) + f"\n  {figures}\n" + "\n".join(
            late + stalled_links(dumps)))
    print(f"  {figures}", file=sys.stderr, flush=True)
    return (max(results) - t0) / 1000


async def probe(pages: list[Any], links: int, timeout: float) -> None:
    for page in pages:
        if await page.evaluate(PROBE, [links, timeout * 1000]) != "visible":
            raise RuntimeError("a page is not visible: its timers may be throttled")


# -- Proxima ------------------------------------------------------------------------------------

class ProximaGroups:
    def __init__(self, base: str, api: Api) -> None:
        self.base, self.api = base, api
        self.cases = itertools.count(1)

    async def plan(self, persons: int) -> tuple[int, list[str]]:
        """A group of the bench's worker and ``persons`` fresh cases, starting in 5 minutes."""
        cases = []
        for _ in range(persons):
            n = next(self.cases)
            cases.append((await self.api.json("POST", "/api/cases", {
                "reference": f"GB-{n:04d}", "person_name": f"Personne {n}", "email": "",
                "mobile": "06 12 34 56 78", "language": "fr", "modality": "video"}, 201))["case"])
        start = dt.datetime.now(PARIS) + dt.timedelta(minutes=5)
        created = await self.api.json("POST", "/api/groups", {
            "title": "Banc d'essai", "date": start.strftime("%Y-%m-%d"),
            "time": start.strftime("%H:%M"), "modality": "video", "duration_minutes": 90,
            "agenda": [{"title": "Tour de table", "minutes": 30}], "rule": RULE,
            "speaking_rules": "Levez la main pour parler.", "incident_phone": "01 23 45 67 89",
            "people": [{"case_id": c["id"]} for c in cases], "workers": []}, 201)
        return created["group"]["id"], [x["link"] for x in created["links"]]

    async def person(self, who: Participants, i: int, link: str) -> tuple[Any, Any]:
        context = await who.context(i, ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                                    viewport={"width": 360, "height": 740})
        page = await context.new_page()
        await page.goto(link)
        await to_consent(page)  # one step per screen: the arrival, the check, the consent
        await page.locator("input[name=rule_accepted]").check()
        await page.locator("input[name=others_accepted]").check()
        await page.locator("#consent-form input[name=modality][value=video]").check()
        await page.locator("input[name=audio_fallback]").uncheck()
        await page.locator("#consent-form button[type=submit]").click()
        await page.locator("#waiting-step").wait_for(state="visible")
        return context, page

    async def facilitator(self, who: Participants, group_id: int, waiting: int) -> tuple[Any, Any]:
        context = await who.context(0, ignore_https_errors=True, locale="fr-FR",
                                    viewport={"width": 1280, "height": 900})
        login = await context.request.post(self.base + "/api/session", headers={
            "Origin": self.base, "Accept": "application/json"},
            data={"email": EMAIL, "password": PASSWORD})
        if login.status != 200:
            raise RuntimeError(f"browser login: {login.status} {await login.text()}")
        page = await context.new_page()
        await page.goto(f"{self.base}/groups/{group_id}/live")
        await page.locator("#checklist-form input[name=quiet]").check()
        await page.locator("#checklist-form input[name=confidential]").check()
        await page.locator("#checklist-form button[type=submit]").click()
        await page.locator("#lobby-list li").nth(waiting - 1).wait_for(state="visible")
        await page.locator("#btn-admit-all").wait_for(state="visible")
        return context, page

    async def run(self, who: Participants, size: int, timeout: float,
                  window: float) -> tuple[float, tuple[float, float] | None]:
        group_id, links = await self.plan(size - 1)
        contexts = []
        try:
            pages = []
            for i, link in enumerate(links, 1):
                context, page = await self.person(who, i, link)
                contexts.append(context)
                pages.append(page)
            context, host = await self.facilitator(who, group_id, size - 1)
            contexts.append(context)
            await probe([host, *pages], size - 1, timeout)
            t0 = await host.evaluate(CLICK_AND_TIME, "#btn-admit-all")
            seconds = await all_media([host, *pages], size - 1, t0, timeout)
            load = None
            if size == 6 and window:
                load = await upstream_and_cpu(pages[0], process_tree(who.markers[1]), window)
            return seconds, load
        finally:
            for context in contexts:
                await context.close()


# -- the floor: blank pages and a bare relay ----------------------------------------------------

async def floor_run(who: Participants, base: str, run: int, size: int, kbps: int,
                    timeout: float, window: float) -> tuple[float, tuple[float, float] | None]:
    contexts = [await who.context(i, viewport={"width": 640, "height": 480})
                for i in range(size)]
    try:
        pages = [await c.new_page() for c in contexts]
        await asyncio.gather(*(p.goto(f"{base}/?run={run}&side={i}&size={size}&kbps={kbps}")
                               for i, p in enumerate(pages)))
        await asyncio.gather(*(p.evaluate("window.__open") for p in pages))
        async with aiohttp.ClientSession() as http:
            for _ in range(200):  # until the relay holds every page's socket
                async with http.get(f"{base}/ready?run={run}") as response:
                    if await response.json() == size:
                        break
                await asyncio.sleep(0.05)
        await probe(pages, size - 1, timeout)
        t0 = await pages[0].evaluate("window.__go()")
        seconds = await all_media(pages, size - 1, t0, timeout)
        load = None
        if size == 6 and window:
            load = await upstream_and_cpu(pages[1], process_tree(who.markers[1]), window)
        return seconds, load
    finally:
        for context in contexts:
            await context.close()


# -- the runs and the report ----------------------------------------------------------------------

async def attempt(what: str, coroutine: Any) -> Any:
    try:
        return await coroutine
    except Stalled as e:
        print(f"  {what} stalled: {e}", file=sys.stderr, flush=True)
        return None


async def measure_sizes(args: argparse.Namespace, who: Participants, groups: ProximaGroups,
                        floor_base: str, kbps: int, results: dict[int, list[tuple[float, float]]],
                        loads: list[tuple[tuple[float, float], tuple[float, float]]]) -> None:
    """Each size's runs (Proxima then the floor); upstream and CPU in the first counted run at 6."""
    run_ids = itertools.count(1)
    for size in args.sizes:
        rows = results.setdefault(size, [])
        tries = 0
        while len(rows) < args.runs and tries < 3 * args.runs + args.warmup:
            tries += 1
            counted = tries > args.warmup
            window = args.window if counted and not loads else 0
            proxima = await attempt(f"proxima {size}", groups.run(
                who, size, args.timeout, window))
            floor = (float("nan"), None) if args.no_floor else await attempt(
                f"floor {size}", floor_run(who, floor_base, next(run_ids), size, kbps,
                                           args.timeout, window))
            print(f"{size} participants, "
                  f"{'run' if counted else 'warm-up (not counted)'}: proxima "
                  f"{proxima and round(proxima[0], 2)} s, floor "
                  f"{floor and round(floor[0], 2)} s", file=sys.stderr, flush=True)
            if counted and proxima and floor:
                rows.append((proxima[0], floor[0]))
                if proxima[1] and floor[1]:
                    loads.append((proxima[1], floor[1]))


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    results: dict[int, list[tuple[float, float]]] = {}
    loads: list[tuple[tuple[float, float], tuple[float, float]]] = []
    with tempfile.TemporaryDirectory(prefix="proxima-bench-") as tmp:
        base, app, runner, client_ssl = await start_proxima(Path(tmp))
        kbps = app[CONFIG].upstream_kbps
        floor_base, floor_runner = await start_floor_server(FLOOR_PAGE)
        api = Api(base, client_ssl)
        who = Participants(args.no_silence_restart)
        try:
            await make_worker(app, api)
            groups = ProximaGroups(base, api)
            async with async_playwright() as playwright:
                try:
                    await who.launch(playwright, max(args.sizes))
                    await measure_sizes(args, who, groups, floor_base, kbps, results, loads)
                finally:
                    await who.close()
        finally:
            await api.session.close()
            await floor_runner.cleanup()
            await runner.cleanup()
    report(results, loads, kbps)


def report(results: dict[int, list[tuple[float, float]]],
           loads: list[tuple[tuple[float, float], tuple[float, float]]], kbps: int) -> None:
    print("\nFrom 'Let everyone in' until every link carries media (seconds):")
    print(f"{'size':>4}  {'runs':>4}  {'proxima median':>14}  {'p90':>6}  {'floor median':>12}"
          f"  {'ratio':>5}")
    for size, rows in results.items():
        if not rows:
            print(f"{size:>4}  {0:>4}  (every attempt stalled)")
            continue
        proxima = [p for p, _ in rows]
        floor = [f for _, f in rows]
        pm, fm = statistics.median(proxima), statistics.median(floor)
        print(f"{size:>4}  {len(rows):>4}  {pm:>14.2f}  {p90(proxima):>6.2f}  {fm:>12.2f}  "
              f"{pm / fm:>5.2f}")
    for size, rows in results.items():
        if rows:
            print(f"{size} participants: median {statistics.median(p for p, _ in rows):.2f} s")
    if loads:
        (up, cpu), (floor_up, floor_cpu) = loads[0]
        print(f"\nAt 6, one person over the window: upstream {up:.0f} kbit/s (budget {kbps}; "
              f"floor {floor_up:.0f}), CPU {cpu:.0f} % of one core (floor {floor_cpu:.0f} %, "
              f"ratio {cpu / floor_cpu:.2f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="counted runs per size (default 3)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="uncounted warm-up runs per size first (default 1)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 4, 5, 6],
                        help="room sizes, 3 to 6 (default 3 4 5 6)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds a page may take to have media on every link (default 60)")
    parser.add_argument("--window", type=float, default=10,
                        help="seconds over which upstream and CPU are measured at 6 (default 10)")
    parser.add_argument("--no-silence-restart", action="store_true",
                        help="pages skip the ICE restart their silence watch asks for (a test of "
                             "that suspect; ICE's own restarts still run)")
    parser.add_argument("--no-floor", action="store_true", help="Proxima only (no floor runs)")
    arguments = parser.parse_args()
    if arguments.runs < 1 or arguments.warmup < 0 or not all(
            3 <= s <= 6 for s in arguments.sizes):
        parser.error("--runs must be at least 1, --warmup at least 0, sizes from 3 to 6")
    asyncio.run(main(arguments))
