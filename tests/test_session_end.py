"""The session log reaches the case record when the worker leaves, not only once everyone has
left: the person's page still open is told the interview has ended, with the worker's number."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import eventually
from live_helpers import connect, in_call, planned_soon, to_check, to_consent
from playwright.async_api import expect

from server.base import clock
from server.edge.http import INTERVIEWS


async def worker_left(proxima, appointment_id):
    session = await proxima.store.interviews.active(appointment_id)
    return session is not None and session.log.worker_left is not None


@pytest.fixture
def later(monkeypatch):
    """Move the server's clock forward (the sweep compares times with clock.now)."""
    def shift(minutes: float) -> None:
        moved = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
        monkeypatch.setattr(clock, "now", lambda: moved.replace(microsecond=0))
    return shift


async def test_the_worker_gone_for_good_ends_the_session(proxima, later):
    call = await in_call(proxima)
    person, worker = call["person"], call["worker"]
    appointment_id = call["created"]["appointment"]["id"]
    await worker.ws.close()
    assert (await person.expect("peer_left"))["peer"] == call["to_worker"]
    session = await proxima.store.interviews.active(appointment_id)
    left = session.log.worker_left

    # Not yet: the worker may come back within session_end_minutes.
    later(9)
    assert await proxima.app[INTERVIEWS].sweep() == 0
    later(11)
    assert await proxima.app[INTERVIEWS].sweep() == 1
    assert (await person.expect("ended"))["reason"] == "worker_left"
    record = (await call["anne"].json("GET", f"/api/cases/{call['case']['id']}"))["record"]
    [log] = [e["data"] for e in record if e["kind"] == "session_log"]
    assert log["end_reason"] == "worker_left" and log["ended_at"] == left
    assert all(stay["left"] <= left for p in log["participants"].values() for stay in p["stays"])


async def test_a_worker_who_comes_back_keeps_the_session(proxima, later):
    call = await in_call(proxima)
    await call["worker"].ws.close()
    await call["person"].expect("peer_left")
    back = await connect(proxima, call["anne"], call["public_id"])
    assert back.inbox[0]["state"] == "in_call"
    later(30)
    assert await proxima.app[INTERVIEWS].sweep() == 0
    session = await proxima.store.interviews.active(call["created"]["appointment"]["id"])
    assert session.log.worker_left is None


async def test_the_persons_open_page_says_the_interview_ended(proxima, new_context, later,
                                                             screenshots):
    anne, _case, created, public_id = await planned_soon(proxima)
    context = await new_context(ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                                viewport={"width": 360, "height": 740})
    page = await context.new_page()
    await page.goto(created["link"])
    await to_check(page)  # one step per screen: the arrival, then the check
    await page.get_by_role("button", name="Commencer la vérification").click()
    await expect(page.locator("#check-result")).not_to_be_empty()
    await to_consent(page)
    await page.get_by_label("En vidéo (caméra et son)").check()
    await page.get_by_label("Je suis d'accord pour que ces personnes soient là").check()
    await page.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    worker = await connect(proxima, anne, public_id)
    lobby = await worker.expect("lobby")
    while not lobby["waiting"]:
        lobby = await worker.expect("lobby")
    await worker.send(type="admit", participant=lobby["waiting"][0]["id"])
    await worker.expect("admitted")
    await worker.ws.close()
    await eventually(lambda: worker_left(proxima, created["appointment"]["id"]))
    later(11)
    assert await proxima.app[INTERVIEWS].sweep() == 1
    await expect(page.get_by_role("heading", name="L'entretien est terminé")).to_be_visible()
    await expect(page.get_by_text("Anne a quitté l'entretien. L'entretien est terminé.")
                 ).to_be_visible()
    await page.screenshot(path=str(screenshots / "worker-left.png"))
    ended = page.get_by_role("region", name="L'entretien est terminé")
    await expect(ended.get_by_role("link", name="01 23 45 67 89")).to_be_in_viewport()
