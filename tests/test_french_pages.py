"""No English in a French page.

Every console page and every person's page is rendered in French with data in it (cases, an
appointment with browsers and a connection test, sent, failed and hand-sent messages, workers, the
live page, the person's page, the ended-link pages, error pages). What a person reads or hears is
collected: the text, the accessible names (aria-label, title, alt, placeholder, button values),
the confirmation texts and the ``<template>`` texts the scripts show; then English words are
looked for. The live page's texts that arrive over the WebSocket (lobby entries, help alerts,
test results, errors) are checked in a real browser and on the wire.

English is found with a list of common English words that are not French words (function
words, and the words of Proxima's own interface); names of products (Chrome, Android, Windows,
Edge...) are not in it. Text marked as another language (``lang="en"`` on the "English" link) or
as not to be translated (``translate="no"``: a mail server's own reply) is left out, and so are
addresses, links and ``{placeholders}``.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import Mailbox, SmtpServer, appointment_form, eventually, free_port, new_case
from live_helpers import connect, guest, soon_form
from playwright.async_api import expect

from server.base import crypto, i18n
from server.edge import signalling
from server.services import scheduling

ROOT = Path(__file__).resolve().parent.parent
PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/156.0 Mobile Safari/537.36")

# Common English words: one of them in a French page means a text was left untranslated.
ENGLISH = frozenset([
    "the", "and", "of", "to", "in", "is", "are", "was", "were", "be", "been", "being", "am", "with",
    "for", "by", "from", "at", "into", "onto", "than", "then", "this", "that", "these", "those",
    "it", "its", "you", "your", "yours", "we", "our", "ours", "they", "them", "their", "he", "she",
    "his", "her", "him", "who", "whom", "whose", "which", "what", "when", "where", "why", "how",
    "there", "here", "not", "no", "yes", "all", "any", "each", "every", "some", "more", "most",
    "less", "many", "much", "only", "also", "just", "very", "too", "again", "still", "already",
    "yet", "now", "soon", "later", "today", "tomorrow", "yesterday", "will", "would", "can",
    "could", "should", "shall", "may", "might", "must", "do", "does", "did", "done", "doing", "has",
    "have", "had", "having", "get", "gets", "got", "make", "made", "let", "lets", "please", "thank",
    "thanks", "sorry", "welcome", "hello", "goodbye", "new", "old", "next", "back", "first", "last",
    "other", "another", "same", "own", "such", "open", "opens", "opened", "close", "closed",
    "closes", "start", "started", "starts", "stop", "stopped", "end", "ended", "ends", "send",
    "sent", "sending", "save", "saved", "cancel", "cancelled", "canceled", "delete", "deleted",
    "remove", "removed", "copy", "copied", "edit", "changed", "create", "created", "add", "added",
    "try", "tried", "retry", "link", "links", "phone", "phones", "call", "calls", "called",
    "calling", "computer", "computers", "tablet", "browser", "browsers", "device", "devices",
    "camera", "speaker", "sound", "video", "waiting", "room", "rooms", "help", "alert", "warning",
    "error", "errors", "failed", "failure", "refused", "unknown", "invalid", "valid", "expired",
    "revoked", "pending", "withdrawn", "worker", "workers", "facilitator", "administrator", "admin",
    "account", "accounts", "password", "login", "logout", "user", "users", "email", "address",
    "name", "names", "role", "roles", "appointment", "appointments", "interview", "interviews",
    "meeting", "record", "records", "connection", "connections", "network", "server", "outbox",
    "inbox", "relay", "day", "days", "hour", "hours", "week", "weeks", "month", "months", "year",
    "years", "time", "times", "seconds", "true", "false", "null", "none", "undefined", "nan",
    "something", "nothing", "anything", "everything", "someone", "nobody", "anyone", "everyone",
    "good", "bad", "well", "poor", "weak", "fair", "strong", "off", "up", "down", "out", "over",
    "under", "about", "after", "before", "while", "during", "between", "through", "click", "press",
    "tap", "choose", "select", "enter", "show", "shown", "hide", "hidden",
])

# A deadline with seconds ("jusqu'au 29 nov., 11:45:00") reads like a duration.
WITH_SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")


def english_words(text: str) -> list[str]:
    """The English words in ``text`` (addresses, links and {placeholders} left out)."""
    text = re.sub(r"\{[a-z_]+\}|https?://\S+|\S+@\S+", " ", text)
    return [w for w in re.findall(r"[^\W\d_]+", text.lower()) if w in ENGLISH]


class Readable(HTMLParser):
    """What a person reads or hears on a page: text and accessible names, with where they are.

    Scripts and styles are skipped; so is anything inside an element marked as another language
    or ``translate="no"``. ``<template>`` contents are kept: the scripts show them."""

    ATTRIBUTES = ("aria-label", "title", "alt", "placeholder", "data-confirm", "label",
                  "aria-valuetext", "aria-roledescription")
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                      "source", "track", "wbr"})

    def __init__(self, lang: str = "fr") -> None:
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.found: list[tuple[str, str]] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.page_lang: str | None = None

    @property
    def skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.page_lang = a.get("lang")
        skip = (tag in ("script", "style") or a.get("translate") == "no"
                or ("lang" in a and tag != "html" and a["lang"] != self.lang))
        if not (skip or self.skipping):
            where = f"<{tag}{' id=' + a['id'] if 'id' in a else ''}>"
            for name in self.ATTRIBUTES:
                if a.get(name):
                    self.found.append((f"{where} {name}", a[name]))
            if tag == "input" and a.get("type") in ("submit", "button", "reset") and a.get("value"):
                self.found.append((f"{where} value", a["value"]))
        if tag not in self.VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if data.strip() and not self.skipping:
            where = self.stack[-1][0] if self.stack else "document"
            self.found.append((f"in <{where}>", " ".join(data.split())))


def problems_in(html: str, page: str) -> list[str]:
    """English words on a page, each with where it was found."""
    reader = Readable()
    reader.feed(html)
    out = [] if reader.page_lang == "fr" else [f"{page}: <html lang={reader.page_lang!r}>"]
    for where, text in reader.found:
        words = english_words(text)
        if words:
            out.append(f"{page} {where}: {text!r} has {words}")
    return out


def test_the_detector_finds_english_and_leaves_french_alone():
    assert english_words("Linux computer") == ["computer"]
    assert english_words("Chrome, Android phone") == ["phone"]
    assert english_words("not in the call") == ["not", "in", "the", "call"]
    assert english_words("admin") == ["admin"]
    assert english_words("Firefox, Windows · Edge, Mac · iPhone · Proxima") == []
    assert english_words("Connexion : bonne. Le lien a été envoyé à fatou@example.net.") == []
    assert english_words("Ouvert dans {device} sur https://example.org/j/abc") == []
    html = ('<html lang="fr"><body><p>Bonjour</p><a lang="en" href="?lang=en">English</a>'
            '<button aria-label="Close">x</button><template id="t"><p>Your link</p></template>'
            '<small translate="no">550 User unknown</small><script>var the = 1;</script>'
            '<input type="submit" value="Send"><input type="hidden" value="true"></body></html>')
    found = problems_in(html, "sample")
    assert len(found) == 3 and all(("Close" in p) or ("Your link" in p) or ("Send" in p)
                                   for p in found), found


# -- the pages, with data in them ----------------------------------------------------------------

class PickyMailbox(Mailbox):
    """A mail server that refuses one address, the way real ones do (in English)."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("inconnu"):
            return "550 5.1.1 <inconnu@example.net>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def picky_smtp():
    server = SmtpServer(free_port(), PickyMailbox())
    server.start()
    yield server
    server.stop()


