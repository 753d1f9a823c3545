"""Plan B when the network fails: the media path between the two browsers is cut (nft, inside the
suite's loopback-only network namespace) while the signalling stays up; when no media arrives any
more both pages switch to the phone (not first to sound only), with the numbers each side needs,
and the switch is logged. tests/bench/plan_b_time.py measures how long it takes."""

from __future__ import annotations

import re

import pytest
from conftest import eventually, new_case, nft, only_loopback
from live_helpers import soon_form, to_consent, worker_ready
from playwright.async_api import expect

FRAMES = "Number(document.getElementById('quality').dataset.framesDecoded || 0)"


@pytest.fixture
def cut_media():
    """Drop every UDP packet and every TCP packet not to or from Proxima's port."""
    if not only_loopback():
        pytest.skip("needs the loopback-only network namespace that `make test` runs in")
    added = []

    def cut(port: int) -> None:
        nft("add table inet proxima_test",
            "add chain inet proxima_test in '{ type filter hook input priority 0; }'",
            "add rule inet proxima_test in meta l4proto udp drop",
            f"add rule inet proxima_test in tcp dport {port} accept",
            f"add rule inet proxima_test in tcp sport {port} accept",
            "add rule inet proxima_test in meta l4proto tcp drop")
        added.append(True)

    yield cut
    if added:
        nft("delete table inet proxima_test")


async def test_connection_lost_continues_by_phone(make_proxima, new_context, cut_media):
    proxima = await make_proxima(service_phone="01 99 88 77 66")
    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              soon_form(attendees=[]), status=201)
    worker = await worker_ready(proxima, new_context, created["appointment"]["id"])
    person = await (await new_context(ignore_https_errors=True, locale="fr-FR")).new_page()
    await person.goto(created["link"])
    await to_consent(person)  # one step per screen: from the arrival to the consent
    await person.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    await worker.get_by_role("button", name=re.compile(r"Faire entrer")).click()
    await eventually(lambda: worker.evaluate(FRAMES), timeout=20)

    cut_media(int(proxima.url.rsplit(":", 1)[1]))
    await expect(person.locator("#phone-who")).to_contain_text(
        "finit par 78, depuis le 01 99 88 77 66", timeout=30_000)
    await expect(worker.get_by_role("link", name="06 12 34 56 78")).to_be_visible()
    await expect(person.get_by_role("link", name="01 23 45 67 89").last).to_be_visible()
    await worker.get_by_role("button", name="Appel terminé").click()
    await expect(worker.get_by_role("heading", name="Après l'entretien")).to_be_visible()
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    [log] = [e["data"] for e in record if e["kind"] == "session_log"]
    # A dead path is not a weak one: straight from video to the phone, no detour by sound only.
    assert [t["mode"] for t in log["timeline"]] == ["video", "phone"]
    assert log["timeline"][-1]["reason"] == "connection_lost"
    incidents = [i["kind"] for i in log["incidents"]]
    assert "no_media" in incidents and "ice_restart" in incidents
    assert "phone_fallback" in incidents and "poor_quality" not in incidents
