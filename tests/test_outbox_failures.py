"""The outbox when delivery goes wrong, against a real SMTP server (aiosmtpd) that refuses, and a
real HTTP SMS gateway: a 5xx reply fails the message at once with a plain reason, a 4xx reply is
retried up to ``outbox_max_attempts``; the crash window sends a duplicate that mail systems fold
(same Message-ID, same bytes); the server's reply, which quotes the address, is never in clear in
the database nor in the logs."""

from __future__ import annotations

import email
import email.policy
import email.utils
import logging
import re
import sqlite3
from html.parser import HTMLParser
from typing import Any

from aiohttp import web
from conftest import (
    Mailbox,
    SmtpServer,
    appointment_form,
    axe_violations,
    eventually,
    free_port,
    login_in_browser,
    new_case,
)
from playwright.async_api import expect

from server.base import clock, i18n
from server.delivery.errors import PERMANENT, REASONS
from server.edge.http import CONFIG, POSTMAN
from server.storage import db


class Refusing(Mailbox):
    """A mail server that answers ``rcpt`` to RCPT TO and ``data`` to DATA (when given)."""

    def __init__(self, rcpt: str | None = None, data: str | None = None) -> None:
        super().__init__()
        self.rcpt, self.data = rcpt, data
        self.rcpt_count = self.data_count = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        self.rcpt_count += 1
        if self.rcpt:
            return self.rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_count += 1
        if self.data:
            return self.data
        return await super().handle_DATA(server, session, envelope)


