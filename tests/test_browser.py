"""The console and the person's page in real Chromium: by role and name, at 360 px, with axe."""

from __future__ import annotations

import re

from conftest import appointment_form, axe_violations, eventually, new_case
from live_helpers import to_check
from playwright.async_api import expect

from server.services import accounts


async def test_worker_first_login_case_and_appointment(proxima, new_context):
    _admin, one_time = await accounts.create_worker(proxima.store, "admin@example.org",
                                                    "Claire Admin", "01 40 00 00 00", "admin")
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1024, "height": 800})
    page = await context.new_page()
    await page.goto(proxima.url + "/login")
    assert await axe_violations(page) == []
    await page.get_by_label("E-mail", exact=True).fill("admin@example.org")
    await page.get_by_label("Mot de passe").fill("wrong password")
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("alert")).to_contain_text("mot de passe")
    await page.get_by_label("Mot de passe").fill(one_time)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(re.compile(r"/password$"))
    await page.get_by_label("Mot de passe actuel").fill(one_time)
    await page.get_by_label(re.compile("Nouveau mot de passe")).fill("a brand new password")
    await page.get_by_role("button", name=re.compile("Enregistrer")).click()
    await page.wait_for_url(re.compile(r"/cases$"))

    await page.get_by_label("Référence du dossier").fill("DOS-77")
    await page.get_by_label("Nom de la personne").fill("Jeanne Petit")
    await page.get_by_label(re.compile("E-mail.*facultati", re.I)).fill("jeanne@example.net")
    await page.get_by_role("button", name="Ouvrir le dossier").click()
    await page.wait_for_url(re.compile(r"/cases/\d+$"))
    await expect(page.get_by_role("heading", name="Jeanne Petit")).to_be_visible()
    assert await axe_violations(page) == []

    await page.get_by_role("link", name=re.compile("Planifier un rendez-vous")).click()
    form = appointment_form()
    await page.get_by_label("Date", exact=True).fill(form["date"])
    await page.get_by_label(re.compile("Heure de début")).fill("09:30")
    await page.get_by_label(re.compile("Sujet")).fill("Point sur le RSA")
    await page.get_by_label(re.compile("Participant·e 1 : nom")).fill("Luc Moreau")
    await page.get_by_label(re.compile("Participant·e 1 : rôle")).fill("éducateur")
    assert await axe_violations(page) == []
    await page.get_by_role("button", name=re.compile("Planifier et envoyer")).click()
    await page.wait_for_url(re.compile(r"/appointments/\d+$"))
    link_field = page.get_by_label("Nouveau lien d'invitation")
    await expect(link_field).to_have_value(re.compile(r"^https://127\.0\.0\.1:\d+/j/[A-Za-z0-9_-]{43}$"))
    assert await axe_violations(page) == []
    link = await link_field.input_value()

    # The outbox keeps the message for the worker to send (no SMTP here).
    await page.get_by_role("link", name="Boîte d'envoi").click()
    await expect(page.get_by_role("button", name="Copier le lien").first).to_be_visible()
    assert await axe_violations(page) == []

    # Revoke from the console: the link stops working.
    await page.go_back()
    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Révoquer le lien").click()
    await expect(page.locator("#link-state")).to_contain_text("révoqué")
    guest = await (await new_context(ignore_https_errors=True)).new_page()
    response = await guest.goto(link)
    assert response.status == 410


async def test_person_page_on_a_phone(proxima, new_context):
    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(), status=201)
    context = await new_context(ignore_https_errors=True, viewport={"width": 360, "height": 640},
                                is_mobile=True, has_touch=True)
    page = await context.new_page()
    await page.goto(created["link"])
    assert "/j/" not in page.url and "/rdv/" in page.url
    await expect(page.get_by_role("heading", name="Votre rendez-vous")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert await axe_violations(page) == []
    # Touch targets are large enough.
    small = await page.evaluate("""() => [...document.querySelectorAll('button, a')]
        .filter(e => e.offsetParent !== null)
        .filter(e => { const r = e.getBoundingClientRect(); return r.height < 44; })
        .map(e => e.outerHTML)""")
    assert small == []
    await to_check(page)  # one step per screen: arrival, then the check
    await page.get_by_role("button", name=re.compile("Commencer la vérification|Lancer")).click()
    await expect(page.locator("#check-result")).not_to_be_empty()
    assert await page.locator("#preview").is_visible()
    width = await eventually(lambda: page.evaluate(
        "document.getElementById('preview').videoWidth"), timeout=10)
    assert width > 0
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Your appointment")).to_be_visible()
