"""The nights the clocks change: a time that happens twice (going back) and one that does not
happen (going forward), through the API, the formatter, every place a time is shown (console,
the person's page, the email, the SMS) and the appointment form in Chromium."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from conftest import appointment_form, axe_violations, login_in_browser, new_case
from playwright.async_api import expect

from server.base import clock
from server.base.i18n import Formatter

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC


def wall(*fields: int) -> dt.datetime:
    """A wall-clock time, naive on purpose: the zone is named beside it where it is read."""
    return dt.datetime(*fields)  # noqa: DTZ001


def next_clock_change(back: bool) -> dt.date:
    """The next day (from the day after tomorrow) on which Paris's clocks go back (or forward),
    found with zoneinfo alone: 02:30 happens twice going back, not at all going forward."""
    day = dt.datetime.now(PARIS).date() + dt.timedelta(days=2)
    while True:
        first = dt.datetime.combine(day, dt.time(2, 30), PARIS)
        second = first.replace(fold=1)
        if back and first.utcoffset() > second.utcoffset():
            return day
        if not back and first.utcoffset() < second.utcoffset():
            return day
        day += dt.timedelta(days=1)


class Text(HTMLParser):
    """The text a person reads on a page (tags dropped, spaces folded)."""

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


async def page_text(client, path: str) -> str:
    response = await client.request("GET", path, headers={"Accept": "text/html"})
    assert response.status == 200, path
    return Text.of(await response.text())


# -- the formatter ---------------------------------------------------------------------------

def test_times_carry_their_offset_on_the_days_the_clocks_change():
    back = dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # the first 02:30 in Paris
    fr, en = Formatter("fr", "Europe/Paris"), Formatter("en", "Europe/Paris")
    assert fr.time(back) == "02:30 (UTC+2)"
    assert fr.time(back + dt.timedelta(hours=1)) == "02:30 (UTC+1)"  # the second 02:30
    assert fr.time(back + dt.timedelta(minutes=45)) == "02:15 (UTC+1)"
    assert en.time(back).startswith("2:30") and en.time(back).endswith("AM (UTC+2)")
    assert fr.datetime(back).endswith("02:30:00 (UTC+2)")
    # Going forward at 02:00 (UTC+1) to 03:00 (UTC+2): one minute apart in real time.
    forward = dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert fr.time(forward - dt.timedelta(minutes=1)) == "01:59 (UTC+1)"
    assert fr.time(forward) == "03:00 (UTC+2)"
    # Any other day: no offset, as before.
    assert fr.time(back + dt.timedelta(days=1)) == "01:30"
    assert fr.datetime(back - dt.timedelta(days=1)) == "30 oct. 2027, 02:30:00"
    # Other zones and offsets that are not whole hours.
    assert clock.utc_offset(back, "Asia/Kolkata") == "UTC+5:30"
    assert clock.utc_offset(back, "America/Sao_Paulo") == "UTC-3"
    assert clock.utc_offset(back, "UTC") == "UTC"


def test_the_clock_changes_are_told_in_wall_clock_terms():
    changes = clock.clock_changes("Europe/Paris", dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    assert [c.public() for c in changes] == [
        {"kind": "forward", "date": "2027-03-28", "from": "02:00", "until": "03:00",
         "offset_before": "UTC+1", "offset_after": "UTC+2"},
        {"kind": "back", "date": "2027-10-31", "from": "02:00", "until": "03:00",
         "offset_before": "UTC+2", "offset_after": "UTC+1"}]
    # Going back half an hour at 02:00 (Lord Howe Island): 01:30 to 02:00 happens twice.
    [april] = clock.clock_changes("Australia/Lord_Howe", dt.date(2027, 4, 1), dt.date(2027, 4, 30))
    assert (april.kind, april.public()["from"], april.public()["until"]) == ("back", "01:30",
                                                                             "02:00")
    assert clock.is_repeated(wall(2027, 10, 31, 2, 30), "Europe/Paris")
    assert not clock.is_repeated(wall(2027, 3, 28, 2, 30), "Europe/Paris")  # skipped
    assert not clock.is_repeated(wall(2027, 10, 31, 3, 0), "Europe/Paris")


# -- the API and every place the time is shown -----------------------------------------------

async def test_a_time_that_happens_twice_first_by_default_second_on_request(
        make_proxima, smtp_server):
    proxima = await make_proxima(smtp_url=smtp_server.url)
    anne = await proxima.worker()
    case = await new_case(anne, mobile="06 11 22 33 44")
    day = next_clock_change(back=True)
    path = f"/api/cases/{case['id']}/appointments"

    # Nothing said: the first 02:30 (summer time), as before; the end is 45 real minutes later.
    first = await anne.json("POST", path, appointment_form(
        date=day.isoformat(), time="02:30", sms_reminder=True), status=201)
    starts = dt.datetime.fromisoformat(first["appointment"]["starts_at"])
    ends = dt.datetime.fromisoformat(first["appointment"]["ends_at"])
    assert starts == dt.datetime.combine(day, dt.time(2, 30), PARIS).astimezone(UTC)  # fold=0
    assert starts.astimezone(PARIS).utcoffset() == dt.timedelta(hours=2)
    assert ends - starts == dt.timedelta(minutes=45)

    # The console shows the offsets, so the end no longer reads as before the start.
    page = await page_text(anne, f"/appointments/{first['appointment']['id']}")
    assert "02:30 (UTC+2) – 02:15 (UTC+1) (45 minutes)" in page
    assert "02:15 (UTC+2)" in page  # the connection test opens 15 minutes before
    assert "02:30 (UTC+2)" in await page_text(anne, f"/cases/{case['id']}")

    # The person's page, the email and the SMS say the same.
    person = proxima.client()
    response = await person.request("GET", first["link"].replace(proxima.url, ""),
                                    headers={"Accept": "text/html"})
    assert response.status == 200
    assert "De 02:30 (UTC+2) à 02:15 (UTC+1)." in Text.of(await response.text())
    [envelope] = await smtp_server.mailbox.wait(1)
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Début : 02:30 (UTC+2)" in text, text
    assert "02:15 (UTC+2)" in text  # the connection test
    sms = [m for m in (await anne.json("GET", "/api/outbox"))["messages"]
           if m["channel"] == "sms"]
    assert "02:30 (UTC+2)" in sms[0]["text"]

    # The second 02:30 (winter time), chosen: one hour later in real time.
    second = await anne.json("POST", path, appointment_form(
        date=day.isoformat(), time="02:30", occurrence="second"), status=201)
    starts2 = dt.datetime.fromisoformat(second["appointment"]["starts_at"])
    assert starts2 - starts == dt.timedelta(hours=1)
    assert starts2.astimezone(PARIS).utcoffset() == dt.timedelta(hours=1)
    page = await page_text(anne, f"/appointments/{second['appointment']['id']}")
    assert "02:30 (UTC+1) – 03:15 (UTC+1)" in page

    # Moving it keeps what is said: without "occurrence", the first 02:30 again.
    moved = await anne.json("PUT", f"/api/appointments/{second['appointment']['id']}",
                            appointment_form(date=day.isoformat(), time="02:40",
                                             occurrence="second"))
    assert moved["appointment"]["starts_at"] == (starts2 + dt.timedelta(minutes=10)).isoformat()


async def test_occurrence_is_refused_where_it_makes_no_sense(proxima):
    anne = await proxima.worker()
    case = await new_case(anne)
    path = f"/api/cases/{case['id']}/appointments"
    back = next_clock_change(back=True)
    forward = next_clock_change(back=False)
    # A second 10:00 does not exist, even on the day the clocks go back.
    body = await anne.json("POST", path, appointment_form(
        date=back.isoformat(), time="10:00", occurrence="second"), status=400)
    assert body["field"] == "occurrence" and "qu'une fois" in body["message"]
    body = await anne.json("POST", path, appointment_form(occurrence="third"), status=400)
    assert body["field"] == "occurrence"
    body = await anne.json("POST", path, appointment_form(occurrence=2), status=400)
    assert body["field"] == "occurrence"
    # 02:30 does not happen at all when the clocks go forward.
    body = await anne.json("POST", path, appointment_form(
        date=forward.isoformat(), time="02:30"), status=400)
    assert body["field"] == "time"
    # "first" is always accepted, and on any day.
    await anne.json("POST", path, appointment_form(occurrence="first"), status=201)


# -- the appointment form in Chromium --------------------------------------------------------

async def test_the_form_offers_the_choice_only_when_the_time_happens_twice(
        proxima, new_context, screenshots):
    anne = await proxima.worker()
    case = await new_case(anne)
    back, forward = next_clock_change(back=True), next_clock_change(back=False)
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    await login_in_browser(page, proxima.url)
    await page.goto(proxima.url + f"/cases/{case['id']}/appointments/new")
    choice = page.get_by_role("group", name=re.compile("Laquelle"))
    date = page.get_by_label("Date", exact=True)
    time = page.get_by_label(re.compile("Heure de début"))

    # An ordinary day: no choice, no note, even at 02:30.
    await date.fill((back + dt.timedelta(days=1)).isoformat())
    await time.fill("02:30")
    await expect(choice).to_be_hidden()
    await expect(page.locator("#clock-change-note")).to_be_hidden()

    # The night the clocks go forward: a note, no choice.
    await date.fill(forward.isoformat())
    await expect(page.locator("#clock-change-note")).to_contain_text("il n'y a pas d'heure")
    await expect(choice).to_be_hidden()

    # The night they go back, at 10:00: the note only; at 02:30: the choice.
    await date.fill(back.isoformat())
    await time.fill("10:00")
    await expect(page.locator("#clock-change-note")).to_contain_text("deux fois")
    await expect(choice).to_be_hidden()
    await time.fill("02:30")
    await expect(choice).to_be_visible()
    first = choice.get_by_role("radio", name=re.compile(r"première : 02:30.*\(UTC\+2\)"))
    second = choice.get_by_role("radio", name=re.compile(r"seconde : 02:30.*\(UTC\+1\)"))
    await expect(first).to_be_checked()
    await second.check()
    await page.get_by_label(re.compile("Sujet")).fill("Point sur le dossier")
    await page.screenshot(path=str(screenshots / "clock-change-form.png"), full_page=True)
    assert await axe_violations(page) == []
    await page.get_by_role("button", name=re.compile("Planifier et envoyer")).click()
    await page.wait_for_url(re.compile(r"/appointments/\d+$"))

    # Planned for the second 02:30, shown as such; the move form keeps the choice.
    appointment_id = int(page.url.rsplit("/", 1)[1])
    body = await anne.json("GET", f"/api/appointments/{appointment_id}")
    starts = dt.datetime.fromisoformat(body["appointment"]["starts_at"])
    assert starts.astimezone(PARIS).utcoffset() == dt.timedelta(hours=1)
    assert starts.astimezone(PARIS).strftime("%H:%M") == "02:30"
    await expect(page.locator("dl.facts")).to_contain_text("02:30 (UTC+1) – 03:15 (UTC+1)")
    await page.get_by_text("Déplacer ou modifier le rendez-vous").click()
    await expect(page.get_by_role("radio", name=re.compile(r"seconde : 02:30"))).to_be_checked()
    await page.screenshot(path=str(screenshots / "clock-change-appointment.png"), full_page=True)
    assert await axe_violations(page) == []
