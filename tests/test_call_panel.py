"""The worker's call panel (issue 11, item 4), on the server: the interview outline prepared with
the appointment and the notes typed during the call, both sealed at rest (their text is nowhere in
the database file or its WAL), the notes the appointment's own worker's only (every read audited)
and offered in the closing form; "Postpone" ending the call as postponed (the person told, the case
record saying so); and a browser let in during a call replacing the person's browser whose page
is gone. The pages themselves are driven in Chromium in tests/test_call_panel_pages.py."""

from __future__ import annotations

from conftest import appointment_form, new_case
from live_helpers import connect, consent, guest, in_call, planned_soon

from server.edge.http import CONFIG

OBJECTIVES = "Comprendre la situation de logement apres le depart du colocataire"
QUESTIONS = "Qu'est-ce qui a change depuis janvier dans votre budget"
NOTE = "Le proprietaire menace de resilier le bail en juin"


async def admitted_peer(wire, peer: str) -> dict:
    """The next ``admitted`` naming ``peer``."""
    while (msg := await wire.expect("admitted"))["peer"] != peer:
        pass
    return msg


def stored_bytes(proxima) -> bytes:
    """The database file, its WAL and shared memory, as they are on disk."""
    data_dir = proxima.app[CONFIG].data_path
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("proxima.sqlite3*")))


async def test_the_outline_and_the_notes_are_sealed_and_go_to_the_closing_form(proxima):
    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(objectives=OBJECTIVES, questions=QUESTIONS),
                              status=201)
    appointment = created["appointment"]
    assert (appointment["objectives"], appointment["questions"]) == (OBJECTIVES, QUESTIONS)
    notes_url = f"/api/appointments/{appointment['id']}/call-notes"
    assert await anne.json("GET", notes_url) == {"notes": "", "saved_at": None}

    # Typed during the call, saved as typed (each save replaces the whole text).
    await anne.json("PUT", notes_url, {"notes": "Le proprietaire"})
    saved = await anne.json("PUT", notes_url, {"notes": f"  {NOTE}\x07\n"})
    assert saved["notes"] == NOTE and saved["saved_at"]
    assert (await anne.json("GET", notes_url))["notes"] == NOTE

    # Nowhere readable on disk: neither in the WAL as written, nor in the database once
    # checkpointed.
    for secret in (OBJECTIVES, QUESTIONS, NOTE, "Le proprietaire"):
        assert secret.encode() not in stored_bytes(proxima), secret
    await proxima.store.db.run(lambda c: c.execute("PRAGMA wal_checkpoint(FULL)"))
    on_disk = stored_bytes(proxima)
    assert len(on_disk) > 10_000
    for secret in (OBJECTIVES, QUESTIONS, NOTE, "Le proprietaire"):
        assert secret.encode() not in on_disk, secret

    # Each read is audited.
    reads = await proxima.store.db.run(lambda c: c.execute(
        "SELECT outcome FROM audit_log WHERE action = 'read_call_notes'").fetchall())
    assert [r[0] for r in reads] == ["ok", "ok", "ok", "ok"]

    # The outline can be changed when the appointment is moved.
    moved = await anne.json("PUT", f"/api/appointments/{appointment['id']}",
                            appointment_form(objectives="Autre objectif", questions=""))
    assert moved["appointment"]["objectives"] == "Autre objectif"
    assert moved["appointment"]["questions"] == ""


async def test_the_closing_form_keeps_the_notes_and_drops_the_draft(proxima):
    call = await in_call(proxima)
    anne, appointment_id = call["anne"], call["created"]["appointment"]["id"]
    notes_url = f"/api/appointments/{appointment_id}/call-notes"
    await anne.json("PUT", notes_url, {"notes": NOTE})
    await call["worker"].send(type="end")
    await call["person"].expect("ended")
    await anne.json("POST", f"/api/appointments/{appointment_id}/session/closing",
                    {"notes": NOTE + " (relu)"})
    assert await anne.json("GET", notes_url) == {"notes": "", "saved_at": None}
    record = (await anne.json("GET", f"/api/cases/{call['case']['id']}"))["record"]
    [closing] = [e["data"] for e in record if e["kind"] == "session_closing"]
    assert closing["notes"] == NOTE + " (relu)"


