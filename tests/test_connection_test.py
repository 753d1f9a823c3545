"""The connection test: a real aiortc peer on the server, real Chromium with fake devices, the
recommendation's thresholds, the result on the appointment and live on the worker's page, the
cap on concurrent tests, and peers that always go away."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from conftest import TURN_SECRET, eventually, new_case, nft, only_loopback
from live_helpers import connect, guest, planned_soon, soon_form, to_consent, to_step, worker_ready
from playwright.async_api import expect

from server.domain.connection_test import THRESHOLDS, combine, recommend
from server.edge.http import TESTS

GOOD = {"audio_kbps": 40, "video_kbps": 150, "fps": 15, "loss": 0.0, "rtt_ms": 30}


@pytest.mark.parametrize("changes, expected", [
    ({}, "video"),
    ({"video_kbps": 100, "fps": 10, "loss": 0.049, "rtt_ms": 399, "audio_kbps": 20}, "video"),
    ({"video_kbps": 99}, "audio"),
    ({"video_kbps": 59.9}, "audio"),  # below Jitsi's "no usable video": still sound only
    ({"fps": 9}, "audio"),
    ({"loss": 0.05}, "audio"),
    ({"loss": 0.10}, "audio"),  # Jitsi's "poor" loss: still sound only
    ({"rtt_ms": 400}, "audio"),
    ({"audio_kbps": 19}, "audio"),
    ({"audio_kbps": 8, "video_kbps": 0, "fps": 0, "loss": 0.32, "rtt_ms": 1000}, "audio"),
    ({"audio_kbps": 7.9}, "phone"),
    ({"loss": 0.33}, "phone"),
    ({"rtt_ms": 1500}, "phone"),
])
def test_recommendation_thresholds_at_their_edges(changes, expected):
    assert recommend({**GOOD, **changes}) == expected


def aiortc_as_shipped():
    """A fresh copy of ``aiortc.rtp``, run from its file: aiortc's own functions, whatever the
    server installed in place of some of them."""
    import importlib.util
    spec = importlib.util.find_spec("aiortc.rtp")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fast_audio_level_matches_aiortc():
    import random

    import aiortc.rtp
    import av

    from server.media import audio_level
    aiortc_level = aiortc_as_shipped().compute_audio_level_dbov
    rng = random.Random(7)
    for amplitude in (0, 1, 300, 10_000, 32_767):
        for layout in ("mono", "stereo"):
            frame = av.AudioFrame(format="s16", layout=layout, samples=960)
            channels = 1 if layout == "mono" else 2
            data = b"".join(rng.randint(-amplitude, amplitude).to_bytes(2, "little", signed=True)
                            for _ in range(960 * channels))
            frame.planes[0].update(data)
            assert audio_level.audio_level_dbov(frame) == aiortc_level(frame)
    # install() is what puts it in aiortc's path (RTCRtpSender calls aiortc.rtp's function).
    audio_level.install()
    assert audio_level.installed()
    assert aiortc.rtp.compute_audio_level_dbov is audio_level.audio_level_dbov


@pytest.mark.parametrize("figures, expected", [({}, "phone"), ({"audio_kbps": 30}, "phone")])
def test_recommendation_thresholds(figures, expected):
    assert recommend(figures) == expected


def test_thresholds_start_from_jitsi_and_combine_takes_the_worse_direction():
    # Jitsi's 60 kbit/s and 10 % are left out: they separate no two recommendations.
    assert THRESHOLDS["audio_kbps"] == (8.0, 20.0) and THRESHOLDS["loss"] == (0.05, 0.33)
    assert THRESHOLDS["video_kbps"] == (100.0,)
    figures = combine({"audio_up_kbps": 30, "audio_down_kbps": 25, "video_up_kbps": 300,
                       "video_down_kbps": 120, "loss": 0.01, "jitter_ms": 3, "rtt_ms": 20,
                       "path": "direct"}, {"loss": 0.07, "jitter_ms": 9})
    assert figures["audio_kbps"] == 25 and figures["video_kbps"] == 120
    assert figures["loss"] == 0.07 and figures["jitter_ms"] == 9


async def test_busy_beyond_the_cap(make_proxima):
    proxima = await make_proxima(test_peers_max=0)
    _anne, _case, created, public_id = await planned_soon(proxima)
    person = await guest(proxima, created["link"])
    wire = await connect(proxima, person, f"{public_id}?purpose=test")
    assert wire.inbox[-1]["state"] == "test"
    await wire.send(type="test_offer", sdp="v=0\r\na=fingerprint:sha-256 00:11\r\n")
    assert (await wire.expect("error"))["code"] == "busy"
    # No result without a test running; help alerts are not a flood.
    await wire.send(type="test_done", figures={"rtt_ms": 1})
    assert (await wire.expect("error"))["code"] == "no_test"
    await wire.send(type="help")
    assert (await wire.expect("help_alert"))["worker_present"] is False
    await wire.send(type="help")
    assert (await wire.expect("error"))["code"] == "too_soon"
    # A test socket is not a participant: it cannot consent, chat or signal anyone.
    await wire.send(type="chat", text="hello")
    assert (await wire.expect("error"))["code"] == "unexpected"


async def start_test_page(proxima, new_context, created):
    person = await (await new_context(ignore_https_errors=True, locale="fr-FR",
                                      viewport={"width": 360, "height": 740})).new_page()
    await person.goto(created["link"])
    await to_step(person, "Tester ma connexion")  # one step per screen: arrival, check, test
    await person.get_by_role("button", name="Tester ma connexion").click()
    return person


async def test_connection_test_end_to_end(proxima, new_context):
    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              soon_form(), status=201)
    worker = await worker_ready(proxima, new_context, created["appointment"]["id"])

    person = await start_test_page(proxima, new_context, created)
    # The person sees themselves as the server received them.
    await eventually(lambda: person.evaluate("document.getElementById('test-echo').videoWidth"),
                     timeout=15)
    await person.get_by_role("button", name="J'ai besoin d'aide").click()
    await expect(worker.locator("#lobby-alert")).to_contain_text("besoin d'aide")
    result = person.locator("#test-result")
    await expect(result).to_have_attribute("data-recommendation", re.compile("video|audio|phone"),
                                           timeout=40_000)
    assert await result.get_attribute("data-path") == "direct"
    await expect(worker.locator("#test-list li")).to_have_count(1)  # live, no reload

    tests = await proxima.store.interviews.tests(created["appointment"]["id"])
    [stored] = tests
    f = stored["figures"]
    assert 0 <= f["rtt_ms"] < 200
    assert f["audio_kbps"] > 8 and f["video_kbps"] > 60
    assert f["up_kbps"] > 60 and f["down_kbps"] > 60
    assert f["loss"] is not None and f["loss"] < 0.05
    assert f["fps"] > 5 and f["width"] >= 160 and f["height"] >= 120
    assert stored["recommendation"] == recommend(f) == "video"
    assert stored["device"] and "127.0.0.1" not in json.dumps(stored)
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    kinds = [e["kind"] for e in record]
    assert "test_done" in kinds and "help_asked" in kinds
    await eventually(lambda: proxima.app[TESTS].peers.live == 0, timeout=5)

    # The worker sees the result beside the person waiting, and it goes into the session log.
    await to_consent(person)
    await person.get_by_label("Je suis d'accord pour que ces personnes soient là").check()
    await person.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    await expect(worker.locator("#lobby-list")).to_contain_text("la vidéo marchera bien")
    await worker.get_by_role("button", name=re.compile(r"Faire entrer")).click()
    await worker.get_by_role("button", name="Terminer l'entretien").click()
    await expect(worker.get_by_role("heading", name="Après l'entretien")).to_be_visible()
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    [log] = [e["data"] for e in record if e["kind"] == "session_log"]
    assert log["test_result"]["recommendation"] == "video"
    # Not the figures: they stay with the test, for its 3 months only (docs/retention.md).
    assert set(log["test_result"]) == {"at", "recommendation"}


async def test_a_page_closed_mid_test_leaves_no_peer(proxima, new_context):
    _anne, _case, created, _public_id = await planned_soon(proxima)
    person = await start_test_page(proxima, new_context, created)
    peers = proxima.app[TESTS].peers
    await eventually(lambda: peers.live == 1, timeout=10)
    await eventually(
        lambda: person.evaluate("document.getElementById('test-progress').value > 0.2"),
        timeout=15)
    await person.close()
    await eventually(lambda: peers.live == 0, timeout=30)


async def test_forced_through_coturn_the_result_says_so(make_proxima, new_context, coturn):
    proxima = await make_proxima(turn_urls=coturn, turn_secret=TURN_SECRET, relay_only=True)
    _anne, _case, created, _public_id = await planned_soon(proxima)
    person = await start_test_page(proxima, new_context, created)
    result = person.locator("#test-result")
    await expect(result).to_have_attribute("data-recommendation", re.compile("video|audio|phone"),
                                           timeout=40_000)
    assert await result.get_attribute("data-path") == "turn-udp"
    [stored] = await proxima.store.interviews.tests(created["appointment"]["id"])
    assert stored["figures"]["path"] == "turn-udp"


@pytest.fixture
def weak_network():
    """About 300 kbit/s on loopback (tc tbf) and 5 % random UDP loss (nft), in the namespace."""
    if not only_loopback():
        pytest.skip("needs the loopback-only network namespace that `make test` runs in")
    # tbf drops packets larger than its burst: loopback's 64 KiB MTU would starve TCP.
    subprocess.run(["ip", "link", "set", "lo", "mtu", "1500"], check=True)
    subprocess.run(["tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "300kbit",
                    "burst", "32kbit", "latency", "400ms"], check=True)
    nft("add table inet proxima_weak",
        "add chain inet proxima_weak in '{ type filter hook input priority 0; }'",
        "add rule inet proxima_weak in meta l4proto udp numgen random mod 100 '<' 5 drop")
    yield
    nft("delete table inet proxima_weak")
    subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], check=True)
    subprocess.run(["ip", "link", "set", "lo", "mtu", "65536"], check=True)


async def test_a_weak_network_gets_sound_only_or_phone(proxima, new_context, weak_network):
    _anne, _case, created, _public_id = await planned_soon(proxima)
    person = await start_test_page(proxima, new_context, created)
    result = person.locator("#test-result")
    await expect(result).to_have_attribute("data-recommendation", re.compile("audio|phone"),
                                           timeout=60_000)
    [stored] = await proxima.store.interviews.tests(created["appointment"]["id"])
    assert stored["recommendation"] in ("audio", "phone")
