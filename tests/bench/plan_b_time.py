"""Plan B time: from the moment the media path is cut to the phone being offered on both sides.

Run it (from the repository root, as root, in a loopback-only network namespace like `make test`):

    unshare --net -- sh -c 'ip link set lo up &&
      exec .venv/bin/python tests/bench/plan_b_time.py --runs 5'

Each run: a real Proxima in-process (as tests/bench/join_time.py starts it), a worker's page and a
person's page in Debian's Chromium, let in, video flowing both ways; then nft drops every UDP
packet and every TCP packet not to or from Proxima's port (the signalling stays up, as in
tests/test_plan_b.py) and t0 is taken. For each page it records when the phone step becomes
visible, and, as the floor measured in the same run, when the browser's own ICE state first says
'disconnected' (what Proxima waited for before, plus a 10 s timer). It prints one row per run,
the medians, and the ratio of the phone offer (the later side) to that ICE floor.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from join_time import (
    CHROMIUM_ARGS,
    EMAIL,
    PASSWORD,
    Api,
    make_worker,
    new_appointment,
    new_context,
    start_proxima,
)
from playwright.async_api import async_playwright

TABLE = "proxima_bench_cut"

# Before any page script: remember the first time ICE said 'disconnected' or 'failed'.
WATCH_ICE = """(() => {
    const Original = window.RTCPeerConnection;
    window.__iceDown = 0;
    window.RTCPeerConnection = function (...args) {
        const pc = new Original(...args);
        pc.addEventListener('iceconnectionstatechange', () => {
            if (!window.__iceDown && ['disconnected', 'failed'].includes(pc.iceConnectionState))
                window.__iceDown = Date.now();
        });
        return pc;
    };
    window.RTCPeerConnection.prototype = Original.prototype;
})();"""

PHONE_SHOWN = """() => new Promise(resolve => {
    const step = document.getElementById('phone-step');
    const look = () => step && !step.hidden ? resolve(Date.now()) : setTimeout(look, 20);
    look();
})"""

FRAMES = "Number(document.getElementById('quality').dataset.framesDecoded || 0)"


def nft(*commands: str) -> None:
    for command in commands:
        subprocess.run(["sh", "-c", "nft " + command], check=True)


def cut(port: int) -> None:
    nft(f"add table inet {TABLE}",
        f"add chain inet {TABLE} in '{{ type filter hook input priority 0; }}'",
        f"add rule inet {TABLE} in meta l4proto udp drop",
        f"add rule inet {TABLE} in tcp dport {port} accept",
        f"add rule inet {TABLE} in tcp sport {port} accept",
        f"add rule inet {TABLE} in meta l4proto tcp drop")


def heal() -> None:
    subprocess.run(["sh", "-c", f"nft delete table inet {TABLE}"], stderr=subprocess.DEVNULL)


async def wait_frames(page: Any) -> None:
    deadline = time.monotonic() + 20
    while await page.evaluate(FRAMES) < 30:
        if time.monotonic() > deadline:
            raise RuntimeError("no video before the cut")
        await asyncio.sleep(0.2)


async def one_run(browser: Any, base: str, api: Api, n: int) -> tuple[float, float, float, float]:
    appointment_id, link = await new_appointment(api, n)
    person_ctx = await new_context(browser, ignore_https_errors=True, locale="fr-FR")
    worker_ctx = await new_context(browser, ignore_https_errors=True, locale="fr-FR")
    try:
        for ctx in (person_ctx, worker_ctx):
            await ctx.add_init_script(WATCH_ICE)
        person = await person_ctx.new_page()
        await person.goto(link)
        await person.locator("#consent-form input[name=modality][value=video]").check()
        await person.locator("#consent-form button[type=submit]").click()
        await person.locator("#waiting-step").wait_for(state="visible")
        await worker_ctx.request.post(base + "/api/session", headers={
            "Origin": base, "Accept": "application/json"},
            data={"email": EMAIL, "password": PASSWORD})
        worker = await worker_ctx.new_page()
        await worker.goto(f"{base}/appointments/{appointment_id}/live")
        await worker.locator("#checklist-form input[name=quiet]").check()
        await worker.locator("#checklist-form input[name=confidential]").check()
        await worker.locator("#checklist-form button[type=submit]").click()
        await worker.locator("#lobby-list .admit").click()
        await wait_frames(worker)
        await wait_frames(person)
        cut(int(base.rsplit(":", 1)[1]))
        t0 = time.time() * 1000
        try:
            shown = await asyncio.wait_for(asyncio.gather(
                worker.evaluate(PHONE_SHOWN), person.evaluate(PHONE_SHOWN)), 60)
            ice = [await p.evaluate("window.__iceDown") for p in (worker, person)]
        finally:
            heal()
        return (shown[0] - t0, shown[1] - t0, (ice[0] or float("nan")) - t0,
                (ice[1] or float("nan")) - t0)
    finally:
        await worker_ctx.close()
        await person_ctx.close()


async def main(runs: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory(prefix="proxima-bench-") as tmp:
        base, app, runner, client_ssl = await start_proxima(Path(tmp))
        api = Api(base, client_ssl)
        try:
            await make_worker(app, api)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                                   headless=True, args=CHROMIUM_ARGS)
                try:
                    for n in range(1, runs + 1):
                        row = await one_run(browser, base, api, n)
                        rows.append(row)
                        print(f"run {n}: " + ", ".join(f"{v:.0f}" for v in row) + " ms",
                              file=sys.stderr, flush=True)
                finally:
                    await browser.close()
        finally:
            await api.session.close()
            await runner.cleanup()
    heads = ("run", "phone worker ms", "phone person ms", "ICE down worker", "ICE down person")
    print("  ".join(f"{h:>16}" if i else f"{h:>4}" for i, h in enumerate(heads)))
    for i, row in enumerate(rows, 1):
        print(f"{i:>4}  " + "  ".join(f"{v:16.0f}" for v in row))
    columns = list(zip(*rows, strict=True))
    print(" med  " + "  ".join(f"{statistics.median(c):16.0f}" for c in columns))
    phone = statistics.median(max(r[0], r[1]) for r in rows)
    ice = statistics.median(min(r[2], r[3]) for r in rows)
    print(f"\ncut -> phone offered on both sides: median {phone / 1000:.1f} s; cut -> ICE "
          f"'disconnected' (floor, first side): median {ice / 1000:.1f} s; ratio {phone / ice:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="number of runs (default 5)")
    args = parser.parse_args()
    asyncio.run(main(args.runs))
