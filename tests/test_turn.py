"""TURN through a real coturn on loopback: ephemeral credentials in the TURN REST convention,
a relay-only call that connects through it, an expired credential refused, and the production
configuration of docs/turn.md refusing to relay to loopback, private and other special ranges."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from aioice import stun
from aioice.turn import UDP_TRANSPORT, TurnClientUdpProtocol
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from conftest import TURN_SECRET as SECRET
from conftest import free_port
from live_helpers import in_call

from server.media.turn import turn_credentials


def relay_config(ice_servers):
    return RTCConfiguration(iceServers=[RTCIceServer(**s) for s in ice_servers],
                            iceTransportPolicy=RTCIceTransportPolicy.RELAY)


async def test_relay_only_call_through_coturn(make_proxima, coturn):
    proxima = await make_proxima(turn_urls=coturn, turn_secret=SECRET, turn_ttl_seconds=600)
    call = await in_call(proxima)
    person, worker = call["person"], call["worker"]
    to_worker, to_person = call["to_worker"], call["to_person"]
    ice = person.inbox[0]["ice_servers"]
    [server] = ice
    expiry, _ = server["username"].split(":")
    assert 590 <= int(expiry) - time.time() <= 600 and server["urls"] == [coturn]

    offerer = RTCPeerConnection(relay_config(worker.inbox[0]["ice_servers"]))
    answerer = RTCPeerConnection(relay_config(ice))
    got = asyncio.get_running_loop().create_future()
    readers: list[asyncio.Future] = []  # kept, so that no reading task is collected mid-way

    @answerer.on("track")
    def on_track(track):
        async def first():
            frame = await track.recv()
            if not got.done():
                got.set_result(frame)
        readers.append(asyncio.ensure_future(first()))

    offerer.addTrack(VideoStreamTrack())
    try:
        await offerer.setLocalDescription(await offerer.createOffer())
        assert "typ relay" in offerer.localDescription.sdp
        assert "typ host" not in offerer.localDescription.sdp
        await worker.send(type="signal", to=to_person, description={
            "type": "offer", "sdp": offerer.localDescription.sdp})
        offer = await person.expect("signal")
        await answerer.setRemoteDescription(RTCSessionDescription(**offer["description"]))
        await answerer.setLocalDescription(await answerer.createAnswer())
        await person.send(type="signal", to=to_worker, description={
            "type": "answer", "sdp": answerer.localDescription.sdp})
        answer = await worker.expect("signal")
        await offerer.setRemoteDescription(RTCSessionDescription(**answer["description"]))
        frame = await asyncio.wait_for(got, 20)
        assert frame.width > 0
    finally:
        await offerer.close()
        await answerer.close()


async def test_an_expired_credential_is_refused(coturn):
    username, password = turn_credentials(SECRET, ttl_seconds=600, now=time.time() - 3600)
    expired = RTCPeerConnection(relay_config([{"urls": [coturn], "username": username,
                                               "credential": password}]))
    username, password = turn_credentials(SECRET, ttl_seconds=600)
    fresh = RTCPeerConnection(relay_config([{"urls": [coturn], "username": username,
                                             "credential": password}]))
    try:
        for pc in (expired, fresh):
            pc.addTrack(VideoStreamTrack())
        try:
            await expired.setLocalDescription(await expired.createOffer())
            sdp = expired.localDescription.sdp
        except Exception as exc:  # noqa: BLE001 - aiortc may refuse to gather at all, anyhow
            sdp = str(exc)
        assert "typ relay" not in sdp
        await fresh.setLocalDescription(await fresh.createOffer())
        assert "typ relay" in fresh.localDescription.sdp
    finally:
        await expired.close()
        await fresh.close()


# -- the production configuration of docs/turn.md: which peers the relay refuses ----------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "turn.md"

# Lines of the documented configuration that name this host, its ports, TLS files or the secret:
# the test's own values replace them (loopback only, and IPv6 too so IPv6 peers can be asked for).
REPLACED = {"listening-ip", "relay-ip", "external-ip", "listening-port", "tls-listening-port",
            "cert", "pkey", "cipher-list", "static-auth-secret", "min-port", "max-port",
            "log-file"}

# Peers the documented deny list must refuse, and what relaying to them would reach.
REFUSED = {
    "0.0.0.1": "this network", "10.0.0.1": "a private network", "100.64.0.1": "carrier NAT",
    "127.0.0.1": "the TURN host", "169.254.169.254": "the cloud metadata service",
    "172.16.0.1": "a private network", "192.0.0.1": "IETF assignments",
    "192.168.1.1": "a private network", "198.18.0.1": "benchmarking", "224.0.0.1": "multicast",
    "255.255.255.255": "broadcast",
    "::": "the TURN host", "::1": "the TURN host",
    "::127.0.0.1": "the TURN host (IPv4-compatible)",
    "::10.0.0.1": "a private network (IPv4-compatible)",
    "::ffff:127.0.0.1": "the TURN host (IPv4-mapped)", "::ffff:0:a00:1": "IPv4-translated",
    "64:ff9b::a00:1": "10.0.0.1 through NAT64", "64:ff9b:1::a00:1": "a local NAT64",
    "100::1": "discard-only", "2001::1": "Teredo", "2001:db8::1": "documentation",
    "3fff::1": "documentation", "2002:7f00:1::1": "127.0.0.1 through 6to4",
    "2002:a00:1::1": "10.0.0.1 through 6to4", "5f00::1": "segment routing",
    "fc00::1": "unique local", "fd12:3456::1": "unique local", "fe80::1": "link-local",
    "fec0::1": "site-local", "ff02::1": "multicast", "ff0e::1": "multicast",
}
# Ordinary internet addresses stay allowed (only a permission is asked for: nothing is sent, and
# the test namespace has no route off loopback anyway).
ALLOWED = ["1.2.3.4", "2a00::1"]

# aioice speaks TURN over IPv4 relays only: the attribute that asks for an IPv6 relay
# (REQUESTED-ADDRESS-FAMILY, RFC 8656 section 18.1) is taught to its STUN codec here.
_FAMILY = (0x0017, "REQUESTED-ADDRESS-FAMILY", stun.pack_unsigned, stun.unpack_unsigned)
stun.ATTRIBUTES_BY_NAME.setdefault(_FAMILY[1], _FAMILY)
stun.ATTRIBUTES_BY_TYPE.setdefault(_FAMILY[0], _FAMILY)


def documented_config() -> list[str]:
    """The ``ini`` block of docs/turn.md, one setting a line, comments dropped."""
    block = DOCS.read_text(encoding="utf-8").split("```ini\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="module")
def documented_coturn(tmp_path_factory):
    """coturn running docs/turn.md's production configuration, on loopback (IPv4 and IPv6)."""
    if shutil.which("turnserver") is None:
        pytest.fail("coturn is not installed: `make test` installs it")
    d = tmp_path_factory.mktemp("turn-doc")
    port = free_port()
    lines = [line for line in documented_config() if line.split("=")[0] not in REPLACED]
    assert "no-multicast-peers" in lines and not any("allow-loopback" in x for x in lines)
    lines += ["listening-ip=127.0.0.1", "listening-ip=::1", "relay-ip=127.0.0.1", "relay-ip=::1",
              f"listening-port={port}", "min-port=49300", "max-port=49400", "no-tls",
              f"static-auth-secret={SECRET}", f"log-file={d}/turn.log", f"pidfile={d}/turn.pid",
              f"userdb={d}/turndb"]
    (d / "turnserver.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    process = subprocess.Popen(["turnserver", "-c", str(d / "turnserver.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert process.poll() is None, (d / "turn.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "coturn did not listen in time"
            time.sleep(0.1)
    yield port, d / "turn.log"
    process.terminate()
    process.wait(5)


async def relay_permission(port: int, peer: str) -> int | None:
    """Allocate a relay of the peer's family and ask for a permission to ``peer``.

    Returns None when coturn grants it, else its error code (403: a forbidden peer).
    """
    username, password = turn_credentials(SECRET, ttl_seconds=600)
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        lambda: TurnClientUdpProtocol(("127.0.0.1", port), username, password, 60, 500),
        remote_addr=("127.0.0.1", port))
    try:
        allocate = stun.Message(message_method=stun.Method.ALLOCATE,
                                message_class=stun.Class.REQUEST)
        allocate.attributes["LIFETIME"] = 60
        allocate.attributes["REQUESTED-TRANSPORT"] = UDP_TRANSPORT
        allocate.attributes["REQUESTED-ADDRESS-FAMILY"] = (2 if ":" in peer else 1) << 24
        response, _ = await client.request_with_retry(allocate)
        relayed, _ = response.attributes["XOR-RELAYED-ADDRESS"]
        assert (":" in relayed) == (":" in peer), (relayed, peer)
        permission = stun.Message(message_method=stun.Method.CREATE_PERMISSION,
                                  message_class=stun.Class.REQUEST)
        permission.attributes["XOR-PEER-ADDRESS"] = (peer, 9)
        try:
            await client.request_with_retry(permission)
        except stun.TransactionFailed as exc:
            return exc.response.attributes["ERROR-CODE"][0]
        return None
    finally:
        transport.close()


async def test_the_documented_relay_refuses_every_special_address(documented_coturn):
    port, log = documented_coturn
    granted = {peer: REFUSED[peer] for peer in REFUSED
               if await relay_permission(port, peer) != 403}
    assert granted == {}, f"docs/turn.md lets the relay reach {granted}"
    for peer in ALLOWED:
        assert await relay_permission(port, peer) is None, peer
    assert "Bad configuration format" not in log.read_text(errors="replace")
