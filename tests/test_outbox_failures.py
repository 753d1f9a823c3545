"""The outbox when delivery goes wrong. A crash after the mail server accepted a message but before
it is marked sent makes Proxima send it again: the duplicate must be the same message, so that mail
systems and clients fold it."""

from __future__ import annotations

import email
import email.policy
import email.utils
import sqlite3
from typing import Any

from conftest import Mailbox, SmtpServer, appointment_form, eventually, free_port, new_case
from server import clock
from server.edge import CONFIG, POSTMAN


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
