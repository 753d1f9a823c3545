"""Invitation links: entropy and uniqueness, the token-for-cookie exchange, several browsers,
revocation, expiry, re-issue, and no token in any log or URL."""

from __future__ import annotations

import base64
import logging

from conftest import appointment_form, new_case

from server.base import clock, crypto

PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/156.0 Mobile Safari/537.36")
LAPTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"


def test_ten_thousand_tokens_are_unique_and_carry_enough_entropy():
    tokens = {crypto.new_token() for _ in range(10_000)}
    assert len(tokens) == 10_000
    for token in list(tokens)[:100]:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 128
    assert len({crypto.token_hash(t) for t in tokens}) == 10_000


async def planned(proxima, **form):
    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(**form), status=201)
    return anne, case, created


def path_of(proxima, link):
    return link.replace(proxima.url, "")


async def test_opening_the_link_exchanges_the_token_for_a_cookie(proxima, caplog):
    caplog.set_level(logging.DEBUG)
    anne, _case, created = await planned(proxima)
    token = created["link"].rsplit("/", 1)[1]
    # Only the hash is stored.
    rows = await proxima.store.db.run(lambda c: c.execute(
        "SELECT token_hash FROM invitations").fetchall())
    assert [r[0] for r in rows] == [crypto.token_hash(token)]

    phone = proxima.client(PHONE_UA)
    first = await phone.request("GET", path_of(proxima, created["link"]), allow_redirects=False,
                                headers={"Accept": "text/html"})
    assert first.status == 303
    location = first.headers["Location"]
    assert token not in location and location.startswith("/rdv/")
    assert first.headers["Referrer-Policy"] == "no-referrer"
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("__Host-proxima-guest-")
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    page = await phone.request("GET", location, headers={"Accept": "text/html"})
    assert page.status == 200
    html = await page.text()
    assert token not in html and token not in str(page.url)
    assert "Paul Durand" in html and "01 23 45 67 89" in html

    # A second browser (the laptop) gets its own cookie; the worker sees both.
    laptop = proxima.client(LAPTOP_UA)
    second = await laptop.request("GET", path_of(proxima, created["link"]),
                                  headers={"Accept": "text/html"})
    assert second.status == 200 and token not in str(second.url)
    view = await anne.json("GET", f"/api/appointments/{created['appointment']['id']}")
    families = {(b["browser"], b["device"]) for b in view["browsers"]}
    assert families == {("Chrome", "Android phone"), ("Firefox", "Windows computer")}
    console = await anne.request("GET", f"/appointments/{created['appointment']['id']}",
                                 headers={"Accept": "text/html"})
    assert "Téléphone Android" in await console.text()

    # Revoking cuts every browser off, with the worker's phone number on the page.
    await anne.json("POST", f"/api/appointments/{created['appointment']['id']}/revoke")
    for browser in (phone, laptop):
        again = await browser.request("GET", location, headers={"Accept": "text/html"})
        assert again.status == 410
        text = await again.text()
        assert "Ce lien ne marche plus" in text and "01 23 45 67 89" in text
    reopened = await proxima.client().request("GET", path_of(proxima, created["link"]),
                                              headers={"Accept": "text/html"})
    assert reopened.status == 410
    view = await anne.json("GET", f"/api/appointments/{created['appointment']['id']}")
    assert view["invitation"]["state"] == "revoked"

    # The token never reached a log line.
    assert caplog.records
    assert all(token not in record.getMessage() for record in caplog.records)
    assert any("/j/<token>" in record.getMessage() for record in caplog.records)


async def test_expired_link_says_so_in_plain_words(proxima):
    _anne, _case, created = await planned(proxima)
    past = clock.to_db(clock.now().replace(year=clock.now().year - 1))
    await proxima.store.db.run(lambda c: c.execute("UPDATE invitations SET expires_at = ?",
                                                   (past,)))
    response = await proxima.client().request("GET", path_of(proxima, created["link"]),
                                              headers={"Accept": "text/html"})
    assert response.status == 410
    text = await response.text()
    assert "plus valable" in text and "terminé" in text and "01 23 45 67 89" in text
    assert "Set-Cookie" not in response.headers


async def test_reissued_link_replaces_the_old_one(proxima):
    anne, _case, created = await planned(proxima)
    reissued = await anne.json("POST",
                               f"/api/appointments/{created['appointment']['id']}/reissue")
    assert reissued["link"] != created["link"]
    old = await proxima.client().request("GET", path_of(proxima, created["link"]),
                                         headers={"Accept": "text/html"})
    assert old.status == 410 and "remplacé" in await old.text()
    new = await proxima.client().request("GET", path_of(proxima, reissued["link"]),
                                         headers={"Accept": "text/html"})
    assert new.status == 200