async def test_the_notes_are_the_appointments_own_workers_only(proxima):
    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(), status=201)
    notes_url = f"/api/appointments/{created['appointment']['id']}/call-notes"
    await anne.json("PUT", notes_url, {"notes": NOTE})

    admin = await proxima.worker(email="root@example.org", name="Admin", role="admin")
    for method, body in (("GET", None), ("PUT", {"notes": "autre chose"})):
        r = await admin.request(method, notes_url, json=body)
        assert r.status == 403 and (await r.json())["error"] == "not_your_notes"
    bob = await proxima.worker(email="bob@example.org", name="Bob Leroy")
    r = await bob.request("GET", notes_url)
    assert r.status == 403 and (await r.json())["error"] == "not_your_case"
    denied = await proxima.store.db.run(lambda c: c.execute(
        "SELECT actor FROM audit_log WHERE action IN ('read_call_notes', 'save_call_notes')"
        " AND outcome = 'denied'").fetchall())
    assert len(denied) >= 3

    # Bad input is refused plainly and changes nothing.
    for body, field in (({"notes": 12}, "notes"), ({"notes": "x" * 10_001}, "notes"),
                        ({}, "notes"), ({"notes": "", "extra": 1}, "extra")):
        r = await anne.request("PUT", notes_url, json=body)
        assert r.status == 400 and (await r.json())["field"] == field, body
    assert (await anne.json("GET", notes_url))["notes"] == NOTE
    # The outline is checked like the other texts of the form.
    r = await anne.request("POST", f"/api/cases/{case['id']}/appointments",
                           json=appointment_form(questions=["a list"]))
    assert r.status == 400 and (await r.json())["field"] == "questions"


async def test_postpone_ends_the_call_as_postponed(proxima):
    call = await in_call(proxima)
    await call["worker"].send(type="end", postponed=True)
    assert (await call["person"].expect("ended"))["reason"] == "postponed"
    assert (await call["worker"].expect("ended"))["reason"] == "postponed"
    record = (await call["anne"].json("GET", f"/api/cases/{call['case']['id']}"))["record"]
    [log] = [e["data"] for e in record if e["kind"] == "session_log"]
    assert log["end_reason"] == "postponed"
    # The worker's page then opens the appointment's form, to choose the new date.
    r = await call["anne"].request("GET", f"/appointments/{call['created']['appointment']['id']}"
                                   "/postpone", headers={"Accept": "text/html"})
    assert r.status == 200 and "Choisissez la nouvelle date" in await r.text()


async def test_a_browser_let_in_replaces_the_persons_browser_that_is_gone(proxima):
    anne, _case, created, public_id = await planned_soon(proxima)
    laptop = await connect(proxima, await guest(proxima, created["link"]), public_id)
    await consent(laptop)
    worker = await connect(proxima, anne, public_id)
    first = (await worker.expect("lobby"))["waiting"][0]["id"]
    await worker.send(type="admit", participant=first)
    await admitted_peer(worker, first)
    # The laptop fails; the person comes back on their phone and waits.
    await laptop.ws.close()
    assert (await worker.expect("peer_left"))["peer"] == first
    phone = await connect(proxima, await guest(proxima, created["link"]), public_id)
    await consent(phone)
    lobby = await worker.expect("lobby")
    while not lobby["waiting"]:
        lobby = await worker.expect("lobby")
    second = lobby["waiting"][0]["id"]
    await worker.send(type="admit", participant=second)
    # The worker's page is told first who is in the call (the laptop no longer), then linked.
    got = await worker.drain()
    kinds = [(m["type"], m.get("peer")) for m in got]
    replaced = next(i for i, m in enumerate(got) if m["type"] == "lobby")
    assert [a["id"] for a in got[replaced]["admitted"]] == [second]
    assert kinds.index(("admitted", second)) > replaced
    session = await proxima.store.interviews.active(created["appointment"]["id"])
    assert session.admitted == [second]
    assert [i.kind for i in session.log.incidents] == ["browser_replaced"]
    assert session.log.participants[first].stays[-1].left is not None


async def test_a_browser_still_connected_is_not_replaced(proxima):
    """Two browsers both connected stay in the call together (each its own participant)."""
    anne, _case, created, public_id = await planned_soon(proxima)
    wires = []
    for _ in range(2):
        wire = await connect(proxima, await guest(proxima, created["link"]), public_id)
        await consent(wire)
        wires.append(wire)
    worker = await connect(proxima, anne, public_id)
    lobby = await worker.expect("lobby")
    while len(lobby["waiting"]) < 2:
        lobby = await worker.expect("lobby")
    for entry in lobby["waiting"]:
        await worker.send(type="admit", participant=entry["id"])
        await admitted_peer(worker, entry["id"])
    session = await proxima.store.interviews.active(created["appointment"]["id"])
    assert sorted(session.admitted) == sorted(e["id"] for e in lobby["waiting"])
    assert session.log.incidents == []
