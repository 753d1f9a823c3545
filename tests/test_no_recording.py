"""Nothing is ever recorded (issue 12, item 6): a full session writes no media file and no chat
text to disk, and neither the server nor the browser code holds a recorder.

The live test drives, in one Proxima: a 1:1 interview in two Chromium pages (video decoded both
ways, chat both ways), a connection test (the server's echo peer: the only place the server
touches media), and a group session of three (the facilitator and a person in Chromium, a
person as an aiortc peer; video on every link, chat from each). Every chat message carries a
unique marker. Once the sessions are over: no new file under the data directory, the temporary
directory or the working directory is a media file (by its extension or its first bytes), and no
marker is in any file of the data directory (the raw bytes of the SQLite file, its WAL, the rest),
in any new file elsewhere, or in the log output (the loggers, and what the process wrote to its
stdout and stderr). The static tests read the server's source with the ast module (no
MediaRecorder, no av.open for writing, no muxing) and the browser's code (no MediaRecorder).
"""

from __future__ import annotations

import ast
import contextlib
import logging
import os
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from conftest import eventually, new_case
from live_helpers import soon_form, to_consent, worker_ready
from playwright.async_api import expect
from test_connection_test import start_test_page
from test_group_acceptance import (
    LINK_ENDS,
    AiortcPerson,
    End,
    aiortc_person,
    facilitator_page,
    links,
    person_page,
)

from server.edge.http import CONFIG, TESTS

ROOT = Path(__file__).resolve().parent.parent
FRAMES = "Number(document.getElementById('quality').dataset.framesDecoded || 0)"
RULE = "Ce qui est dit dans le groupe reste dans le groupe."

MEDIA_EXTENSIONS = {".webm", ".mkv", ".mka", ".mp4", ".m4a", ".m4v", ".mov", ".ogg", ".oga",
                    ".ogv", ".opus", ".wav", ".ivf", ".mp3", ".aac", ".flac", ".h264", ".264",
                    ".y4m", ".rtp", ".rtpdump", ".pcap", ".pcapng", ".raw"}
# First bytes: EBML (webm, mkv), ogg, ivf, y4m, rtpdump, pcap (both byte orders), pcapng; and
# RIFF for wav or avi (not a webp image), 'ftyp' at 4 for mp4 (is_media).
MEDIA_MAGIC = (b"\x1a\x45\xdf\xa3", b"OggS", b"DKIF", b"YUV4MPEG2", b"#!rtpplay",
               b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\x0a\x0d\x0d\x0a")
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache",
                ".pytest_cache", "bash_jobs"}
# Chromium's profiles and its shared memory in files (--disable-dev-shm-usage): the browser's
# disk, the person's device, not the server's.
BROWSER_SIDE = ("playwright", ".org.chromium.", "chromium")


# -- the static checks --------------------------------------------------------------------------

RECORDER_NAMES = {"MediaRecorder", "MediaRecorderContext"}