async def test_unknown_link_and_appointment_page_without_cookie(proxima):
    _anne, _case, created = await planned(proxima)
    unknown = await proxima.client().request("GET", "/j/" + crypto.new_token(),
                                             headers={"Accept": "text/html"})
    assert unknown.status == 404 and "Ce lien ne marche pas" in await unknown.text()
    public_id = (await proxima.store.appointments.get(created["appointment"]["id"])).public_id
    stranger = await proxima.client().request("GET", f"/rdv/{public_id}",
                                              headers={"Accept": "text/html"})
    assert stranger.status == 404
    assert "Paul Durand" not in await stranger.text()


async def test_english_page_on_request(proxima):
    _anne, _case, created = await planned(proxima)
    guest = proxima.client()
    page = await guest.request("GET", path_of(proxima, created["link"]),
                               headers={"Accept": "text/html"})
    english = await guest.request("GET", str(page.url.path) + "?lang=en",
                                  headers={"Accept": "text/html"})
    assert "Your appointment" in await english.text()


async def test_a_link_opened_by_many_browsers_is_capped_and_folded(proxima):
    """Mail scanners and forwarded links: past the cap, a plain page with the worker's number;
    the case record and the worker's page stay readable."""
    import aiohttp

    anne, case, created = await planned(proxima)
    cap = 20  # the default of PROXIMA_LINK_BROWSERS_MAX
    statuses = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=proxima.ssl),
                                     cookie_jar=aiohttp.DummyCookieJar()) as scanner:
        for i in range(cap + 5):  # each request is a new browser: no cookie is kept
            ua = PHONE_UA if i % 2 else LAPTOP_UA
            async with scanner.get(created["link"], allow_redirects=False,
                                   headers={"User-Agent": ua, "Accept": "text/html"}) as r:
                statuses.append(r.status)
                page = await r.text()
    assert statuses == [303] * cap + [403] * 5
    assert "ouvert trop de fois" in page and "01 23 45 67 89" in page
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    assert [e["kind"] for e in record].count("link_opened") == cap
    view = await anne.json("GET", f"/api/appointments/{created['appointment']['id']}")
    assert sorted(g["count"] for g in view["browser_groups"]) == [10, 10]
    html = await (await anne.request("GET", f"/appointments/{created['appointment']['id']}",
                                     headers={"Accept": "text/html"})).text()
    table = html[html.index('<table id="browsers">'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 1 + 2  # the header, and one row per kind of browser
    assert "<td>10</td>" in table and "Ouvert dans 20 navigateurs" in html
    refused = [e for e in await proxima.store.audit.entries() if e["action"] == "open_link"]
    assert len(refused) == 5 and all(e["outcome"] == "refused:too_many_browsers" for e in refused)


async def test_a_browser_that_opened_the_link_still_gets_the_worker_number_after_expiry(
        proxima, new_context, monkeypatch, screenshots):
    """The browser's cookie outlives the link: reloading after the link expired shows the
    expired-link page with the worker's number, not "this link does not work"."""
    import datetime as dt

    from playwright.async_api import expect

    _anne, _case, created = await planned(proxima)
    token = created["link"].rsplit("/", 1)[1]
    context = await new_context(ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                                viewport={"width": 360, "height": 640})
    page = await context.new_page()
    await page.goto(created["link"])
    await expect(page.get_by_text("Paul Durand")).to_be_visible()

    # The cookie holds a random value of its own: neither the token nor anything personal.
    [cookie] = await context.cookies()
    assert cookie["value"] != token and token not in cookie["value"]
    assert not any(word in cookie["value"] for word in ("Fatou", "Diallo", "DOS-2026"))

    # A day after the link expired: the server's clock moves, and the browser drops what a
    # browser would have dropped by then (cookies past their expiry).
    invitation = await proxima.store.invitations.current(created["appointment"]["id"])
    later = invitation.expires_at + dt.timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    kept = [c for c in await context.cookies() if c["expires"] < 0
            or c["expires"] > later.timestamp()]
    await context.clear_cookies()
    if kept:
        await context.add_cookies(kept)

    await page.reload()
    await expect(page.get_by_role("heading", name="Ce lien n'est plus valable")).to_be_visible()
    await expect(page.get_by_role("link", name="01 23 45 67 89")).to_be_visible()
    assert "Vérifiez que vous avez copié tout le lien" not in await page.content()
    await page.screenshot(path=str(screenshots / "expired-link-reloaded.png"), full_page=True)
