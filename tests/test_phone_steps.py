"""The person's side on a phone (issue 11), in Chromium at 360x640 with fake devices: one step per
screen (its heading focused and in view with its main button, nothing sideways, axe clean), the
back button and a reload, the call screen made for a phone (the bar always visible, the other
person's video at least half the screen, sound only as a name with a speaking sign, messages in a
sheet), and every camera and microphone track the page opened stopped after the end, after
"Leave" and after plan B. Each step is saved as a screenshot (``screenshots`` fixture)."""

from __future__ import annotations

import re
from typing import Any

from conftest import axe_violations, eventually
from live_helpers import planned_soon, worker_ready
from playwright.async_api import expect

PHONE = {"width": 360, "height": 640}

# Every track getUserMedia gave the page, kept to look at later (and how many captures it made).
RECORD_TRACKS = """(() => {
    window.openedTracks = [];
    window.captures = 0;
    const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
        window.captures += 1;
        const stream = await real(constraints);
        window.openedTracks.push(...stream.getTracks());
        return stream;
    };
})();"""
LIVE_TRACKS = "window.openedTracks.filter(t => t.readyState !== 'ended').map(t => t.kind)"
IN_VIEW = """(el) => { const r = el.getBoundingClientRect();
    return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight
           && r.right <= window.innerWidth && r.height > 0; }"""


async def person_page(new_context: Any) -> Any:
    context = await new_context(ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                                has_touch=True, viewport=PHONE)
    await context.add_init_script(RECORD_TRACKS)
    return await context.new_page()


async def worker_page(proxima: Any, new_context: Any, appointment_id: int) -> Any:
    return await worker_ready(proxima, new_context, appointment_id,
                              {"width": 1280, "height": 800})


async def a_step(page: Any, heading: str, button: str | None, shots: Any, name: str,
                 focused: bool = True) -> None:
    """The step shows alone: its heading focused (when ``focused``: just shown) and in view, its
    main button in view without scrolling, nothing wider than the screen, no axe finding; saved
    as a screenshot."""
    title = page.get_by_role("heading", name=heading, level=1)
    await expect(title).to_be_visible()
    if focused:
        await expect(title).to_be_focused()
    assert await page.evaluate("window.scrollY") == 0
    assert await title.evaluate(IN_VIEW), heading
    if button:
        assert await page.get_by_role("button", name=button).evaluate(IN_VIEW), button
    assert await page.evaluate(
        "document.scrollingElement.scrollWidth <= window.innerWidth"), heading
    assert await axe_violations(page) == [], heading
    await page.screenshot(path=str(shots / f"person-{name}.png"))


async def in_the_waiting_room(page: Any, link: str, shots: Any | None = None) -> None:
    """From the link to the waiting room, every step checked when ``shots`` is given."""
    await page.goto(link)
    steps = [("Votre rendez-vous", "Continuer", "1-arrival"),
             ("Vérifiez votre caméra, votre micro et le son", "Commencer la vérification",
              "2-check"),
             ("C'est le moment de tester votre connexion", "Tester ma connexion", "4-test")]
    for heading, button, name in steps:
        if shots:
            await a_step(page, heading, button, shots, name)
        if name == "2-check" and shots:
            await the_check(page, shots)
        if name == "4-test" and shots:
            await the_test(page, shots)
        await page.get_by_role("button", name="Continuer").click()
    if shots:
        await a_step(page, "Avant de commencer", "J'accepte : aller dans la salle d'attente",
                     shots, "5-consent")
        await the_choices(page)
    await page.get_by_label("Je suis d'accord pour que ces personnes soient là").check()
    await page.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    if shots:
        await a_step(page, "Salle d'attente", None, shots, "6-waiting")
    await expect(page.get_by_role("heading", name="Salle d'attente")).to_be_visible()