def recorders_in(source: str) -> list[str]:
    """What in a Python source could write media: a MediaRecorder (imported or named), av.open
    with a write mode, a container's mux or add_stream (only an output container has them)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom | ast.Import):
            found += [f"import {a.name}" for a in node.names
                      if a.name.rsplit(".", 1)[-1] in RECORDER_NAMES]
        elif isinstance(node, ast.Name) and node.id in RECORDER_NAMES:
            found.append(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in RECORDER_NAMES | {"mux",
                                                                                "add_stream"}:
            found.append(node.attr)
        elif isinstance(node, ast.Call) and _is_av_open(node.func):
            modes = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "mode")]
            if any(not (isinstance(m, ast.Constant) and m.value == "r") for m in modes):
                found.append("av.open(..., write)")
    return found


def _is_av_open(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "open"
            and isinstance(func.value, ast.Name) and func.value.id == "av")


def test_the_recorder_check_sees_a_recorder():
    """The check itself: each way of writing media is seen, reading is not."""
    assert recorders_in("from aiortc.contrib.media import MediaRecorder") != []
    assert recorders_in("import aiortc.contrib.media as m\nm.MediaRecorder('/tmp/x.webm')")
    assert recorders_in("import av\nav.open('/tmp/x.webm', 'w')") == ["av.open(..., write)"]
    assert recorders_in("import av\nav.open(path, mode='w')") == ["av.open(..., write)"]
    assert recorders_in("out.mux(packet)") == ["mux"]
    assert recorders_in("import av\nav.open(path)\nav.open(path, 'r')") == []
    assert recorders_in("from aiortc.contrib.media import MediaBlackhole") == []


def test_the_server_code_has_no_media_recorder():
    found = {str(path.relative_to(ROOT)): hits for path in sorted((ROOT / "server").rglob("*.py"))
             if (hits := recorders_in(path.read_text(encoding="utf-8")))}
    assert found == {}


def test_the_browser_code_never_uses_media_recorder():
    files = [p for p in (ROOT / "web").rglob("*") if p.suffix in {".js", ".html", ".ts"}]
    assert any(p.name == "interview.js" for p in files)  # the call's code is among them
    using = [str(p.relative_to(ROOT)) for p in files
             if "MediaRecorder" in p.read_text(encoding="utf-8")]
    assert using == []


# -- the files and the logs ---------------------------------------------------------------------

def files_under(top: Path) -> list[Path]:
    found = []
    for where, dirs, names in os.walk(top):
        # A Chromium profile is the browser's disk (the person's device), not the server's.
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(BROWSER_SIDE)]
        found += [Path(where, name) for name in names if not name.startswith(BROWSER_SIDE)]
    return found


def snapshot(tops: list[Path]) -> dict[Path, float]:
    """Every file under ``tops`` and when it was last changed."""
    seen = {}
    for top in tops:
        for path in files_under(top):
            with contextlib.suppress(OSError):  # gone meanwhile
                seen[path] = path.stat().st_mtime
    return seen


def changed_since(before: dict[Path, float], tops: list[Path]) -> list[Path]:
    return [path for path, mtime in snapshot(tops).items() if before.get(path) != mtime]


def changed_after(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime >= moment
    except OSError:
        return False  # gone meanwhile


def read(path: Path) -> bytes:
    try:
        return path.read_bytes() if path.is_file() else b""
    except OSError:
        return b""  # a socket, a file gone meanwhile, or another user's


def is_media(path: Path, head: bytes) -> bool:
    return (path.suffix.lower() in MEDIA_EXTENSIONS or head.startswith(MEDIA_MAGIC)
            or head[4:8] == b"ftyp" or (head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI ")))


def holding(markers: list[str], paths: list[Path]) -> list[tuple[str, str]]:
    """(file, marker) for each marker found in a file's raw bytes (as UTF-8 and as UTF-16)."""
    found = []
    for path in paths:
        data = read(path)
        for marker in markers:
            if marker.encode() in data or marker.encode("utf-16-le") in data:
                found.append((str(path), marker))
    return found


def test_the_file_search_finds_a_marker_and_a_media_file(tmp_path):
    """The search itself: a marker written to a file is found, a webm by its first bytes."""
    before = snapshot([tmp_path])
    (tmp_path / "note.txt").write_text("hello marker-123 there")
    (tmp_path / "clip").write_bytes(b"\x1a\x45\xdf\xa3" + bytes(20))
    (tmp_path / "sound").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    (tmp_path / "movie").write_bytes(b"\x00\x00\x00\x20ftypisom")
    (tmp_path / "picture").write_bytes(b"RIFF\x24\x00\x00\x00WEBPVP8 ")
    new = changed_since(before, [tmp_path])
    assert holding(["marker-123"], new) == [(str(tmp_path / "note.txt"), "marker-123")]
    assert sorted(p.name for p in new if is_media(p, read(p)[:16])) == ["clip", "movie", "sound"]


# -- the sessions -------------------------------------------------------------------------------

def marker(where: str) -> str:
    return f"chat-{where}-{uuid.uuid4().hex}"


async def send_chat(page: Any, text: str) -> None:
    if not await page.get_by_label("Votre message").is_visible():
        await page.get_by_role("button", name="Messages").click()  # the messages' sheet
    await page.get_by_label("Votre message").fill(text)
    await page.get_by_role("button", name="Envoyer").click()


