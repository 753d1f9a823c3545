"""My account: a worker sets their own name, phone, console language and password, through the
API and in Chromium; invitations and new appointments use them; changes are audited."""

from __future__ import annotations

import email
import email.policy
import re

from conftest import WORKER_PASSWORD, appointment_form, axe_violations, login_in_browser, new_case
from playwright.async_api import expect


async def test_my_account_through_the_api(proxima):
    anne = await proxima.worker(name="Administrator", phone="")
    me = (await anne.json("GET", "/api/account"))["worker"]
    assert (me["email"], me["display_name"], me["phone"], me["language"]) == (
        "anne@example.org", "Administrator", "", "")

    changed = await anne.json("PATCH", "/api/account", {
        "display_name": "  Dupont, Hélène ", "phone": "01 44 55 66 77", "language": "en"})
    assert changed["worker"]["display_name"] == "Dupont, Hélène"
    assert changed["worker"]["phone"] == "01 44 55 66 77"
    assert changed["worker"]["language"] == "en"
    assert (await anne.json("GET", "/api/session"))["worker"]["phone"] == "01 44 55 66 77"

    # Refused plainly, and nothing changes.
    for body, field in [({"display_name": "   "}, "display_name"), ({"phone": "call me"}, "phone"),
                        ({"language": "de"}, "language"), ({"role": "admin"}, "role"),
                        ({"email": "x@example.org"}, "email"), ({"phone": 612}, "phone")]:
        refused = await anne.json("PATCH", "/api/account", body, status=400)
        assert refused["field"] == field, body
    assert (await anne.json("GET", "/api/account"))["worker"] == changed["worker"]
    # An empty body changes nothing (and writes nothing to the audit log).
    assert (await anne.json("PATCH", "/api/account", {}))["worker"] == changed["worker"]

    # The audit log names the fields changed, not their values.
    audit = [e for e in await proxima.store.audit.entries() if e["action"] == "update_account"]
    assert len(audit) == 1
    assert audit[0]["target"].endswith(":display_name,language,phone")
    assert audit[0]["actor"] == f"worker:{me['id']}" and "01 44" not in str(audit)

    # The language is the account's, in any browser: a new login reads English pages and
    # English API messages, whatever the browser asks for.
    other = proxima.client()
    await other.login("anne@example.org", WORKER_PASSWORD)
    page = await other.request("GET", "/cases", headers={"Accept": "text/html",
                                                         "Accept-Language": "fr-FR,fr"})
    assert '<html lang="en">' in await page.text()
    refused = await other.json("PATCH", "/api/account", {"phone": "?"}, status=400,
                               headers={"Accept-Language": "fr-FR,fr"})
    assert refused["message"] == "This is not a valid phone number."
    # Back to the browser's language.
    await other.json("PATCH", "/api/account", {"language": ""},
                     headers={"Accept-Language": "fr-FR,fr"})
    page = await other.request("GET", "/cases", headers={"Accept": "text/html",
                                                         "Accept-Language": "fr-FR,fr"})
    assert '<html lang="fr">' in await page.text()

    # Not logged in, or still on a one-time password: refused.
    assert (await proxima.client().json("GET", "/api/account", status=401))["error"] == \
        "login_required"
    from server.services import accounts
    _, password = await accounts.create_worker(proxima.store, "new@example.org", "New", "",
                                               "worker")
    newcomer = proxima.client()
    await newcomer.login("new@example.org", password)
    assert (await newcomer.json("PATCH", "/api/account", {"phone": "01 23 45 67 89"},
                                status=403))["error"] == "password_change_required"


async def test_invitations_and_new_appointments_use_my_name_and_phone(make_proxima,
                                                                      smtp_server):
    proxima = await make_proxima(smtp_url=smtp_server.url)
    anne = await proxima.worker(name="Administrator", phone="")
    await anne.json("PATCH", "/api/account", {"display_name": "Hélène Dupont",
                                              "phone": "01 44 55 66 77"})
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(incident_phone=""), status=201)
    assert created["appointment"]["incident_phone"] == "01 44 55 66 77"
    [envelope] = await smtp_server.mailbox.wait(1)
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert "Hélène Dupont" in message["Subject"] and "Administrator" not in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Hélène" in text and "01 44 55 66 77" in text and "Administrator" not in text
    form = await anne.request("GET", f"/cases/{case['id']}/appointments/new",
                              headers={"Accept": "text/html"})
    assert re.search(r'id="incident_phone"[^>]*value="01 44 55 66 77"', await form.text())


async def test_my_account_page_in_chromium(proxima, new_context, screenshots):
    anne = await proxima.worker(name="Administrator", phone="")
    case = await new_case(anne)
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    await login_in_browser(page, proxima.url)

    # From the console's menu.
    await page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Mon compte").click()
    await expect(page.get_by_role("heading", name="Mon compte", level=1)).to_be_visible()
    await expect(page.get_by_text("anne@example.org")).to_be_visible()
    assert await axe_violations(page) == []

    # A wrong phone number: said plainly, nothing lost.
    await page.get_by_label("Votre nom").fill("Hélène Dupont")
    await page.get_by_label("Votre numéro de téléphone professionnel").fill("appelez-moi")
    await page.get_by_role("button", name="Enregistrer mes informations").click()
    await expect(page.get_by_role("alert").filter(has_text="numéro")).to_be_visible()
    await expect(page.get_by_label("Votre nom")).to_have_value("Hélène Dupont")

    # Name, phone and language saved: the console answers in English.
    await page.get_by_label("Votre numéro de téléphone professionnel").fill("01 44 55 66 77")
    await page.get_by_label("Langue de la console").select_option("en")
    await page.get_by_role("button", name="Enregistrer mes informations").click()
    await expect(page.get_by_role("status")).to_have_text("Your details are saved.")
    await expect(page.get_by_role("heading", name="My account", level=1)).to_be_visible()
    await expect(page.get_by_label("Your name")).to_have_value("Hélène Dupont")
    await page.screenshot(path=str(screenshots / "my-account.png"), full_page=True)
    assert await axe_violations(page) == []

    # The appointment form starts from my phone.
    await page.goto(proxima.url + f"/cases/{case['id']}/appointments/new")
    await expect(page.get_by_label("Your phone number for incidents")).to_have_value(
        "01 44 55 66 77")

    # The password, from the same page.
    await page.get_by_role("link", name="My account").click()
    await page.get_by_label("Current password").fill(WORKER_PASSWORD)
    await page.get_by_label("New password (at least 12 characters)").fill("a new password 2026")
    await page.get_by_role("button", name="Save the new password").click()
    await expect(page.get_by_role("status")).to_have_text("Your new password is saved.")
    fresh = proxima.client()
    await fresh.login("anne@example.org", "a new password 2026")

    # The header's language button changes the account's language too.
    await page.get_by_role("button", name="Français").click()
    await expect(page.get_by_role("heading", name="Mon compte", level=1)).to_be_visible()
    assert (await fresh.json("GET", "/api/account"))["worker"]["language"] == "fr"