async def fill_with_data(proxima: Any) -> dict[str, Any]:
    """Cases, appointments in every state, browsers, a connection test, messages, workers."""
    admin = await proxima.worker("claire@example.org", "Claire Bernard", role="admin")
    anne = await proxima.worker()
    disabled = await proxima.worker("marc@example.org", "Marc Petit", role="facilitator")
    marc, _ = await proxima.store.workers.by_email("marc@example.org")
    await admin.json("PATCH", f"/api/workers/{marc.id}", {"disabled": True})
    await disabled.session.close()

    case = await new_case(anne)
    soon = await anne.json("POST", f"/api/cases/{case['id']}/appointments", soon_form(),
                           status=201)
    later = await anne.json("POST", f"/api/cases/{case['id']}/appointments", appointment_form(),
                            status=201)
    phone_guest = await guest(proxima, soon["link"], PHONE_UA)
    await guest(proxima, soon["link"])  # and a laptop (Linux, Chrome)
    appointment = await proxima.store.appointments.get(soon["appointment"]["id"])
    [browser, *_] = await proxima.store.invitations.browsers(appointment.id)
    figures = {"rtt_ms": 40, "up_kbps": 900, "down_kbps": 1200, "loss": 0.01, "path": "unknown"}
    await proxima.store.interviews.add_test(appointment.id, browser.id, "audio", {
        "figures": figures, "browser": browser.browser, "device": browser.device})
    await proxima.store.entries.add(case["id"], "test_done", {
        "recommendation": "audio", "figures": figures, "browser": browser.browser,
        "device": browser.device}, appointment.id)

    # A case record written before reasons were codes (migration 005) kept the error in English.
    await proxima.store.entries.add(case["id"], "invitation_failed", {
        "message": "invitation", "channel": "email",
        "error": "recipient refused by the mail server", "will_retry": True}, appointment.id)

    unknown_address = await new_case(anne, reference="DOS-2026-0043",
                                     person_name="Jean Inconnu", email="inconnu@example.net")
    await anne.json("POST", f"/api/cases/{unknown_address['id']}/appointments",
                    appointment_form(), status=201)
    no_address = await new_case(anne, reference="DOS-2026-0044", person_name="Awa Sow",
                                email="", mobile="")
    await anne.json("POST", f"/api/cases/{no_address['id']}/appointments", appointment_form(),
                    status=201)

    async def failed() -> bool:
        return any(m.status == "failed" for m in await proxima.store.outbox.listing(None))
    await eventually(failed)
    return {"admin": admin, "anne": anne, "case": case, "soon": soon, "later": later,
            "phone_guest": phone_guest}


