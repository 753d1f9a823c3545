"""A group session's room on the wire (issue 10, items 2 and 4), with raw WebSocket clients.

A facilitator, a technical helper, a note-taker who arrives late, and three persons' browsers
(three cases in one group; a fourth person attends by phone only). Each person consents with the
group's rule and the others' presence; the facilitator lets everyone in with one message; every
pair is linked once (full mesh); hands queue in the order they went up; the floor; mute one and
all; the sound-and-camera round; the agenda item; removing a person (their link and cookie are
refused afterwards, on HTTP and WebSocket); a break with its countdown and everyone back; the
reminders at 45 minutes and before the end — on a manual room clock, no sleeping; "by phone" and
the workers' roles in the session log.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from conftest import new_case
from live_helpers import Wire, connect, consent, guest

from server.live.timers import ManualRoomClock

RULE = "Ce qui est dit dans le groupe reste dans le groupe."
PEOPLE = [("GRP-01", "Fatou Diallo"), ("GRP-02", "Karim Benali"), ("GRP-03", "Sophie Lefèvre"),
          ("GRP-04", "Yasmine Haddad")]  # the last one has no browser: she attends by phone


def soon_group(people: list[dict[str, Any]], workers: list[dict[str, Any]]) -> dict[str, Any]:
    """A group of 90 minutes starting in about five minutes (Europe/Paris)."""
    start = dt.datetime.now(ZoneInfo("Europe/Paris")) + dt.timedelta(minutes=5)
    return {"title": "Atelier budget", "date": start.strftime("%Y-%m-%d"),
            "time": start.strftime("%H:%M"), "modality": "video", "duration_minutes": 90,
            "agenda": [{"title": "Tour de table", "minutes": 15},
                       {"title": "Le budget du mois", "minutes": 45},
                       {"title": "Questions", "minutes": 20}],
            "rule": RULE, "speaking_rules": "Levez la main pour parler.",
            "incident_phone": "01 23 45 67 89", "people": people, "workers": workers}


async def act(actor: Wire, others: list[Wire], **msg: Any,
              ) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """``actor`` sends ``msg``; what it and each of ``others`` received because of it (the
    actor's ping is answered after its message is handled, and whatever that queued for the
    others reaches them before their own pong)."""
    await actor.send(**msg)
    mine = await actor.drain()
    return mine, [await other.drain() for other in others]


def last(messages: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [m for m in messages if m["type"] == kind]
    assert found, f"no {kind} in {[m['type'] for m in messages]}"
    return found[-1]


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]


async def linked(wire: Wire, count: int) -> dict[str, bool]:
    """The next ``count`` links announced to this wire: peer -> whether it is the polite end."""
    got: dict[str, bool] = {}
    while len(got) < count:
        msg = await wire.expect("admitted")
        got[msg["peer"]] = msg["polite"]
    return got


async def plan_group(proxima: Any) -> dict[str, Any]:
    anne = await proxima.worker("anne@example.org", "Anne Martin", role="facilitator")
    marc = await proxima.worker("marc@example.org", "Marc Petit")
    luc = await proxima.worker("luc@example.org", "Luc Moreau")
    ids = {}
    for address in ("marc@example.org", "luc@example.org"):
        ids[address] = (await proxima.store.workers.by_email(address))[0].id
    cases = [await new_case(anne, reference=ref, person_name=name, email="")
             for ref, name in PEOPLE]
    created = await anne.json("POST", "/api/groups", soon_group(
        [{"case_id": c["id"]} for c in cases],
        [{"worker_id": ids["marc@example.org"], "role": "technical_helper"},
         {"worker_id": ids["luc@example.org"], "role": "note_taker"}]), status=201)
    group = await proxima.store.groups.get(created["group"]["id"])
    appointments = {}
    for entry in created["links"]:
        appointment = await proxima.store.appointments.get(entry["appointment_id"])
        appointments[appointment.case_id] = (appointment, entry["link"])
    return {"anne": anne, "marc": marc, "luc": luc, "group": group, "cases": cases,
            "appointments": [appointments[c["id"]] for c in cases]}


async def test_a_group_room_with_the_facilitators_tools(make_proxima):
    room_clock = ManualRoomClock()
    proxima = await make_proxima(room_clock=room_clock)
    planned = await plan_group(proxima)
    group = planned["group"]

    # -- consent in a group: the rule and the others' presence, refused without them -------------
    persons, clients = [], []
    for appointment, link in planned["appointments"][:3]:
        client = await guest(proxima, link)
        wire = await connect(proxima, client, appointment.public_id)
        welcome = wire.inbox[0]
        assert welcome["state"] == "consent" and welcome["role"] == "person"
        assert welcome["group"]["title"] == "Atelier budget" and welcome["group"]["rule"] == RULE
        assert welcome["group"]["people"] == 7  # four persons, two co-workers, the facilitator
        assert welcome["group"]["role"] == "person"
        assert [a["minutes"] for a in welcome["group"]["agenda"]] == [15, 45, 20]
        others = [name for _, name in PEOPLE if name != welcome["name"]]
        assert not any(name in json.dumps(welcome, ensure_ascii=False) for name in others)
        persons.append(wire)
        clients.append(client)
    fatou = persons[0]
    await consent(fatou)
    refused = await fatou.expect("error")
    assert refused["code"] == "rule_not_accepted"
    assert refused["message"] == ("Merci d'accepter la règle du groupe : ce qui est dit dans "
                                  "le groupe reste dans le groupe.")
    await consent(fatou, rule_accepted=True)
    assert (await fatou.expect("error"))["code"] == "others_not_accepted"
    for wire in persons:
        await consent(wire, rule_accepted=True, others_accepted=True)
        await wire.expect("waiting")

    # -- the facilitator and the technical helper wait together ---------------------------------
    anne = await connect(proxima, planned["anne"], group.public_id)
    assert anne.inbox[0]["role"] == "worker" and anne.inbox[0]["group"]["role"] == "facilitator"
    assert anne.inbox[0]["state"] == "ready"
    marc = await connect(proxima, planned["marc"], group.public_id)
    assert marc.inbox[0]["role"] == "coworker" and marc.inbox[0]["state"] == "ready"
    assert marc.inbox[0]["group"]["role"] == "technical_helper"
    lobby = last(await marc.drain(), "lobby")
    assert len(lobby["waiting"]) == 3
    assert [p["name"] for p in lobby["people"]] == [name for _, name in PEOPLE]
    ids = {w["name"]: w["id"] for w in lobby["waiting"]}
    g = [ids[name] for _, name in PEOPLE[:3]]
    w_anne, w_marc = anne.inbox[0]["id"], marc.inbox[0]["id"]

    # -- one message lets everyone in; every pair is linked once, with one polite end ------------
    await anne.send(type="admit_all")
    members = {w_anne: anne, w_marc: marc, **dict(zip(g, persons, strict=True))}
    links = {pid: await linked(wire, 4) for pid, wire in members.items()}
    for a, seen in links.items():
        assert set(seen) == set(members) - {a}
        for b, polite in seen.items():
            assert links[b][a] is not polite  # one end polite, the other not
    for wire in members.values():
        state = last(await wire.drain(), "group_state")
        assert state["hands"] == [] and state["agenda_item"] == -1 and state["break_until"] == ""
    session = await proxima.store.interviews.active_in(_ref(group))
    log = session.log.participants
    assert (log[w_anne].role, log[w_marc].role) == ("facilitator", "technical_helper")
    assert [c["rule_accepted"] for c in session.log.consents] == [True, True, True]

    # -- a co-worker who arrives during the session joins the call at once -----------------------
    luc = await connect(proxima, planned["luc"], group.public_id)
    assert luc.inbox[0]["state"] == "in_call" and luc.inbox[0]["group"]["role"] == "note_taker"
    assert set(await linked(luc, 5)) == set(members)
    for wire in members.values():
        assert (await wire.expect("admitted"))["peer"] == luc.inbox[0]["id"]
    everyone = [anne, marc, luc, *persons]
    for wire in everyone:
        await wire.drain()

    # -- hands: a queue in the order they went up; the floor; lowering -------------------------
    for who in (persons[1], persons[0], persons[2]):
        await act(who, [], type="hand", raised=True)
    # Fatou's hand again: it keeps its place.
    _, (karim_sees,) = await act(persons[0], [persons[1]], type="hand", raised=True)
    hands = last(karim_sees, "group_state")["hands"]
    assert [h["id"] for h in hands] == [g[1], g[0], g[2]]
    assert [h["name"] for h in hands] == ["Karim Benali", "Fatou Diallo", "Sophie Lefèvre"]
    _, (seen,) = await act(persons[0], [anne], type="hand", raised=False)
    assert [h["id"] for h in last(seen, "group_state")["hands"]] == [g[1], g[2]]
    mine, _ = await act(persons[1], [], type="lower_hand", participant="")
    assert last(mine, "error")["code"] == "host_only"
    _, (seen,) = await act(anne, [persons[1]], type="give_floor", participant=g[2])
    state = last(seen, "group_state")
    assert state["floor"] == {"id": g[2], "name": "Sophie Lefèvre"}
    assert [h["id"] for h in state["hands"]] == [g[1]]
    _, (seen,) = await act(anne, [persons[1]], type="lower_hand", participant="")
    assert last(seen, "group_state")["hands"] == []

    # -- mute one, mute all (the technical helper may); a person may not -----------------------
    _, seen = await act(anne, persons, type="mute", participant=g[0])
    assert [kinds(s).count("mute_request") for s in seen] == [1, 0, 0]
    assert last(seen[0], "mute_request") == {"type": "mute_request", "from": w_anne,
                                             "name": "Anne Martin"}
    mine, seen = await act(marc, [anne, luc, *persons], type="mute", participant="")
    assert "mute_request" not in kinds(mine)
    assert [kinds(s).count("mute_request") for s in seen] == [1, 1, 1, 1, 1]
    assert {last(s, "mute_request")["from"] for s in seen} == {w_marc}
    mine, _ = await act(persons[0], [], type="mute", participant="")
    assert last(mine, "error")["code"] == "worker_only"
    mine, _ = await act(luc, [], type="admit_all")
    assert last(mine, "error")["code"] == "host_only"

    # -- the sound-and-camera round, shown to all ------------------------------------------------
    _, (seen,) = await act(anne, [persons[0]], type="round", action="start")
    round_ = last(seen, "group_state")["round"]
    assert [e["id"] for e in round_["entries"]] == [w_marc, luc.inbox[0]["id"], *g]
    assert round_["current"] == w_marc
    await act(persons[0], [], type="round_check", hears=True, sees=True)
    _, (seen,) = await act(persons[1], [anne], type="round_check", hears=True, sees=False)
    statuses = {e["id"]: e["status"] for e in last(seen, "group_state")["round"]["entries"]}
    assert (statuses[g[0]], statuses[g[1]], statuses[g[2]]) == ("ok", "problem", "waiting")
    _, (seen,) = await act(anne, [persons[2]], type="round", action="next", participant=g[2])
    assert last(seen, "group_state")["round"]["current"] == g[2]
    _, (seen,) = await act(anne, [persons[2]], type="round", action="end")
    assert last(seen, "group_state")["round"] == {}

    # -- the agenda item in progress, and the time since the start ------------------------------
    _, (seen,) = await act(anne, [persons[1]], type="agenda", item=1)
    state = last(seen, "group_state")
    assert state["agenda_item"] == 1 and state["agenda_since"]
    mine, _ = await act(anne, [], type="agenda", item=5)
    assert last(mine, "error")["code"] == "bad_field"

    # -- removing a person: link revoked, connection closed with 4403, cookie refused -----------
    sophie, sophie_client = persons[2], clients[2]
    await anne.send(type="remove", participant=g[2])
    assert (await sophie.expect("ended"))["reason"] == "removed"
    closed = await sophie.next()
    assert closed == {"type": "_closed", "code": 4403}
    for wire in (anne, marc, persons[0]):
        assert (await wire.expect("peer_left"))["peer"] == g[2]
    page = await sophie_client.request("GET", f"/rdv/{planned['appointments'][2][0].public_id}",
                                       headers={"Accept": "text/html"})
    assert page.status == 410
    url = proxima.url.replace("https://", "wss://") + \
        f"/ws/{planned['appointments'][2][0].public_id}"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused_ws:
        await sophie_client.session.ws_connect(url, origin=proxima.url)
    assert refused_ws.value.status == 403
    sophie_case = planned["cases"][2]["id"]
    audit = await proxima.store.audit.entries(sophie_case)
    assert any(a["action"] == "remove_participant" and a["outcome"] == "ok" for a in audit)
    record = await proxima.store.entries.for_case(sophie_case)
    assert any(e.kind == "invitation_revoked" for e in record)
    persons, members = persons[:2], {k: v for k, v in members.items() if k != g[2]}
    for wire in (anne, marc, luc, *persons):
        await wire.drain()

    # -- attends by phone: a browser of hers, or a person with no browser ----------------------
    await act(anne, [], type="by_phone", participant=g[1], by_phone=True)
    yasmine = planned["appointments"][3][0].id
    mine, _ = await act(anne, [], type="by_phone", appointment=yasmine, by_phone=True)
    people = last(mine, "lobby")["people"]
    assert [p["by_phone"] for p in people] == [False, True, False, True]
    mine, _ = await act(persons[0], [], type="by_phone", appointment=yasmine)
    assert last(mine, "error")["code"] == "host_only"

    # -- time: 45 minutes without a break, a break with its countdown, everyone back -----------
    await room_clock.advance(dt.timedelta(minutes=44))
    assert "reminder" not in kinds(await anne.drain())
    await room_clock.advance(dt.timedelta(minutes=1))
    assert last(await anne.drain(), "reminder") == {"type": "reminder", "kind": "break_due",
                                                    "minutes": 45}
    assert "reminder" not in kinds(await marc.drain())  # to the facilitator
    _, seen = await act(anne, [marc, *persons], type="break_start", minutes=10)
    for messages in seen:
        started = last(messages, "break_started")
        assert started["minutes"] == 10 and started["remaining_seconds"] == 600
        assert last(messages, "group_state")["break_remaining_seconds"] == 600
    await room_clock.advance(dt.timedelta(minutes=9))
    assert "reminder" not in kinds(await anne.drain())
    await room_clock.advance(dt.timedelta(minutes=1))
    assert last(await anne.drain(), "reminder")["kind"] == "break_time_up"
    _, seen = await act(anne, [marc, luc, *persons], type="break_end")
    for messages in seen:
        assert "break_over" in kinds(messages)
        assert last(messages, "group_state")["break_until"] == ""
    mine, _ = await act(anne, [], type="break_end")
    assert last(mine, "error")["code"] == "no_break"

    # -- 10 minutes before the planned end ------------------------------------------------------
    await room_clock.advance_to(group.ends_at - dt.timedelta(minutes=10, seconds=1))
    assert "reminder" not in kinds(await anne.drain())
    await room_clock.advance(dt.timedelta(seconds=1))
    assert last(await anne.drain(), "reminder") == {"type": "reminder", "kind": "end_soon",
                                                    "minutes": 10}

    # -- the end: the log keeps the roles, the breaks, the stays and "by phone" -----------------
    await anne.send(type="end")
    await persons[0].expect("ended")
    ended = await proxima.store.interviews.latest_in(_ref(group))
    log = ended.log
    assert log.participants[luc.inbox[0]["id"]].role == "note_taker"
    assert log.participants[g[1]].by_phone is True
    phone_only = log.participants[f"a:{yasmine}"]
    assert phone_only.by_phone and phone_only.name == "Yasmine Haddad"
    assert phone_only.stays and phone_only.stays[0].left
    assert [(b.minutes, bool(b.ended)) for b in log.breaks] == [(10, True)]
    assert log.participants[g[2]].stays[-1].left  # the removed person's stay is closed
    assert any(i.kind == "removed" for i in log.incidents)
    assert room_clock.pending == 0  # the session's timers went with it
    # Her case record has her part: attended, by phone; nobody else's name in it.
    entries = await proxima.store.entries.for_case(planned["cases"][3]["id"])
    [mine] = [e.data for e in entries if e.kind == "group_session"]
    assert mine["attended"] is True and mine["attendance"]["by_phone"] is True
    assert not any(name in json.dumps(mine, ensure_ascii=False) for _, name in PEOPLE)


def _ref(group: Any) -> Any:
    from server.domain.room import RoomRef
    return RoomRef.of_group(group)
