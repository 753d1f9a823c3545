"""Connection-test capacity: the server's CPU per echo session at 1, 2, 4 and 8 concurrent tests.

Run it (from the repository root, as root, in a loopback-only network namespace like `make test`):

    unshare --net -- sh -c 'ip link set lo up &&
        exec .venv/bin/python tests/bench/test_peer_capacity.py'

This is a benchmark script, not a test module: pytest does not collect ``tests/bench``
(``norecursedirs`` in pyproject.toml) and it defines no test functions.

What it measures. The connection test is a server-side aiortc peer
(``server.media.echo_peer.EchoPeers``) that sends the person's camera and microphone straight back;
aiortc decodes what it receives and re-encodes what it sends, so each test costs the server CPU.
Here:

* The server process (this process) runs the real ``EchoPeers`` with the default settings
  (``settings.load(environ={})``, no TURN, no STUN) and ``test_peers_max=64``, behind a tiny
  aiohttp endpoint on 127.0.0.1 (POST /offer -> ``EchoPeers.answer`` -> answer SDP). aiortc
  gathers its candidates inside setLocalDescription, so no trickle is needed.
* The clients run in a separate process (this script with ``--client``), so their cost never
  lands on the server's figure. Each client is an aiortc peer (``iceServers=[]``) that sends what
  the test page asks a browser for: 320x240 VP8 at 15 fps, pre-encoded once at start (a moving
  gradient with a moving square and light sensor-like noise, a keyframe every 2 s, ``--bitrate``
  bit/s), so the clients do not encode video at all, plus aiortc's silent AudioStreamTrack (Opus).
  Each client counts the video and audio frames it gets back, which shows the echo really flows.
* For N = 1, 2, 4, 8 (``--sessions``) fresh sessions are started at once; once every one has
  received its first echoed frame, ``--warmup`` seconds pass, then the server's CPU time
  (``time.process_time()``: user + system of all its threads, the codec threads included) is
  taken over a ``--window`` second steady window, together with the frames each client received
  in the same window. The sessions are then closed before the next N. A batch lasts well under the
  45 s a test peer is allowed to live.

It prints one row per N: server CPU in % of one core (total and per session), the server's
event-loop thread alone (aiortc does its RTP, SRTP, jitter buffers and, per audio frame, a
pure-Python audio level in that one thread: it bounds what one process can do, whatever the number
of cores), the echoed video fps per session seen by the clients (mean and minimum), echoed audio
frames per second, the upstream loss the server measured, the client process's CPU and the CPU
the rest of the machine used meanwhile (other load; both compete with the server on a small
machine), then "tests per core ~ 100 / (CPU % per session at the largest N)" and, when the echo
was not at full rate there, the best estimate from the largest N that was. All traffic stays on
127.0.0.1; the script stops by itself (about a minute and a quarter with the defaults), closes
every peer and ends its child process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[2]
sys.path.insert(0, str(ROOT))

import aioice.ice
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

COMMAND = ("unshare --net -- sh -c 'ip link set lo up && exec .venv/bin/python "
           "tests/bench/test_peer_capacity.py'")
WIDTH, HEIGHT, FPS = 320, 240, 15  # what web/static/connection-test.js asks the browser for
VIDEO_CLOCK = 90_000
GOP = 2 * FPS  # a keyframe every 2 s in the pre-encoded loop
LOOP_SECONDS = 10
PREFIX = "@@ "  # protocol lines between the two processes start with it; anything else is ignored
READY_TIMEOUT = 25.0
OVERALL_TIMEOUT = 170.0  # the whole run, parent side
CHILD_WATCHDOG = 200.0  # the client process gives up by itself after this long


# --------------------------------------------------------------------------------------- client

def pre_encode(bitrate: int) -> list[bytes]:
    """LOOP_SECONDS of 320x240 VP8 at 15 fps, encoded once, a keyframe every GOP frames."""
    ctx = av.CodecContext.create("libvpx", "w")
    ctx.width, ctx.height, ctx.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    ctx.time_base = fractions.Fraction(1, FPS)
    ctx.framerate = fractions.Fraction(FPS, 1)
    ctx.bit_rate = bitrate
    ctx.gop_size = GOP
    ctx.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                   "minrate": str(bitrate), "maxrate": str(bitrate), "bufsize": str(bitrate)}
    rng = np.random.default_rng(1)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    packets: list[bytes] = []
    for i in range(LOOP_SECONDS * FPS):
        img = np.empty((HEIGHT, WIDTH, 3), dtype=np.int16)
        img[..., 0] = (xs + 4 * i) % 256
        img[..., 1] = (ys + 2 * i) % 256
        img[..., 2] = 128
        x0, y0 = (20 + 6 * i) % (WIDTH - 60), (30 + 3 * i) % (HEIGHT - 60)
        img[y0:y0 + 60, x0:x0 + 60] = 235
        img += rng.integers(-4, 5, size=img.shape, dtype=np.int16)
        frame = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = i
        if i % GOP == 0:
            frame.pict_type = av.video.frame.PictureType.I
        out = ctx.encode(frame)
        if i % GOP == 0:
            assert out and out[0].is_keyframe, "the loop needs a keyframe every GOP frames"
        packets.extend(bytes(p) for p in out)
    packets.extend(bytes(p) for p in ctx.encode(None))
    assert len(packets) == LOOP_SECONDS * FPS, len(packets)
    return packets


class PreEncodedVideo(MediaStreamTrack):
    """Sends the pre-encoded VP8 loop at 15 fps: aiortc packetises it without encoding."""

    kind = "video"

    def __init__(self, packets: list[bytes]) -> None:
        super().__init__()
        self.packets = packets
        self.index = 0
        self.start: float | None = None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.time()  # the first frame sent is frame 0, a keyframe
        else:
            await asyncio.sleep(max(0.0, self.start + self.index / FPS - time.time()))
        packet = av.Packet(self.packets[self.index % len(self.packets)])
        packet.pts = self.index * (VIDEO_CLOCK // FPS)
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.index += 1
        return packet


class Client:
    """One test page stand-in: offers video + audio, counts what comes back."""

    def __init__(self, key: str, packets: list[bytes]) -> None:
        self.key = key
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # never the public STUN
        self.video = 0
        self.audio = 0
        self.size = (0, 0)
        self.first_video: asyncio.Future = asyncio.get_running_loop().create_future()
        self.tasks: list[asyncio.Task] = []
        self.pc.addTrack(PreEncodedVideo(packets))
        self.pc.addTrack(AudioStreamTrack())
        self.pc.on("track", self._on_track)

    def _on_track(self, track: Any) -> None:
        self.tasks.append(asyncio.ensure_future(self._count(track)))

    async def _count(self, track: Any) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.video += 1
                    self.size = (frame.width, frame.height)
                    if not self.first_video.done():
                        self.first_video.set_result(None)
                else:
                    self.audio += 1

    async def connect(self, http: Any, url: str) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with http.post(url, json={"key": self.key, "sdp": self.pc.localDescription.sdp}) as r:
            body = await r.json()
            if r.status != 200:
                raise RuntimeError(f"offer refused: {r.status} {body}")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="answer"))
        await self.first_video

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.pc.close()


def say(**msg: Any) -> None:
    sys.stdout.write(PREFIX + json.dumps(msg) + "\n")
    sys.stdout.flush()


async def client_main(url: str, bitrate: int) -> None:
    import aiohttp

    packets = pre_encode(bitrate)
    kbps = round(sum(map(len, packets)) * 8 / LOOP_SECONDS / 1000)
    say(event="encoded", frames=len(packets), kbps=kbps)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clients: list[Client] = []
    async with aiohttp.ClientSession() as http:
        try:
            while True:
                line = await reader.readline()
                if not line:  # the parent went away
                    return
                cmd = json.loads(line)
                if cmd["cmd"] == "start":
                    t0 = time.monotonic()
                    clients = [Client(f"bench-{cmd['n']}-{i}", packets) for i in range(cmd["n"])]
                    try:
                        await asyncio.wait_for(
                            asyncio.gather(*(c.connect(http, url) for c in clients)), READY_TIMEOUT)
                        say(event="ready", seconds=round(time.monotonic() - t0, 2))
                    except Exception as exc:  # noqa: BLE001 - reported to the parent
                        say(event="failed", error=f"{type(exc).__name__}: {exc}",
                            states=[c.pc.connectionState for c in clients])
                elif cmd["cmd"] == "mark":
                    say(event="mark", t=time.monotonic(), cpu=time.process_time(),
                        video=[c.video for c in clients], audio=[c.audio for c in clients],
                        sizes=[list(c.size) for c in clients])
                elif cmd["cmd"] == "stop":
                    await asyncio.gather(*(c.close() for c in clients))
                    clients = []
                    say(event="stopped")
                elif cmd["cmd"] == "quit":
                    return
        finally:
            await asyncio.gather(*(c.close() for c in clients))


# --------------------------------------------------------------------------------------- server

CLK_TCK = os.sysconf("SC_CLK_TCK")


def loop_thread_cpu() -> float:
    """CPU seconds of this process's main thread, the one running the asyncio event loop."""
    try:
        fields = Path(f"/proc/self/task/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, all cores, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return float("nan"), float("nan")
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total

class ClientProcess:
    """The client process and its line protocol."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()

    async def expect(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(),
                                          max(0.1, deadline - time.monotonic()))
            if not line:
                raise RuntimeError("the client process ended")
            text = line.decode(errors="replace")
            if text.startswith(PREFIX):
                return json.loads(text[len(PREFIX):])

    async def end(self) -> None:
        if self.proc.returncode is not None:
            return
        with contextlib.suppress(Exception):
            await self.send(cmd="quit")
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 3)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def measure(client: ClientProcess, peers: Any, n: int, warmup: float,
                  window: float) -> dict[str, Any]:
    await client.send(cmd="start", n=n)
    reply = await client.expect(READY_TIMEOUT + 5)
    if reply["event"] != "ready":
        raise RuntimeError(f"N={n}: sessions did not start: {reply}")
    assert peers.live == n, (peers.live, n)
    await asyncio.sleep(warmup)
    await client.send(cmd="mark")
    cpu0, t0 = time.process_time(), time.monotonic()
    loop0, busy0 = loop_thread_cpu(), machine_busy()
    m0 = await client.expect(5)
    await asyncio.sleep(window)
    cpu1, t1 = time.process_time(), time.monotonic()
    loop1, busy1 = loop_thread_cpu(), machine_busy()
    await client.send(cmd="mark")
    m1 = await client.expect(5)
    # After the window: what the server received (upstream loss), not counted in the CPU figure.
    stats = [await peers.measure(peer_key(f"bench-{n}-{i}")) for i in range(n)]
    live = peers.live
    await client.send(cmd="stop")
    await client.expect(15)
    await peers.close_all()
    await asyncio.sleep(1.0)

    dt_client = m1["t"] - m0["t"]
    video_fps = [(b - a) / dt_client for a, b in zip(m0["video"], m1["video"], strict=False)]
    audio_fps = [(b - a) / dt_client for a, b in zip(m0["audio"], m1["audio"], strict=False)]
    losses = [s["loss"] for s in stats if s.get("loss") is not None]
    cpu = 100 * (cpu1 - cpu0) / (t1 - t0)
    client_cpu = 100 * (m1["cpu"] - m0["cpu"]) / dt_client
    # Everything else the machine did meanwhile (other processes), in % of one core.
    busy = 100 * (os.cpu_count() or 1) * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    return {"n": n, "ready_s": reply["seconds"], "live": live, "cpu": cpu, "per": cpu / n,
            "fps_mean": statistics.fmean(video_fps), "fps_min": min(video_fps),
            "audio_fps": statistics.fmean(audio_fps),
            "loss": max(losses) if losses else float("nan"),
            "client_cpu": client_cpu, "loop": 100 * (loop1 - loop0) / (t1 - t0),
            "other": max(0.0, busy - cpu - client_cpu),
            "sizes": sorted({tuple(s) for s in m1["sizes"]})}


_PEER_KEYS: dict[str, Any] = {}


def peer_key(name: str) -> Any:
    """The echo peers are keyed by participant id: one per load-client session name."""
    from server.domain.ids import ParticipantId
    return _PEER_KEYS.setdefault(name, ParticipantId.tester(len(_PEER_KEYS) + 1))


def cpu_model() -> str:
    """The processor's model name from /proc/cpuinfo, for the report's header."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return "?"
    names = (line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name"))
    return next(names, platform.processor() or "?")


async def server_main(args: argparse.Namespace) -> None:
    from aiohttp import web

    from server.base import settings
    from server.domain.protocol import Refused
    from server.media import audio_level
    from server.media.echo_peer import EchoPeers

    audio_level.install()  # as the server does at start-up
    config = settings.load(environ={}).replace(test_peers_max=64)
    peers = EchoPeers(config)

    async def offer(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            sdp = await peers.answer(peer_key(str(body["key"])), str(body["sdp"]))
        except Refused as exc:
            return web.json_response({"error": exc.code, "message": exc.message}, status=409)
        return web.json_response({"sdp": sdp})

    app = web.Application()
    app.router.add_post("/offer", offer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/offer"

    print(f"command: {COMMAND}")
    model = await asyncio.to_thread(cpu_model)
    print(f"machine: {os.cpu_count()} cores ({model}); Python {platform.python_version()}, "
          f"aiortc {__import__('aiortc').__version__}, PyAV {av.__version__}")
    print(f"clients: separate process, pre-encoded VP8 {WIDTH}x{HEIGHT}@{FPS} + silent Opus; "
          f"warm-up {args.warmup:g} s, window {args.window:g} s")

    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), "--client", url,
        "--bitrate", str(args.bitrate), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    client = ClientProcess(proc)
    rows: list[dict[str, Any]] = []
    try:
        encoded = await client.expect(30)
        print(f"client stream: {encoded['frames']} frames looped, ~{encoded['kbps']} kbit/s VP8")
        # The server idle, for reference (event loop, HTTP endpoint, nothing else).
        cpu0, t0 = time.process_time(), time.monotonic()
        await asyncio.sleep(2.0)
        idle = 100 * (time.process_time() - cpu0) / (time.monotonic() - t0)
        print(f"server idle: {idle:.1f} % of one core\n")
        header = (f"{'N':>3} {'server CPU %':>12} {'% / session':>11} {'loop thread %':>13} "
                  f"{'echo fps/session':>16} {'min fps':>7} {'audio f/s':>9} {'up loss':>7} "
                  f"{'client CPU %':>12} {'other load %':>12} {'setup s':>7}")
        print(header)
        print("-" * len(header))
        for n in args.sessions:
            row = await measure(client, peers, n, args.warmup, args.window)
            rows.append(row)
            print(f"{row['n']:>3} {row['cpu']:>12.1f} {row['per']:>11.1f} {row['loop']:>13.1f} "
                  f"{row['fps_mean']:>16.1f} {row['fps_min']:>7.1f} {row['audio_fps']:>9.1f} "
                  f"{row['loss']:>7.3f} {row['client_cpu']:>12.1f} {row['other']:>12.1f} "
                  f"{row['ready_s']:>7.2f}", flush=True)
            if row["sizes"] != [(WIDTH, HEIGHT)]:
                print(f"    echoed frame sizes: {row['sizes']}")
    finally:
        await client.end()
        await peers.close_all()
        await runner.cleanup()

    if rows:
        last = rows[-1]
        print()
        print(f"tests per core ~ 100 / {last['per']:.1f} (CPU % per session at N={last['n']}) "
              f"= {100 / last['per']:.1f}")
        # Full rate: every session's video at >= 90 % of 15 fps, audio at >= 90 % of 50 frames/s
        # (20 ms Opus frames) and no upstream loss to speak of.
        healthy = [r for r in rows if r["fps_min"] >= 0.9 * FPS and r["audio_fps"] >= 45
                   and not r["loss"] > 0.01]
        if last not in healthy:
            print(f"  caution: at N={last['n']} the echo was not at full rate (slowest video "
                  f"{last['fps_min']:.1f} fps of {FPS}, audio {last['audio_fps']:.1f} "
                  f"of 50 frames/s, upstream loss {last['loss']:.3f}): the server was saturated, "
                  f"so this is not a capacity.")
            if healthy:
                best = healthy[-1]
                print(f"  best estimate: 100 / {best['per']:.1f} (CPU % per session at "
                      f"N={best['n']}, the largest N with a full-rate echo) = "
                      f"{100 / best['per']:.1f} tests per core")
            else:
                print("  no N had a full-rate echo: no estimate.")
        top = max(rows, key=lambda r: r["cpu"])
        full_rate_up_to = healthy[-1]["n"] if healthy else 0
        first = rows[0]
        print(f"one server process: its CPU peaked at {top['cpu']:.0f} % of a core "
              f"(N={top['n']}); the echo was at full rate up to N={full_rate_up_to}. "
              f"The event-loop thread alone took {first['loop'] / first['n']:.1f} % of a core "
              f"per session at N={first['n']}.")
        if max(r["client_cpu"] for r in rows) > 80 or max(r["other"] for r in rows) > 25:
            print(f"  caution: the clients or other processes used a lot of this "
                  f"{os.cpu_count()}-core machine during some windows (see the columns); "
                  f"rerun on a quiet machine.")
        print(f"peers left open: {peers.live}; client process exit code: {proc.returncode}")


def main() -> None:
    # Benchmark-only, in both processes, done here rather than at import: the benchmark runs in
    # a loopback-only network namespace and aioice leaves 127.0.0.1 out of its host candidates
    # (as tests/conftest.py does for the tests).
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,2,4,8",
                        type=lambda s: [int(x) for x in s.split(",")],
                        help="concurrent test counts to measure (default 1,2,4,8)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before the window")
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--bitrate", type=int, default=400_000,
                        help="bit/s of the clients' pre-encoded VP8 (default 400000)")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        async def guarded() -> None:
            await asyncio.wait_for(client_main(args.client, args.bitrate), CHILD_WATCHDOG)
        with contextlib.suppress(TimeoutError, KeyboardInterrupt):
            asyncio.run(guarded())
        return

    async def guarded_server() -> None:
        await asyncio.wait_for(server_main(args), OVERALL_TIMEOUT)
    asyncio.run(guarded_server())


if __name__ == "__main__":
    main()