async def ended_links(proxima: Any, anne: Any, case: dict[str, Any]) -> dict[str, Any]:
    """A browser for each way a link stops working, with the page it reloads."""
    out = {}

    async def planned() -> tuple[dict[str, Any], Any, str]:
        created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                                  appointment_form(), status=201)
        browser = await guest(proxima, created["link"])
        appointment = await proxima.store.appointments.get(created["appointment"]["id"])
        return created, browser, f"/rdv/{appointment.public_id}"

    for act in ("revoke", "reissue", "cancel"):
        created, browser, path = await planned()
        await anne.json("POST", f"/api/appointments/{created['appointment']['id']}/{act}")
        out[act] = (browser, path, 410)
    created, browser, path = await planned()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    await proxima.store.invitations.set_expiry(created["appointment"]["id"], past)
    out["expired"] = (browser, path, 410)
    created, _, _ = await planned()
    await guest(proxima, created["link"])  # the cap (2) is reached
    out["full"] = (proxima.client(), created["link"].replace(proxima.url, ""), 403)
    out["unknown"] = (proxima.client(), "/j/" + crypto.new_token(), 404)
    out["no cookie"] = (proxima.client(), path, 404)
    return out


async def a_group(anne: Any) -> int:
    """A group session with two people of Anne's (the group's pages are shown with it)."""
    people = [await new_case(anne, reference=ref, person_name=name, email="")
              for ref, name in (("GRP-01", "Karim Benali"), ("GRP-02", "Sophie Lefèvre"))]
    form = {**{k: v for k, v in appointment_form().items() if k in ("date", "time", "modality")},
            "title": "Atelier logement", "duration_minutes": 60,
            "agenda": [{"title": "Tour de table", "minutes": 15}],
            "incident_phone": "01 23 45 67 89", "people": [{"case_id": c["id"]} for c in people]}
    return (await anne.json("POST", "/api/groups", form, status=201))["group"]["id"]


def console_paths(app: Any, ids: dict[str, Any]) -> list[str]:
    """Every page of the console and of the person (GET routes that answer HTML)."""
    skip_prefixes = ("/api/", "/static", "/ws/", "/j/")
    skip = {"/", "/healthz", "/readyz", "/ca.pem", "/favicon.ico"}
    paths = set()
    for route in app.router.routes():
        if route.method != "GET" or route.resource is None:
            continue
        path = route.resource.canonical
        if path in skip or path.startswith(skip_prefixes):
            continue
        for name in re.findall(r"\{(\w+)\}", path):
            prefix = path.split("/")[1]
            key = f"{prefix}.{name}"
            assert key in ids, (f"a new page {path}: tell tests/test_french_pages.py which "
                                f"{name} to show it with")
            path = path.replace("{" + name + "}", str(ids[key]))
        paths.add(path)
    return sorted(paths)


