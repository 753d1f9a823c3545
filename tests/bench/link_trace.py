"""What the group benchmark shows of a stalled link: each page's peer connections, their
transceivers and media counters, and a short log of what happened on them (descriptions set,
ICE restarts and who asked for them, state changes, warnings, signalling socket events).

Benchmark-only: ``LINK_TRACE`` is an init script added after tests/live_helpers.py's
RECORD_PEER_CONNECTIONS; ``LINK_STATES`` is evaluated in a page when an attempt stalls.
The two ends of a link are matched by their ICE username fragments (one side's local ufrag is
the other's remote one).
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any

# Installed before the page's scripts. window.__log: [epoch ms, pc index
# (-1: the page), what, detail]. window.__noSilenceRestart (set by the bench) makes the link's
# restartIce a no-op when it was asked by the quality monitor's silence watch (call.js), to test
# that suspect; ICE's own 'failed'/'disconnected' restarts still run.
LINK_TRACE = """(() => {
    const log = window.__log = [];
    const note = (pc, what, detail) => {
        if (log.length < 6000) log.push([Math.round(performance.timeOrigin + performance.now()),
                                         pc, what, detail || '']);
    };
    const index = pc => (window.__pcs || []).indexOf(pc);
    const ufrag = sdp => ((sdp || '').match(/a=ice-ufrag:(\\S+)/) || [])[1] || '';
    const Recorded = window.RTCPeerConnection, proto = Recorded.prototype;
    window.RTCPeerConnection = function (...args) {
        const pc = new Recorded(...args);
        const i = index(pc);
        note(i, 'created', '');
        for (const e of ['signalingstatechange', 'iceconnectionstatechange',
                         'connectionstatechange', 'negotiationneeded']) {
            pc.addEventListener(e, () => note(i, e, e === 'negotiationneeded' ? '' :
                pc.signalingState + '/' + pc.iceConnectionState + '/' + pc.connectionState));
        }
        pc.addEventListener('track', ev => {
            note(i, 'track', ev.track.kind + ' muted=' + ev.track.muted);
            ev.track.addEventListener('mute', () => note(i, 'track-mute', ev.track.kind));
            ev.track.addEventListener('unmute', () => note(i, 'track-unmute', ev.track.kind));
        });
        return pc;
    };
    window.RTCPeerConnection.prototype = proto;
    for (const name of ['setLocalDescription', 'setRemoteDescription']) {
        const real = proto[name];
        proto[name] = function (d) {
            const i = index(this), type = d ? d.type : '(implicit)';
            note(i, name, type + ' from ' + this.signalingState);
            return real.apply(this, arguments).then(
                r => { const x = name === 'setLocalDescription' ? this.localDescription :
                                                                  this.remoteDescription;
                       note(i, name + ' ok', (x ? x.type + ' ufrag=' + ufrag(x.sdp) : '') +
                            ' now ' + this.signalingState);
                       return r; },
                e => { note(i, name + ' FAILED', String(e)); throw e; });
        };
    }
    const realRestart = proto.restartIce;
    proto.restartIce = function () {
        note(index(this), 'restartIce', this.signalingState);
        return realRestart.apply(this, arguments);
    };
    let peerClass;
    Object.defineProperty(window, 'ProximaPeer', {configurable: true, get: () => peerClass,
        set: cls => {
            peerClass = cls;
            const real = cls.prototype.restartIce;
            cls.prototype.restartIce = function () {
                const stack = new Error().stack || '';
                const bySilence = !/gotIceState/.test(stack);
                note(index(this.pc), 'session.restartIce',
                     bySilence ? 'silence watch' : 'ICE state');
                if (bySilence && window.__noSilenceRestart) return;
                return real.apply(this, arguments);
            };
        }});
    for (const level of ['warn', 'error']) {
        const real = console[level];
        console[level] = function (...args) {
            note(-1, 'console.' + level, args.map(a => String(a && a.stack || a)).join(' '));
            return real.apply(this, args);
        };
    }
    const RealSocket = window.WebSocket;
    window.WebSocket = function (...args) {
        const ws = new RealSocket(...args);
        const send = ws.send;
        ws.send = function (data) {
            try {
                const m = JSON.parse(data);
                if (m.type === 'signal')
                    note(-1, 'ws send signal', m.to + ' ' + (m.description ?
                        m.description.type : 'candidate'));
            } catch (x) { /* not ours */ }
            return send.apply(this, arguments);
        };
        ws.addEventListener('open', () => note(-1, 'ws open', ''));
        ws.addEventListener('close', e => note(-1, 'ws close', String(e.code)));
        ws.addEventListener('message', e => {
            try {
                const m = JSON.parse(e.data);
                if (m.type === 'signal')
                    note(-1, 'ws signal', m.from + ' ' + (m.description ? m.description.type :
                                                          'candidate'));
                else if (m.type !== 'pong')
                    note(-1, 'ws ' + m.type, m.peer || m.from || '');
            } catch (x) { /* not ours */ }
        });
        return ws;
    };
    window.WebSocket.prototype = RealSocket.prototype;
    Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})()"""

# Evaluated on a stall: every peer connection of the page as it is now.
LINK_STATES = """async () => {
    const ufrag = d => ((d && d.sdp || '').match(/a=ice-ufrag:(\\S+)/) || [])[1] || '';
    const out = [];
    for (const [i, pc] of (window.__pcs || []).entries()) {
        const media = {};
        let pair = '';
        try {
            (await pc.getStats()).forEach(s => {
                if (s.type === 'inbound-rtp' || s.type === 'outbound-rtp') {
                    media[s.type + ' ' + s.kind] = Object.fromEntries(Object.entries(s).filter(
                        ([k]) => ['packetsReceived', 'bytesReceived', 'framesReceived',
                                  'framesDecoded', 'keyFramesDecoded', 'pliCount', 'firCount',
                                  'nackCount', 'packetsSent', 'framesEncoded', 'framesSent',
                                  'keyFramesEncoded', 'qualityLimitationReason', 'active',
                                  'frameHeight', 'framesDropped'].includes(k)));
                }
                if (s.type === 'transport') pair = s.selectedCandidatePairId || '';
            });
        } catch (e) { /* closed */ }
        out.push({pc: i, signaling: pc.signalingState, ice: pc.iceConnectionState,
                  connection: pc.connectionState, localUfrag: ufrag(pc.localDescription),
                  remoteUfrag: ufrag(pc.remoteDescription), selectedPair: pair,
                  transceivers: pc.getTransceivers().map(t => ({
                      mid: t.mid, kind: t.receiver.track.kind, direction: t.direction,
                      currentDirection: t.currentDirection,
                      sending: t.sender.track ? t.sender.track.kind + ' ' +
                          t.sender.track.readyState + (t.sender.track.enabled ? '' : ' disabled')
                          : 'none',
                      receiverMuted: t.receiver.track.muted,
                      encoding: JSON.stringify((t.sender.getParameters().encodings || [])[0])})),
                  media});
    }
    return {now: Math.round(performance.timeOrigin + performance.now()), pcs: out,
            firstVideo: window.__firstVideo || {}, log: window.__log || []};
}"""


def machine_cpu() -> tuple[int, int]:
    """The machine's (busy, total) clock ticks so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def load_figures(since: tuple[int, int]) -> str:
    """The load average and the machine's CPU use (both cores) since ``since``."""
    busy, total = machine_cpu()
    share = (busy - since[0]) / max(1, total - since[1]) * 100
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"machine CPU {share:.0f} % of {os.cpu_count()} cores since t0, load average {load}"


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return (f"median {statistics.median(ordered):.1f} s, p90 "
            f"{ordered[int(0.9 * (len(ordered) - 1))]:.1f} s, max {ordered[-1]:.1f} s")


