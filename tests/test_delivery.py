"""Delivery paths beyond plain SMTP: STARTTLS with authentication, an HTTP SMS gateway, and the
health probes."""

from __future__ import annotations

import gc
import ssl
import warnings

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import Mailbox, appointment_form, eventually, free_port, new_case


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"proxima"
          and auth_data.password == b"s3cret pass")
    return AuthResult(success=ok)


async def test_starttls_and_authentication(make_proxima, cert_dir):
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_dir / "server.pem", cert_dir / "server-key.pem")
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=tls,
                            require_starttls=True, authenticator=authenticator,
                            auth_require_tls=True)
    controller.start()
    try:
        url = (f"smtp://proxima:s3cret%20pass@127.0.0.1:{port}"
               f"?starttls=required&cafile={cert_dir / 'ca.pem'}")
        proxima = await make_proxima(smtp_url=url)
        anne = await proxima.worker()
        case = await new_case(anne)
        await anne.json("POST", f"/api/cases/{case['id']}/appointments", appointment_form(),
                        status=201)
        [envelope] = await mailbox.wait(1)
        assert b"text/calendar" in envelope.content

    finally:
        controller.stop()
        # aiosmtpd leaves its side of a STARTTLS connection to the garbage collector.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


async def test_sms_reminder_through_an_http_gateway(make_proxima):
    received = []

    async def gateway(request: web.Request) -> web.Response:
        received.append(dict(request.query))
        return web.Response(text="queued")

    app = web.Application()
    app.router.add_post("/send", gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        proxima = await make_proxima(
            sms_gateway=f"http://127.0.0.1:{port}/send?to={{to}}&text={{text}}",
            sms_reminder_minutes=10 * 24 * 60)  # due at once
        anne = await proxima.worker()
        case = await new_case(anne, mobile="06 11 22 33 44")
        created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                                  appointment_form(sms_reminder=True, time="11:15"), status=201)
        await eventually(lambda: received)
        [sms] = received
        assert sms["to"] == "06 11 22 33 44"
        assert created["link"] in sms["text"] and "11:15" in sms["text"]
        assert "Fatou" not in sms["text"] and "logement" not in sms["text"]

        async def recorded():
            record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
            return "reminder_sent" in [e["kind"] for e in record]
        await eventually(recorded)
    finally:
        await runner.cleanup()


async def test_health_probes(proxima):
    client = proxima.client()
    assert (await client.json("GET", "/healthz"))["status"] == "ok"
    assert (await client.json("GET", "/readyz"))["status"] == "ready"
    await proxima.store.db.run(lambda c: c.execute("PRAGMA query_only = ON"))
    r = await client.request("GET", "/readyz")
    assert r.status == 503
    await proxima.store.db.run(lambda c: c.execute("PRAGMA query_only = OFF"))
    assert (await client.request("GET", "/readyz")).status == 200


async def test_emails_say_their_language(make_proxima, smtp_server):
    """Content-Language survives building the email (set_content and the multipart wrapping
    move or drop Content-* headers): on the message and on its text and HTML parts."""
    import email
    import email.policy

    proxima = await make_proxima(smtp_url=smtp_server.url)
    anne = await proxima.worker()
    for language in ("fr", "en"):
        case = await new_case(anne, reference=f"DOS-{language}", language=language,
                              email=f"person-{language}@example.net")
        await anne.json("POST", f"/api/cases/{case['id']}/appointments", appointment_form(),
                        status=201)
    for envelope in await smtp_server.mailbox.wait(2):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        language = message["To"].split("@")[0].removeprefix("person-")
        assert message["Content-Language"] == language
        bodies = [part for part in message.walk()
                  if part.get_content_type() in ("text/plain", "text/html")]
        assert len(bodies) == 2
        assert all(part["Content-Language"] == language for part in bodies)