async def test_every_page_reads_in_french(make_proxima, picky_smtp):
    proxima = await make_proxima(smtp_url=picky_smtp.url, link_browsers_max=2)
    data = await fill_with_data(proxima)
    admin, anne, case, soon = data["admin"], data["anne"], data["case"], data["soon"]
    appointment = await proxima.store.appointments.get(soon["appointment"]["id"])
    ended = await ended_links(proxima, anne, case)
    html_headers = {"Accept": "text/html", "Accept-Language": "fr-FR,fr;q=0.9"}

    ids = {"cases.id": case["id"], "appointments.id": appointment.id,
           "rdv.public_id": appointment.public_id, "groups.id": await a_group(anne)}
    problems: list[str] = []
    pages = console_paths(proxima.app, ids)
    assert {"/cases", "/outbox", "/admin/workers", f"/appointments/{appointment.id}/live",
            f"/rdv/{appointment.public_id}"} <= set(pages)
    for path in pages:
        client = data["phone_guest"] if path.startswith("/rdv/") else admin
        response = await client.request("GET", path, headers=html_headers)
        assert response.status == 200, (path, response.status)
        html = await response.text()
        problems += problems_in(html, path)
        if path == f"/appointments/{appointment.id}":
            [until] = re.findall(r'<p id="link-state">(.*?)</p>', html, re.S)
            assert "fonctionne jusqu'au" in until
            if WITH_SECONDS.search(until):
                problems.append(f"{path} #link-state: {until.strip()!r} shows seconds")

    # The person's page before the waiting room opens, in each browser.
    later = await proxima.store.appointments.get(data["later"]["appointment"]["id"])
    person = await guest(proxima, data["later"]["link"])
    response = await person.request("GET", f"/rdv/{later.public_id}", headers=html_headers)
    problems += problems_in(await response.text(), "the person's page, a few days ahead")

    # The pages of links that no longer work.
    for what, (client, path, status) in ended.items():
        response = await client.request("GET", path, headers=html_headers)
        assert response.status == status, (what, response.status)
        problems += problems_in(await response.text(), f"ended link ({what})")

    # Error pages, and the API's messages that the console shows.
    outsider = await proxima.worker("luc@example.org", "Luc Moreau")
    for client, method, path, status in (
            (admin, "GET", "/nowhere", 404), (anne, "GET", "/admin/workers", 403),
            (outsider, "GET", f"/cases/{case['id']}", 403), (admin, "PUT", "/login", 405)):
        response = await client.request(method, path, headers=html_headers)
        assert response.status == status, (path, response.status)
        problems += problems_in(await response.text(), f"error {status} ({path})")
    for method, path, body in (("POST", "/api/cases", {"reference": ""}),
                               ("POST", f"/api/cases/{case['id']}/appointments",
                                appointment_form(date="2020-01-01")),
                               ("GET", "/api/cases/999", None)):
        response = await anne.request(method, path, json=body,
                                      headers={"Accept-Language": "fr-FR"})
        message = (await response.json())["message"]
        assert english_words(message) == [], (path, message)

    assert problems == [], "\n".join(problems)


# -- the live page: what arrives over the WebSocket --------------------------------------------

def refusals_in(source: Path) -> list[ast.Call]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and "Refused" in (getattr(node.func, "id", None), getattr(node.func, "attr", None))]


def test_every_refusal_on_the_wire_is_a_catalog_message():
    """A Refused message is a catalog id (N_("...")) with a French translation; each code a
    ProtocolError can carry has a plain message of its own at the edge."""
    french = i18n.translations("fr")
    import server.media
    import server.services
    from server.domain import protocol
    sources = [*Path(server.services.__file__).parent.glob("*.py"),
               *Path(server.media.__file__).parent.glob("*.py")]
    calls = [c for source in sources for c in refusals_in(source)]
    assert len(calls) >= 15
    for call in calls:
        message = call.args[1]
        assert (isinstance(message, ast.Call) and getattr(message.func, "id", None) == "N_"
                and isinstance(message.args[0], ast.Constant)), ast.unparse(call)
        text = message.args[0].value
        assert french.gettext(text) != text, f"no French for {text!r}"
    tree = ast.parse(Path(protocol.__file__).read_text(encoding="utf-8"))
    codes = {node.args[0].value for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "id", None) == "ProtocolError"
             and isinstance(node.args[0], ast.Constant)}
    assert codes and codes <= set(signalling.PROTOCOL_MESSAGES), codes
    for text in signalling.PROTOCOL_MESSAGES.values():
        assert french.gettext(text) != text, f"no French for {text!r}"