async def the_check(page: Any, shots: Any) -> None:
    """Two quick taps open one capture; the button goes (the hidden attribute wins); the
    capture stops when the step is left, and coming back starts afresh."""
    start = page.get_by_role("button", name="Commencer la vérification")
    await start.click()
    await page.locator("#start-check").dispatch_event("click")
    await expect(page.locator("#check-result")).to_contain_text("marchent")
    await expect(start).to_be_hidden()
    assert await page.evaluate("getComputedStyle(document.getElementById('start-check')).display"
                               ) == "none"
    assert await page.evaluate("window.captures") == 1
    await eventually(lambda: page.evaluate(
        "document.getElementById('preview').videoWidth > 0"), timeout=10)
    # The button tapped goes: the focus goes on to the step's next action, not lost.
    await expect(page.get_by_role("button", name="Continuer")).to_be_focused()
    await a_step(page, "Vérifiez votre caméra, votre micro et le son", "Continuer", shots,
                 "3-check-done", focused=False)
    # Back to the arrival: the check's camera and microphone are off.
    await page.go_back()
    await a_step(page, "Votre rendez-vous", "Continuer", shots, "1-arrival")
    assert await page.evaluate(LIVE_TRACKS) == []
    await page.get_by_role("button", name="Continuer").click()
    await expect(start).to_be_visible()
    await expect(page.locator("#check-result")).to_be_empty()


# When the echo's box shows, whether its words ("no image yet") show too.
WATCH_ECHO = """() => { window.echoWords = null;
    const box = document.getElementById('test-echo-box');
    new MutationObserver(() => {
        if (!box.hidden && window.echoWords === null)
            window.echoWords = !document.getElementById('test-echo-wait').hidden
                && document.getElementById('test-echo').videoWidth === 0;
    }).observe(box, {attributes: true, attributeFilter: ['hidden']}); }"""


async def the_test(page: Any, shots: Any) -> None:
    """Before the echo's first picture, words instead of a black box; then the picture. Leaving
    the step stops the test and its camera."""
    await page.evaluate(WATCH_ECHO)
    await page.get_by_role("button", name="Tester ma connexion").click()
    await eventually(lambda: page.evaluate("window.echoWords !== null"), timeout=15)
    assert await page.evaluate("window.echoWords") is True
    await expect(page.get_by_text("Pas encore d'image. L'image arrive.")).to_be_hidden(
        timeout=15000)
    assert await page.evaluate("document.getElementById('test-echo').videoWidth") > 0
    await page.screenshot(path=str(shots / "person-4-test-running.png"))
    await page.get_by_role("button", name="Continuer").click()
    await eventually(lambda: page.evaluate(f"{LIVE_TRACKS}.length === 0"), timeout=5)
    await page.go_back()
    await expect(page.locator("#test-result")).to_be_empty()  # no stale "test in progress"


async def the_choices(page: Any) -> None:
    """Each consent choice: its circle (or box) beside its words, the whole line a large target."""
    boxes = await page.evaluate("""() => Array.from(
        document.querySelectorAll('#consent-form label.choice')).map(label => {
            const input = label.querySelector('input').getBoundingClientRect();
            const words = label.querySelector('span').getBoundingClientRect();
            const whole = label.getBoundingClientRect();
            return [words.left - input.right, whole.height, label.textContent.trim()]; })""")
    assert len(boxes) >= 5
    for gap, height, text in boxes:
        assert 0 <= gap <= 24 and height >= 44, (text, gap, height)