def signalling_figures(dumps: list[dict[str, Any]]) -> str:
    """How long a signal took from one page to another (through the server and both pages'
    main threads), and how long the browsers took to apply a description: on a starved machine
    these, not the network, set the pace."""
    pages = [{e[3] for e in dump["log"] if e[2] == "ws admitted"} for dump in dumps]
    everyone = set().union(*pages)
    ids = [next(iter(everyone - peers)) if len(everyone - peers) == 1 else "?"
           for peers in pages] if everyone else [str(p) for p in range(len(dumps))]  # floor
    sent: dict[tuple[str, str, str], list[int]] = {}
    for p, dump in enumerate(dumps):
        for e in dump["log"]:
            if e[2] == "ws send signal":
                to, kind = e[3].split(" ")
                sent.setdefault((ids[p], to, kind), []).append(e[0])
    relay, applied = [], []
    for p, dump in enumerate(dumps):
        seen: dict[tuple[str, str, str], int] = {}
        calls: dict[tuple[int, str], int] = {}
        for e in dump["log"]:
            if e[2] == "ws signal":
                sender, kind = e[3].split(" ")
                key = (sender, ids[p], kind)
                n = seen[key] = seen.get(key, -1) + 1
                if n < len(sent.get(key, [])):
                    relay.append((e[0] - sent[key][n]) / 1000)
            elif e[2] in ("setLocalDescription", "setRemoteDescription"):
                calls[(e[1], e[2])] = e[0]
            elif e[2].endswith(" ok") and (e[1], e[2][:-3]) in calls:
                applied.append((e[0] - calls.pop((e[1], e[2][:-3]))) / 1000)
    return f"a signal page to page: {spread(relay)}; a description applied: {spread(applied)}"