async def test_live_errors_arrive_in_french(proxima):
    from live_helpers import planned_soon

    anne, _case, created, public_id = await planned_soon(proxima)
    person = await connect(proxima, await guest(proxima, created["link"]), public_id + "?lang=fr")
    worker = await connect(proxima, anne, public_id)
    tester_client = await guest(proxima, created["link"])
    tester = await connect(proxima, tester_client, public_id + "?purpose=test&lang=fr")
    errors = []

    async def refused(wire: Any, code: str, **msg: Any) -> None:
        if "raw" in msg:
            await wire.ws.send_str(msg["raw"])
        else:
            await wire.send(**msg)
        error = await wire.expect("error")
        assert error["code"] == code, error
        errors.append(error)

    await refused(person, "not_admitted", type="chat", text="Bonjour")
    await refused(person, "worker_only", type="admit", participant="g:1")
    await refused(person, "unknown_consent_text", type="consent", modality="video",
                  audio_fallback=True, others_present=False, others="", text_hash="x")
    await refused(person, "unexpected", type="hello", version=1)
    await refused(person, "malformed", raw="{not json")
    await refused(person, "unknown_type", type="nothing")
    await refused(person, "bad_field", type="chat", text="Bonjour", extra=1)
    await refused(worker, "person_only", type="consent", modality="video", audio_fallback=True,
                  others_present=False, others="", text_hash="x")
    await refused(worker, "not_waiting", type="admit", participant="g:999")
    await refused(worker, "no_session", type="end")
    await refused(tester, "no_test", type="test_done", figures={})
    await refused(tester, "unexpected", type="chat", text="Bonjour")
    await tester.send(type="help")
    await tester.expect("help_alert")
    await refused(tester, "too_soon", type="help")
    problems = [error for error in errors
                if not error["message"] or english_words(error["message"])]
    assert problems == [], "\n".join(map(str, problems))


async def test_the_live_page_names_devices_in_french(proxima, new_context, screenshots):
    """Lobby entries, the help alert and the connection test's result arrive over the
    WebSocket: the worker's French page shows the browser and device in French."""
    from live_helpers import planned_soon, to_consent, to_step, worker_ready

    _anne, _case, created, _public_id = await planned_soon(proxima)
    worker = await worker_ready(proxima, new_context, created["appointment"]["id"])
    person = await (await new_context(ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                                      user_agent=PHONE_UA,
                                      viewport={"width": 360, "height": 740})).new_page()
    await person.goto(created["link"])
    await to_step(person, "Tester ma connexion")  # one step per screen: arrival, check, test
    await person.get_by_role("button", name="Tester ma connexion").click()
    await eventually(lambda: person.evaluate("document.getElementById('test-echo').videoWidth"),
                     timeout=15)  # the test runs: help goes through its connection
    await person.get_by_role("button", name="J'ai besoin d'aide").click()
    alert = worker.locator("#lobby-alert")
    await expect(alert).to_contain_text("Téléphone Android")
    await expect(worker.locator("#test-list li")).to_have_count(1, timeout=40_000)
    await expect(worker.locator("#test-list li")).to_contain_text("Téléphone Android")
    await to_consent(person)
    await person.get_by_label("Je suis d'accord pour que ces personnes soient là").check()
    await person.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    await expect(worker.locator("#lobby-list li")).to_contain_text("Téléphone Android")

    shown = await worker.evaluate("""() => {
        const out = [];
        const lobby = document.getElementById('lobby-step');
        out.push(lobby.innerText);
        for (const el of lobby.querySelectorAll('*')) {
            for (const name of ['aria-label', 'title', 'alt', 'placeholder'])
                if (el.getAttribute(name)) out.push(el.getAttribute(name));
            if (el.tagName === 'BUTTON') out.push(el.textContent);
        }
        return out;
    }""")
    await worker.screenshot(path=str(screenshots / "live-lobby-in-french.png"), full_page=True)
    problems = [f"{text!r} has {english_words(text)}" for text in shown if english_words(text)]
    assert problems == [], "\n".join(problems)


def test_every_browser_and_device_name_is_translated():
    """The names the live page translates are all the names a User-Agent can give."""
    french = i18n.translations("fr")
    agents = ["Mozilla/5.0 (Windows NT 10.0) Edg/120", "Firefox/140 (Macintosh)",
              "SamsungBrowser/24 (Linux; Android 14) Mobile", "Chrome/156 (X11; Linux x86_64)",
              "Safari/605 (iPhone)", "Safari/605 (iPad)", "Chrome/156 (Android 14)",
              "curl/8", ""]
    seen = {name for ua in agents for name in scheduling.describe_user_agent(ua)}
    assert seen <= set(scheduling.BROWSER_AND_DEVICE_NAMES)
    for name in scheduling.BROWSER_AND_DEVICE_NAMES:
        if english_words(name):
            assert english_words(french.gettext(name)) == [], name


async def test_the_favicon_is_proximas_own(proxima):
    response = await proxima.client().request("GET", "/favicon.ico")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/x-icon"
    assert (await response.read())[:4] == b"\x00\x00\x01\x00"  # an ICO file