async def one_to_one(proxima: Any, new_context: Any, anne: Any, markers: list[str]) -> int:
    """A worker and a person in Chromium: video decoded both ways, chat both ways, the end."""
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              soon_form(attendees=[]), status=201)
    worker = await worker_ready(proxima, new_context, created["appointment"]["id"])
    person = await (await new_context(ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                                      viewport={"width": 360, "height": 740})).new_page()
    await person.goto(created["link"])
    await to_consent(person)
    await person.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    await expect(person.get_by_role("heading", name="Salle d'attente")).to_be_visible()
    await worker.get_by_role("button", name=re.compile(r"Faire entrer")).click()
    await eventually(lambda: worker.evaluate(f"{FRAMES} >= 10"), timeout=30)
    await eventually(lambda: person.evaluate(f"{FRAMES} >= 10"), timeout=30)
    for sender, receiver, where in ((worker, person, "worker"), (person, worker, "person")):
        text = marker(where)
        markers.append(text)
        await send_chat(sender, f"Bonjour {text}")
        await expect(receiver.locator("#chat-log")).to_contain_text(text)
    await worker.get_by_role("button", name="Terminer l'entretien").click()
    await expect(person.get_by_role("heading", name="L'entretien est terminé")).to_be_visible()
    await worker.context.close()
    await person.context.close()
    return int(case["id"])


async def connection_test(proxima: Any, new_context: Any) -> None:
    """A person's connection test, against the server's echo peer, to its result."""
    anne = await proxima.worker("bruno@example.org", "Bruno Petit")
    case = await new_case(anne, reference="DOS-2026-0043")
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              soon_form(), status=201)
    person = await start_test_page(proxima, new_context, created)
    await eventually(lambda: person.evaluate("document.getElementById('test-echo').videoWidth"),
                     timeout=20)
    await expect(person.locator("#test-result")).to_have_attribute(
        "data-recommendation", re.compile("video|audio|phone"), timeout=40_000)
    await person.context.close()
    await eventually(lambda: proxima.app[TESTS].peers.live == 0, timeout=30)


async def group_of_three(proxima: Any, new_context: Any, anne_api: Any, markers: list[str],
                         ) -> list[int]:
    """A facilitator and a person in Chromium, a person as an aiortc peer: video on the three
    links, a chat message from each, then the end of the session."""
    planned = await plan_group(proxima, anne_api)
    anne = await facilitator_page(proxima, new_context, planned["group"]["id"])
    [(fatou_link, _), (karim_link, karim_id)] = planned["people"]
    fatou = await person_page(new_context, fatou_link)
    karim = await aiortc_person(proxima, "Karim Benali", karim_link, karim_id)
    try:
        await expect(anne.locator("#lobby-list li")).to_have_count(2, timeout=20000)
        await anne.get_by_role("button", name="Faire entrer tout le monde").click()
        await eventually(lambda: video_on_every_link(anne, fatou, karim), timeout=90,
                         interval=0.5)
        for page, where in ((anne, "facilitator"), (fatou, "person")):
            text = marker(where)
            markers.append(text)
            await send_chat(page, f"Bonjour {text}")
            await eventually(lambda t=text: any(t in m["text"]
                                                for m in karim.received("chat")))
        text = marker("aiortc")
        markers.append(text)
        await karim.wire.send(type="chat", text=f"Bonjour {text}")
        for page in (anne, fatou):
            await expect(page.locator("#chat-log")).to_contain_text(text)
        await anne.get_by_role("button", name="Terminer la séance").click()
        await expect(fatou.get_by_role("heading", name=re.compile("terminé", re.I))
                     ).to_be_visible(timeout=20000)
    finally:
        await karim.close()
    await anne.context.close()
    await fatou.context.close()
    return planned["cases"]