async def test_the_persons_steps_and_call_on_a_phone(proxima, new_context, screenshots):
    _anne, _case, created, _public_id = await planned_soon(proxima)
    person = await person_page(new_context)
    await in_the_waiting_room(person, created["link"], screenshots)
    # Back from the waiting room: the consent, as it was; a reload comes back to it.
    await person.go_back()
    await a_step(person, "Avant de commencer", "J'accepte : aller dans la salle d'attente",
                 screenshots, "5-consent")
    await person.reload()
    await expect(person.get_by_role("heading", name="Avant de commencer")).to_be_focused()
    await expect(person.get_by_role("heading", name="Votre rendez-vous")).to_be_hidden()
    await person.go_back()  # the history before the reload is still there
    await expect(person.get_by_role("heading", name="C'est le moment de tester votre connexion")
                 ).to_be_focused()
    await person.get_by_role("button", name="Continuer").click()
    await person.get_by_label("Je suis d'accord pour que ces personnes soient là").check()
    await person.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    await expect(person.get_by_role("heading", name="Salle d'attente")).to_be_focused()
    assert await person.evaluate(LIVE_TRACKS) == []  # nothing open while waiting
    # A reload in the waiting room comes back to it: the server keeps the consent and says so.
    await person.reload()
    await expect(person.get_by_role("heading", name="Salle d'attente")).to_be_focused()

    worker = await worker_page(proxima, new_context, created["appointment"]["id"])
    await worker.get_by_role("button", name=re.compile(r"Faire entrer")).click()
    await a_call(person, worker, screenshots)

    # The end: every track the person's page opened is stopped.
    await worker.get_by_role("button", name="Terminer l'entretien").click()
    await a_step(person, "L'entretien est terminé", None, screenshots, "9-ended")
    await eventually(lambda: person.evaluate(f"{LIVE_TRACKS}.length === 0"), timeout=5)
    assert await person.evaluate("window.openedTracks.length") >= 2  # the call's (since the reload)


async def a_call(person: Any, worker: Any, shots: Any) -> None:
    """The call screen on a phone: the bar, the other's video, sound only, the messages."""
    call_title = person.get_by_role("heading", name="Entretien", level=1)
    await expect(call_title).to_be_focused()
    await eventually(lambda: person.evaluate(
        "document.getElementById('remote-video').videoWidth > 0"), timeout=20)
    bar = person.locator(".call-bar")
    for name in ("Couper le micro", "Couper la caméra", "Passer au son seulement",
                 "Messages", "Un problème ? Continuer par téléphone", "Quitter"):
        button = bar.get_by_role("button", name=name)
        assert await button.evaluate(IN_VIEW), name
        box = await button.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, name
    share = await person.evaluate("""() => {
        const r = document.getElementById('remote-video').getBoundingClientRect();
        return r.width * r.height / (window.innerWidth * window.innerHeight); }""")
    assert share >= 0.5, share
    assert await person.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    await expect(person.locator("#quality")).not_to_be_empty()
    assert await axe_violations(person) == []
    await person.screenshot(path=str(shots / "person-7-call.png"))
    await worker.screenshot(path=str(shots / "worker-call-with-person-phone.png"))
    # The back button does not leave the call.
    await person.go_back()
    await expect(call_title).to_be_visible()
    # Sound only: the other person's name and a speaking sign, not a black picture.
    await person.get_by_role("button", name="Passer au son seulement").click()
    sound_only = person.locator("#remote-audio")
    await expect(sound_only).to_be_visible()
    await expect(sound_only.locator(".peer-name")).to_have_text("Anne Martin")
    await expect(person.get_by_role("button", name="Revenir à la vidéo")).to_be_visible()
    # ... and the camera released (its light off), no picture of oneself that looks sent.
    await eventually(lambda: person.evaluate(f"{LIVE_TRACKS}.join() === 'audio'"), timeout=5)
    await expect(person.locator("#local-video")).to_be_hidden()
    await person.screenshot(path=str(shots / "person-7-call-sound-only.png"))
    await person.get_by_role("button", name="Revenir à la vidéo").click()
    await expect(sound_only).to_be_hidden()
    await expect(person.locator("#local-video")).to_be_visible()
    await eventually(lambda: person.evaluate(f"{LIVE_TRACKS}.sort().join() === 'audio,video'"),
                     timeout=5)
    # Messages: a sheet over the video; the bar stays; a message while it is closed is counted.
    await worker.get_by_role("button", name="Messages").click()
    await worker.get_by_label("Votre message").fill("Bonjour, vous m'entendez ?")
    await worker.get_by_role("button", name="Envoyer").click()
    await expect(person.locator("#chat-count")).to_have_text("1")
    await person.get_by_role("button", name="Messages").click()
    await expect(person.get_by_label("Votre message")).to_be_focused()
    await expect(person.locator("#chat-log")).to_contain_text("Bonjour, vous m'entendez ?")
    await person.screenshot(path=str(shots / "person-8-messages.png"))
    assert await person.get_by_role("button", name="Quitter").evaluate(IN_VIEW)
    assert await axe_violations(person) == []
    await person.screenshot(path=str(shots / "person-8-messages.png"))
    await person.get_by_role("button", name="Fermer").click()
    await expect(person.locator("#chat-sheet")).to_be_hidden()