def late_links(dumps: list[dict[str, Any]], deadline: float) -> list[str]:
    """Per page, its links without video at ``deadline`` (epoch ms): when they connected, and
    when the probe saw their first frame ("not seen": not while it watched)."""
    lines = []
    for p, dump in enumerate(dumps):
        connected: dict[int, int] = {}
        for e in dump["log"]:
            if e[2] == "connectionstatechange" and e[3].endswith("/connected"):
                connected.setdefault(e[1], e[0])
        for pc in dump["pcs"]:
            first = dump.get("firstVideo", {}).get(str(pc["pc"]))
            if pc["connection"] == "closed" or (first and first <= deadline):
                continue
            at = {k: f"{(v - deadline) / 1000:+.1f} s" if v else "not seen"
                  for k, v in (("connected", connected.get(pc["pc"])), ("first video", first))}
            lines.append(f"  page {p} pc {pc['pc']} had no video at the deadline: connected "
                         f"{at['connected']}, first video {at['first video']} (now "
                         f"{pc['connection']}, {pc['signaling']})")
    return lines


def flowing(pc: dict[str, Any]) -> bool:
    return bool(pc["media"].get("inbound-rtp video", {}).get("framesDecoded"))


def stalled_links(dumps: list[dict[str, Any]]) -> list[str]:
    """One paragraph per open link without decoded video now, its other end and both logs."""
    start = min((e[0] for dump in dumps for e in dump["log"]), default=0)
    ends = {(p, pc["localUfrag"], pc["remoteUfrag"]): (p, pc)
            for p, dump in enumerate(dumps) for pc in dump["pcs"]}
    lines = []
    for p, dump in enumerate(dumps):
        for pc in dump["pcs"]:
            if pc["connection"] == "closed" or flowing(pc):
                continue
            other = next(((q, qc) for (q, lu, ru), (_, qc) in ends.items()
                          if q != p and lu and lu == pc["remoteUfrag"]), None)
            far = f"page {other[0]} pc {other[1]['pc']}" if other else "?"
            lines.append(f"page {p} pc {pc['pc']} (no video decoded) <-> {far}")
            for q, end in [(p, pc), *([other] if other else [])]:
                lines.append(f"  page {q} pc {end['pc']}: " + json.dumps(
                    {k: v for k, v in end.items() if k != "pc"}))
                lines.extend(f"    {e[0] - start:>7} ms  {e[2]} {e[3]}" for e in dumps[q]["log"]
                             if e[1] in (end["pc"], -1))
    return lines


def summary(dumps: list[dict[str, Any]]) -> str:
    """How often the things that can upset a link happened, over every page of an attempt."""
    counts: dict[str, int] = {}
    for dump in dumps:
        for _, _, what, detail in dump["log"]:
            key = {"session.restartIce": f"restarts by {detail}",
                   "console.warn": "warnings", "ws close": "signalling closed"}.get(what)
            if what.endswith("FAILED"):
                key = what
            elif what == "iceconnectionstatechange" and detail.split("/")[1] in (
                    "disconnected", "failed"):
                key = "ICE " + detail.split("/")[1]
            if key:
                counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing unusual"