async def video_on_every_link(anne: Any, fatou: Any, karim: AiortcPerson) -> bool:
    ends = {"anne": [End.of(**e) for e in await anne.evaluate(LINK_ENDS)],
            "fatou": [End.of(**e) for e in await fatou.evaluate(LINK_ENDS)],
            "karim": karim.ends()}
    found = links(ends)
    return len(found) == 3 and all(min(frames) >= 10 for frames in found.values())


async def plan_group(proxima: Any, anne: Any) -> dict[str, Any]:
    """A facilitator's group of two persons, starting in five minutes, through POST /api/groups:
    each person's link and public id."""
    import datetime as dt
    from zoneinfo import ZoneInfo
    cases = [await new_case(anne, reference=ref, person_name=name, email="")
             for ref, name in (("NR-1", "Fatou Diallo"), ("NR-2", "Karim Benali"))]
    start = dt.datetime.now(ZoneInfo("Europe/Paris")) + dt.timedelta(minutes=5)
    created = await anne.json("POST", "/api/groups", {
        "title": "Atelier budget", "date": start.strftime("%Y-%m-%d"),
        "time": start.strftime("%H:%M"), "modality": "video", "duration_minutes": 60,
        "agenda": [{"title": "Tour de table", "minutes": 15}], "rule": RULE,
        "speaking_rules": "Levez la main pour parler.", "incident_phone": "01 23 45 67 89",
        "people": [{"case_id": c["id"]} for c in cases], "workers": []}, status=201)
    people = []
    for case in cases:
        for link in created["links"]:
            appointment = await proxima.store.appointments.get(link["appointment_id"])
            if appointment.case_id == case["id"]:
                people.append((link["link"], appointment.public_id))
    return {"anne": anne, "group": created["group"], "people": people,
            "cases": [c["id"] for c in cases]}


async def not_in_records_nor_audit(proxima: Any, anne: Any, cases: list[int],
                                   markers: list[str]) -> None:
    """The markers are in no case record (as read, protected fields opened), nor in the audit
    trail's export; the records do hold the sessions."""
    texts = []
    for case_id in cases:
        body = await anne.request("GET", f"/api/cases/{case_id}")
        assert body.status == 200
        texts.append(await body.text())
    assert "session_log" in texts[0] and all("group_session" in t for t in texts[1:])
    admin = await proxima.worker("root@example.org", "Ada Admin", role="admin")
    audit = await admin.request("GET", "/api/audit/export", headers={"Accept": "text/csv"})
    assert audit.status == 200
    texts.append(await audit.text())
    assert "create_case" in texts[-1]
    assert [m for m in markers if any(m in t for t in texts)] == []


async def test_a_full_session_writes_no_media_and_no_chat_text(make_proxima, new_context, caplog,
                                                               capfd):
    caplog.set_level(logging.DEBUG, logger="proxima")
    caplog.set_level(logging.INFO)
    proxima = await make_proxima(session_idle_minutes=600)
    data_dir = Path(proxima.app[CONFIG].data_dir)
    elsewhere = [Path(tempfile.gettempdir()), Path.cwd()]
    before = snapshot(elsewhere)
    started = time.time()
    markers: list[str] = []

    # Anne leads the 1:1 and the group (a facilitator's account does both).
    anne = await proxima.worker(role="facilitator")
    cases = [await one_to_one(proxima, new_context, anne, markers)]
    await connection_test(proxima, new_context)
    cases += await group_of_three(proxima, new_context, anne, markers)
    assert len(markers) == 5
    await not_in_records_nor_audit(proxima, anne, cases, markers)

    written = files_under(data_dir)
    assert any(p.name.endswith(".db") or p.suffix in {".sqlite", ".sqlite3"} for p in written), (
        "the database is not where the search looks", written)
    new_elsewhere = [p for p in changed_since(before, elsewhere)
                     if changed_after(p, started - 1) and not p.is_relative_to(data_dir)]
    media = [str(p) for p in written + new_elsewhere if is_media(p, read(p)[:16])]
    assert media == []
    assert holding(markers, written + new_elsewhere) == []
    output = capfd.readouterr()
    logs = "\n".join([caplog.text, output.out, output.err])
    assert caplog.records, "no log output was captured"
    assert [m for m in markers if m in logs] == []