async def test_leave_and_plan_b_release_the_camera_and_microphone(proxima, new_context,
                                                                   screenshots):
    # "Leave" in the call: every track stops at once.
    anne = await proxima.worker()
    _anne, _case, created, _id = await planned_soon(proxima, anne)
    person = await person_page(new_context)
    await in_the_waiting_room(person, created["link"])
    worker = await worker_page(proxima, new_context, created["appointment"]["id"])
    await worker.get_by_role("button", name=re.compile(r"Faire entrer")).click()
    await eventually(lambda: person.evaluate(
        "document.getElementById('remote-video').videoWidth > 0"), timeout=20)
    await person.get_by_role("button", name="Quitter").click()
    await expect(person.get_by_role("heading", name="L'entretien est terminé")).to_be_focused()
    assert await person.evaluate(LIVE_TRACKS) == []
    await person.context.close()
    await worker.context.close()

    # Plan B: the worker continues by phone; the person's page shows the phone step, the
    # camera and microphone off.
    _anne, _case, created, _id = await planned_soon(proxima, anne)
    person = await person_page(new_context)
    await in_the_waiting_room(person, created["link"])
    worker = await worker_page(proxima, new_context, created["appointment"]["id"])
    await worker.get_by_role("button", name=re.compile(r"Faire entrer")).click()
    await eventually(lambda: person.evaluate(
        "document.getElementById('remote-video').videoWidth > 0"), timeout=20)
    await worker.get_by_role("button", name="Un problème ? Continuer par téléphone").click()
    await a_step(person, "Nous continuons par téléphone", None, screenshots, "9-phone")
    await eventually(lambda: person.evaluate(f"{LIVE_TRACKS}.length === 0"), timeout=5)
    # The phone number does not break in the middle.
    tel = person.get_by_role("link", name="01 23 45 67 89").last
    box = await tel.bounding_box()
    assert box["height"] < 60


async def test_pagehide_releases_the_check(proxima, new_context):
    """The check's capture stops when the page goes away (pagehide), and a page opened before
    its waiting room opens ends on 'come back at' after the check."""
    anne = await proxima.worker()
    from conftest import new_case
    case = await new_case(anne)
    from conftest import appointment_form
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(), status=201)
    person = await person_page(new_context)
    await person.goto(created["link"])
    await person.get_by_role("button", name="Continuer").click()
    await person.get_by_role("button", name="Commencer la vérification").click()
    await expect(person.locator("#check-result")).not_to_be_empty()
    await person.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    assert await person.evaluate(LIVE_TRACKS) == []
    await person.get_by_role("button", name="Continuer").click()
    await expect(person.get_by_role("heading", name="Quand revenir")).to_be_focused()
    await expect(person.get_by_text("Votre rendez-vous")).to_be_hidden()
    # In English (the case's language, or the person's choice): the same steps, in English.
    await person.get_by_role("link", name="English").click()
    await expect(person.get_by_role("heading", name="Your appointment")).to_be_focused()
    await expect(person.get_by_text("Need help?")).to_be_visible()
    await person.get_by_role("button", name="Continue").click()
    await expect(person.get_by_role("heading", name="Check your camera, microphone and sound")
                 ).to_be_focused()