class Text(HTMLParser):
    """The text a person reads on a page (tags dropped, entities decoded, spaces folded)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        return " ".join(" ".join(parser.parts).split())


async def page_text(client: Any, path: str) -> str:
    response = await client.request("GET", path, headers={"Accept": "text/html"})
    assert response.status == 200, path
    return Text.of(await response.text())


async def refusing_smtp(handler: Refusing) -> SmtpServer:
    server = SmtpServer(free_port(), handler)
    server.start()
    return server


async def plan(proxima: Any, **case: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    anne = await proxima.worker()
    created_case = await new_case(anne, **case)
    created = await anne.json("POST", f"/api/cases/{created_case['id']}/appointments",
                              appointment_form(), status=201)
    return anne, created_case, created


async def only_message(client: Any, status: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        [m] = (await client.json("GET", "/api/outbox"))["messages"]
        return m if m["status"] == status else None
    return await eventually(check)


async def test_unknown_recipient_fails_at_once_with_a_plain_reason(make_proxima):
    handler = Refusing(rcpt="550 5.1.1 <fatou@example.net>: Recipient address rejected")
    smtp = await refusing_smtp(handler)
    try:
        proxima = await make_proxima(smtp_url=smtp.url)
        anne, case, created = await plan(proxima)
        failed = await only_message(anne, "failed")
        # Failed at the first attempt: a 5xx reply is not retried.
        assert failed["attempts"] == 1 and handler.rcpt_count == 1
        assert failed["last_error"] == "recipient_refused"
        assert not await proxima.app[POSTMAN].deliver_one()
        assert handler.rcpt_count == 1
        # The worker can still send the link another way.
        assert failed["link"] == created["link"] and created["link"] in failed["text"]

        reason = "Le serveur de messagerie a refusé l'adresse"
        appointment_page = await page_text(
            anne, f"/appointments/{created['appointment']['id']}")
        assert reason in appointment_page
        assert "Prévenez la personne autrement" in appointment_page
        assert "Copier le lien" in appointment_page
        outbox_page = await page_text(anne, "/outbox")
        assert reason in outbox_page and "Copier le lien" in outbox_page
        # The worker may read the server's own words (they quote the address: sealed at rest).
        assert "Recipient address rejected" in outbox_page
        case_page = await page_text(anne, f"/cases/{case['id']}")
        assert f"Message non envoyé: {reason}" in case_page and "L'envoyer autrement" in case_page
        record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
        [entry] = [e for e in record if e["kind"] == "invitation_failed"]
        assert entry["data"]["reason"] == "recipient_refused"
        assert entry["data"]["will_retry"] is False

        english_page = await page_text(anne, "/outbox?lang=en")
        assert "The mail server refused the address" in english_page
    finally:
        smtp.stop()


async def test_a_message_refused_after_data_fails_at_once(make_proxima):
    handler = Refusing(data="554 5.7.1 Message rejected as spam")
    smtp = await refusing_smtp(handler)
    try:
        proxima = await make_proxima(smtp_url=smtp.url)
        anne, _, created = await plan(proxima)
        failed = await only_message(anne, "failed")
        assert failed["attempts"] == 1 and handler.data_count == 1
        assert failed["last_error"] == "message_refused"
        assert failed["link"] == created["link"]
        page = await page_text(anne, f"/appointments/{created['appointment']['id']}")
        assert "Le serveur de messagerie a refusé le message" in page
    finally:
        smtp.stop()


async def test_a_full_mailbox_is_retried_up_to_the_cap_and_the_address_stays_sealed(
        make_proxima, caplog):
    caplog.set_level(logging.INFO, logger="proxima")
    handler = Refusing(data="452 4.2.2 <fatou@example.net>: mailbox full")
    smtp = await refusing_smtp(handler)
    try:
        proxima = await make_proxima(smtp_url=smtp.url, outbox_max_attempts=3)
        anne, case, created = await plan(proxima)
        failed = await only_message(anne, "failed")
        assert failed["attempts"] == 3 and handler.data_count == 3
        assert failed["last_error"] == "mail_server_deferred"
        assert failed["link"] == created["link"]
        assert not await proxima.app[POSTMAN].deliver_one()
        page = await page_text(anne, f"/appointments/{created['appointment']['id']}")
        assert "n'a pas pu prendre le message" in page
        assert "Proxima a arrêté d'essayer après 3 tentatives" in page
        record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
        failures = [e["data"] for e in record if e["kind"] == "invitation_failed"]
        # The first failure (will retry) and the last (gave up) are in the case record.
        assert [f["will_retry"] for f in failures] == [True, False]

        # The reply quotes the address: sealed in the database, absent from the log.
        [message] = await proxima.store.outbox.listing(None)
        assert "fatou@example.net" in message.error_reply
        await proxima.store.db.run(lambda c: c.execute("PRAGMA wal_checkpoint(FULL)"))
        stored = b"".join(p.read_bytes() for p in
                          proxima.app[CONFIG].data_path.glob("proxima.sqlite3*"))
        assert b"mail_server_deferred" in stored
        assert b"fatou" not in stored and b"mailbox full" not in stored
        logged = [r for r in caplog.records if r.name.startswith("proxima")]
        assert any(r.levelno == logging.WARNING and "mail_server_deferred" in r.getMessage()
                   for r in logged)
        assert not any("fatou" in r.getMessage() or "mailbox full" in r.getMessage()
                       for r in logged)
    finally:
        smtp.stop()


async def test_the_crash_window_resends_the_same_message(make_proxima):
    """A crash after the server accepted the message but before it is marked sent makes the
    Postman send it again: the duplicate must be the same message (same Message-ID, same
    bytes), so mail systems and clients fold it."""
    proxima = None
    rows: list[sqlite3.Row] = []

    class Accepting(Mailbox):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            # The crash window: the mail server has the message, the outbox row is not yet
            # marked sent. Keep that row as it stands.
            assert proxima is not None
            conn = sqlite3.connect(proxima.app[CONFIG].database_path)
            conn.row_factory = sqlite3.Row
            rows.extend(conn.execute("SELECT * FROM outbox").fetchall())
            conn.close()
            return await super().handle_DATA(server, session, envelope)

    mailbox = Accepting()
    smtp = SmtpServer(free_port(), mailbox)
    smtp.start()
    try:
        proxima = await make_proxima(smtp_url=smtp.url)
        anne, _, created = await plan(proxima)
        [first] = await mailbox.wait(1)
        await only_message(anne, "sent")
        [row] = rows
        assert row["status"] == "pending" and row["payload"] is not None

        # The next attempt comes at least a second later, so anything taken from the time of
        # sending would differ.
        await eventually(lambda: clock.now() > clock.from_db(row["created_at"]))
        # After the crash, the row is as the dead process left it; its lease has run out.
        await proxima.store.db.run(lambda c: c.execute(
            "UPDATE outbox SET status = ?, attempts = ?, sent_at = NULL, payload = ?,"
            " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            (row["status"], row["attempts"], row["payload"], row["id"])))
        proxima.app[POSTMAN].wake()
        second = (await mailbox.wait(2))[1]
        await only_message(anne, "sent")

        one = email.message_from_bytes(first.content, policy=email.policy.default)
        two = email.message_from_bytes(second.content, policy=email.policy.default)
        assert one["Message-ID"] == two["Message-ID"]
        assert one["Message-ID"].endswith("@127.0.0.1>")
        assert email.utils.parsedate_to_datetime(one["Date"]) == clock.from_db(row["created_at"])
        assert first.content == second.content
        assert created["link"] in first.content.decode()
    finally:
        smtp.stop()


async def test_sms_gateway_client_errors_are_permanent_others_temporary(make_proxima):
    answers: list[int] = []
    received: list[dict[str, str]] = []

    async def gateway(request: web.Request) -> web.Response:
        received.append(dict(request.query))
        status = answers.pop(0) if answers else 200
        return web.Response(status=status, text=f"refused {request.query.get('to')}")

    app = web.Application()
    app.router.add_post("/send", gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        # 5xx, 408 and 429 are temporary: retried, then sent.
        answers.extend([503, 429, 408])
        proxima = await make_proxima(
            sms_gateway=f"http://127.0.0.1:{port}/send?to={{to}}&text={{text}}&ref={{ref}}",
            sms_reminder_minutes=10 * 24 * 60)  # due at once
        anne = await proxima.worker()
        case = await new_case(anne, email="", mobile="06 11 22 33 44")
        url = f"/api/cases/{case['id']}/appointments"
        await anne.json("POST", url, appointment_form(sms_reminder=True), status=201)

        async def sms(status: str) -> dict[str, Any] | None:
            messages = (await anne.json("GET", "/api/outbox"))["messages"]
            found = [m for m in messages if m["channel"] == "sms" and m["status"] == status]
            return found[0] if found else None
        sent = await eventually(lambda: sms("sent"))
        assert sent["attempts"] == 4 and len(received) == 4
        # The same reference on every attempt, for gateways that fold duplicates.
        assert len({r["ref"] for r in received}) == 1

        # Another 4xx is permanent: failed at once, the link kept for the worker.
        answers.append(400)
        received.clear()
        created = await anne.json("POST", url, appointment_form(sms_reminder=True, time="15:00"),
                                  status=201)
        failed = await eventually(lambda: sms("failed"))
        assert failed["attempts"] == 1 and len(received) == 1
        assert failed["last_error"] == "sms_refused"
        assert failed["link"] == created["link"]
        page = await page_text(anne, f"/appointments/{created['appointment']['id']}")
        assert "La passerelle SMS a refusé le message" in page
        # The gateway's answer quotes the number: sealed, not in clear.
        await proxima.store.db.run(lambda c: c.execute("PRAGMA wal_checkpoint(FULL)"))
        stored = b"".join(p.read_bytes() for p in
                          proxima.app[CONFIG].data_path.glob("proxima.sqlite3*"))
        assert b"06 11 22 33 44" not in stored and b"06%2011" not in stored
    finally:
        await runner.cleanup()


def test_every_reason_reads_plainly_in_both_languages():
    for lang in ("fr", "en"):
        env = i18n.environment(lang)
        template = env.from_string(
            '{% from "console/_macros.html" import delivery_reason %}{{ delivery_reason(code) }}')
        texts = {code: template.render(code=code).strip() for code in REASONS}
        for code, text in texts.items():
            assert text and text != code and "_" not in text, (lang, code, text)
        assert len(set(texts.values())) == len(texts), lang
    assert PERMANENT < REASONS


def test_errors_kept_in_clear_before_the_migration_are_replaced_by_reason_codes(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, sql in db._migrations():
        if number < 5:
            for statement in db._split(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
    errors = ["mail server unreachable (ConnectionRefusedError)",
              "recipient refused by the mail server",
              "mail server error: (452, '4.2.2 <zoe@example.net>: mailbox full')",
              "SMS gateway answered HTTP 503", "KeyError: 'zoe@example.net'", ""]
    for n, error in enumerate(errors):
        conn.execute(
            "INSERT INTO outbox (channel, kind, recipient_hint, status, last_error, created_at,"
            " next_attempt_at) VALUES ('email', 'invitation', '', 'pending', ?, ?, ?)",
            (error, f"2026-01-0{n + 1}T10:00:00Z", "2026-01-01T10:00:00Z"))
    conn.close()
    conn = db.connect(path)
    kept = [r[0] for r in conn.execute("SELECT last_error FROM outbox ORDER BY id")]
    conn.close()
    assert kept == ["mail_server_unreachable", "mail_server_deferred", "mail_server_deferred",
                    "sms_gateway_deferred", "unexpected", ""]
    assert all(code in REASONS for code in kept if code)
    assert b"zoe" not in path.read_bytes()


async def test_a_failed_message_reads_well_on_a_phone(make_proxima, new_context):
    handler = Refusing(rcpt="550 5.1.1 <fatou@example.net>: Recipient address rejected")
    smtp = await refusing_smtp(handler)
    try:
        proxima = await make_proxima(smtp_url=smtp.url)
        anne, case, created = await plan(proxima)
        await only_message(anne, "failed")
        context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                    viewport={"width": 360, "height": 640})
        page = await context.new_page()
        await login_in_browser(page, proxima.url)
        for path in (f"/appointments/{created['appointment']['id']}", "/outbox",
                     f"/cases/{case['id']}"):
            await page.goto(proxima.url + path)
            await expect(page.get_by_text("Le serveur de messagerie a refusé l'adresse").first
                         ).to_be_visible()
            assert await axe_violations(page) == [], path
            assert not await page.evaluate(
                "document.documentElement.scrollWidth > window.innerWidth"), path
        await page.get_by_role("link", name="L'envoyer autrement").click()
        await page.wait_for_url(re.compile(r"/appointments/\d+#messages$"))
        await expect(page.get_by_role("button", name="Copier le lien")).to_be_visible()
    finally:
        smtp.stop()
