"""Revocation reaches live connections: a revoked, replaced, moved or cancelled invitation, a
disabled account and a reassigned case close the sockets they opened, at once; admission checks
the invitation again at the moment it happens."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import aiohttp
import pytest
from conftest import appointment_form
from live_helpers import connect, consent, guest, in_call, planned_soon, to_check, to_consent

from server.edge.http import CONFIG, LIVE_ACCESS

ACCESS_ENDED = 4403


async def closed_with(wire, code=ACCESS_ENDED):
    """The socket was closed by the server with ``code`` (anything still queued is skipped)."""
    while True:
        msg = await wire.next()
        if msg["type"] == "_closed":
            assert msg["code"] == code, msg
            return


async def audit_actions(proxima, action):
    return [e for e in await proxima.store.audit.entries() if e["action"] == action]


@pytest.mark.parametrize("act", ["revoke", "reissue", "move", "cancel"])
async def test_an_act_on_the_invitation_closes_its_live_browsers(proxima, act):
    call = await in_call(proxima)
    anne, person, worker = call["anne"], call["person"], call["worker"]
    # A second browser of the same invitation, waiting in the lobby.
    other_browser = await guest(proxima, call["created"]["link"])
    other = await connect(proxima, other_browser, call["public_id"])
    await consent(other)
    await other.expect("waiting")
    appointment_id = call["created"]["appointment"]["id"]
    if act == "move":
        await anne.json("PUT", f"/api/appointments/{appointment_id}", _later_form())
    else:
        await anne.json("POST", f"/api/appointments/{appointment_id}/{act}")
    await closed_with(person)
    await closed_with(other)
    if act == "cancel":  # the appointment itself is over: the worker's page closes too
        await closed_with(worker)
    else:  # the worker stays, and hears that the person left
        assert (await worker.expect("peer_left"))["peer"] == call["to_person"]
    # The same browser cannot come back, and the closings are in the audit log.
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(proxima, other_browser, call["public_id"], hello=False)
    assert refused.value.status == (404 if act == "cancel" else 403)
    assert len(await audit_actions(proxima, "live_access_ended")) >= 2


def _later_form():
    import datetime as dt
    from zoneinfo import ZoneInfo
    start = dt.datetime.now(ZoneInfo("Europe/Paris")) + dt.timedelta(minutes=20)
    return appointment_form(date=start.strftime("%Y-%m-%d"), time=start.strftime("%H:%M"))


async def test_admission_checks_the_invitation_again(proxima):
    anne, _case, created, public_id = await planned_soon(proxima)
    person = await connect(proxima, await guest(proxima, created["link"]), public_id)
    await consent(person)
    worker = await connect(proxima, anne, public_id)
    [entry] = (await worker.expect("lobby"))["waiting"]
    # Revoked by another process (no live notice reaches this one): admission must see it.
    appointment = await proxima.store.appointments.by_public_id(public_id)
    await proxima.store.invitations.revoke_all(appointment.id)
    await worker.send(type="admit", participant=entry["id"])
    assert (await worker.expect("error"))["code"] == "access_ended"
    await closed_with(person)
    assert "admitted" not in [m["type"] for m in person.inbox]
    assert (await worker.expect("lobby"))["waiting"] == []
    session = await proxima.store.interviews.latest(appointment.id)
    assert session is None or entry["id"] not in session.admitted


async def test_a_disabled_worker_leaves_the_call_at_once(proxima):
    admin = await proxima.worker(email="admin@example.org", name="Ada Admin", role="admin")
    call = await in_call(proxima)
    anne_id = (await call["anne"].json("GET", "/api/session"))["worker"]["id"]
    await admin.json("PATCH", f"/api/workers/{anne_id}", {"disabled": True})
    await closed_with(call["worker"])
    assert (await call["person"].expect("peer_left"))["peer"] == call["to_worker"]


async def test_a_worker_disabled_from_the_command_line_is_cut_off_by_the_check(proxima):
    call = await in_call(proxima)
    config = proxima.app[CONFIG]
    env = {**os.environ, "PROXIMA_DATA_DIR": config.data_dir}
    done = await asyncio.to_thread(  # off the loop: the server under test runs on it
        subprocess.run, [sys.executable, "-m", "server.cli", "disable-worker",
                         "--email", "anne@example.org"], env=env, capture_output=True,
        text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # What the background job runs every few seconds, run now.
    assert await proxima.app[LIVE_ACCESS].recheck() == 1
    await closed_with(call["worker"])


async def test_a_reassigned_case_ends_the_former_workers_access(proxima):
    admin = await proxima.worker(email="admin@example.org", name="Ada Admin", role="admin")
    bob = await proxima.worker(email="bob@example.org", name="Bob Bernard")
    bob_id = (await bob.json("GET", "/api/session"))["worker"]["id"]
    call = await in_call(proxima)  # no mail server: the invitation waits in Anne's outbox
    anne = call["anne"]
    [message] = (await anne.json("GET", "/api/outbox"))["messages"]
    assert message["link"]
    await admin.json("PATCH", f"/api/cases/{call['case']['id']}", {"worker_id": bob_id})
    await closed_with(call["worker"])
    # Anne no longer sees the case's messages (the link among them), nor can she act on them.
    assert (await anne.json("GET", "/api/outbox"))["messages"] == []
    refused = await anne.request("POST", f"/api/outbox/{message['id']}/done")
    assert refused.status == 404
    assert [e for e in await audit_actions(proxima, "outbox_sent_by_hand")
            if e["outcome"] == "denied"]
    # Bob sees them, and can join the interview.
    assert [m["id"] for m in (await bob.json("GET", "/api/outbox"))["messages"]] == [message["id"]]
    with pytest.raises(aiohttp.WSServerHandshakeError) as anne_refused:
        await connect(proxima, anne, call["public_id"], hello=False)
    assert anne_refused.value.status == 403
    await connect(proxima, bob, call["public_id"])


async def test_an_open_page_shows_the_revocation_at_once(proxima, new_context, screenshots):
    """In Chromium: the person waits; the worker revokes the link; the page says so by itself."""
    from playwright.async_api import expect

    anne, _case, created, _public_id = await planned_soon(proxima)
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
    await expect(page.get_by_role("heading", name="Salle d'attente")).to_be_visible()
    await anne.json("POST", f"/api/appointments/{created['appointment']['id']}/revoke")
    await expect(page.get_by_role("heading", name="Ce lien ne marche plus")).to_be_visible()
    await expect(page.get_by_role("link", name="01 23 45 67 89")).to_be_visible()
    await page.screenshot(path=str(screenshots / "revoked-while-waiting.png"))
