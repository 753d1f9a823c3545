"""Helpers for the live-interview tests: appointments about to start, raw signalling clients."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from conftest import Client, appointment_form, new_case

from server.domain.consent import consent_hash

# Every RTCPeerConnection a page makes, for the test to read its getStats (an init script runs
# before the page's own scripts, outside its Content-Security-Policy); the benchmarks use it too.
RECORD_PEER_CONNECTIONS = """(() => {
    const Real = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = function (...args) {
        const pc = new Real(...args);
        window.__pcs.push(pc);
        return pc;
    };
    window.RTCPeerConnection.prototype = Real.prototype;
})()"""


def soon_form(**overrides: Any) -> dict[str, Any]:
    """An appointment starting in a few minutes (its waiting room is open)."""
    start = dt.datetime.now(ZoneInfo("Europe/Paris")) + dt.timedelta(minutes=5)
    return appointment_form(date=start.strftime("%Y-%m-%d"), time=start.strftime("%H:%M"),
                            **overrides)


async def planned_soon(proxima: Any, worker: Client | None = None, **form: Any,
                       ) -> tuple[Client, dict[str, Any], dict[str, Any], str]:
    """A worker, a case, an appointment starting soon, and the appointment's public id."""
    worker = worker or await proxima.worker()
    case = await new_case(worker)
    created = await worker.json("POST", f"/api/cases/{case['id']}/appointments",
                                soon_form(**form), status=201)
    appointment = await proxima.store.appointments.get(created["appointment"]["id"])
    return worker, case, created, appointment.public_id


class Wire:
    """A raw signalling connection, as a test drives it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.inbox: list[dict[str, Any]] = []

    async def send(self, **msg: Any) -> None:
        await self.ws.send_str(json.dumps(msg))

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        frame = await self.ws.receive(timeout=timeout)
        if frame.type == aiohttp.WSMsgType.CLOSE:  # the code the server closed with
            return {"type": "_closed", "code": frame.data}
        if frame.type != aiohttp.WSMsgType.TEXT:
            return {"type": "_closed", "code": self.ws.close_code}
        msg = json.loads(frame.data)
        self.inbox.append(msg)
        return msg

    async def expect(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of type ``kind`` (others are kept in ``inbox``)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {kind} message; got {[m['type'] for m in self.inbox]}")
            msg = await self.next(timeout=left)
            if msg["type"] == kind:
                return msg
            if msg["type"] == "_closed":
                raise AssertionError(f"closed ({msg['code']}) while waiting for {kind}")

    async def drain(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Everything the server sent to this socket before it answers a ping sent now.

        Messages to one socket keep their order, so once the pong is in, whatever the server had
        queued for this participant has arrived: no need to wait for silence. The pong itself is
        left out (of the result and of ``inbox``)."""
        await self.send(type="ping")
        got = []
        while (msg := await self.next(timeout=timeout))["type"] != "pong":
            if msg["type"] == "_closed":
                raise AssertionError(f"closed ({msg['code']}) before the pong")
            got.append(msg)
        self.inbox.pop()
        return got

    async def quiet(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Everything received within ``seconds``."""
        got = []
        try:
            while True:
                got.append(await self.next(timeout=seconds))
                if got[-1]["type"] == "_closed":
                    break
        except TimeoutError:
            pass
        return got


async def connect(proxima: Any, client: Client, public_id: str, hello: bool = True,
                  origin: str | None = None, resume: bool = False) -> Wire:
    url = proxima.url.replace("https://", "wss://") + f"/ws/{public_id}"
    ws = await client.session.ws_connect(url, origin=origin or proxima.url)
    proxima.websockets.append(ws)
    wire = Wire(ws)
    if hello:
        await wire.send(type="hello", version=1, resume=resume)
        await wire.expect("welcome")
    return wire


async def guest(proxima: Any, link: str, user_agent: str | None = None) -> Client:
    """A browser that opened the invitation link (it holds its own cookie)."""
    client = proxima.client(user_agent) if user_agent else proxima.client()
    response = await client.request("GET", link.replace(proxima.url, ""),
                                    headers={"Accept": "text/html"})
    assert response.status == 200
    return client


async def consent(wire: Wire, modality: str = "video", lang: str = "fr", **extra: Any) -> None:
    await wire.send(type="consent", modality=modality, audio_fallback=True,
                    others_present=False, others="", text_hash=consent_hash(lang), **extra)


FAKE_SDP = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
            "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:"
            "44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n")


async def in_call(proxima: Any, **form: Any) -> dict[str, Any]:
    """A worker and a person who consented and was let in: both wires and each one's peer id."""
    anne, case, created, public_id = await planned_soon(proxima, **form)
    person = await connect(proxima, await guest(proxima, created["link"]), public_id)
    await consent(person)
    worker = await connect(proxima, anne, public_id)
    entry = (await worker.expect("lobby"))["waiting"][0]
    await worker.send(type="admit", participant=entry["id"])
    return {"anne": anne, "case": case, "created": created, "public_id": public_id,
            "person": person, "worker": worker,
            "to_worker": (await person.expect("admitted"))["peer"],
            "to_person": (await worker.expect("admitted"))["peer"]}


async def session_closed(proxima: Any, closing: dict[str, Any]) -> dict[str, Any]:
    """``in_call``, then the session ended by the worker and its closing form sent."""
    call = await in_call(proxima)
    appointment_id = call["created"]["appointment"]["id"]
    await call["worker"].send(type="end")
    await call["person"].expect("ended")
    await call["anne"].json("POST", f"/api/appointments/{appointment_id}/session/closing",
                            closing)
    return call


async def worker_ready(proxima: Any, new_context: Any, appointment_id: int,
                       viewport: dict[str, int] | None = None) -> Any:
    """A worker's page (at ``viewport``'s size, if given), logged in, on the interview page,
    readiness checklist ticked."""
    import re

    from conftest import login_in_browser
    size = {"viewport": viewport} if viewport else {}
    page = await (await new_context(ignore_https_errors=True, locale="fr-FR", **size)).new_page()
    await login_in_browser(page, proxima.url)
    await page.goto(proxima.url + f"/appointments/{appointment_id}/live")
    await page.get_by_label("Je suis dans un endroit calme").check()
    await page.get_by_label(re.compile("Personne ne peut entendre")).check()
    await page.get_by_role("button", name="Je suis prêt·e").click()
    return page


async def to_step(page: Any, button_name: str) -> None:
    """The person's page, one step per screen: 'Continue' from step to step until the button
    named ``button_name`` shows (the check's 'Start the check', the consent's 'I agree')."""
    import re

    from playwright.async_api import expect
    wanted = page.get_by_role("button", name=button_name)
    for _ in range(4):
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        if await wanted.is_visible():
            return
        await page.get_by_role("button", name=re.compile("^(Continuer|Continue)$")).click()
    await expect(wanted).to_be_visible()


async def to_consent(page: Any) -> None:
    """The person's page from its arrival to the consent step (French)."""
    await to_step(page, "J'accepte : aller dans la salle d'attente")


async def to_check(page: Any) -> None:
    """The person's page from its arrival to the sound and camera check (French)."""
    await to_step(page, "Commencer la vérification")
