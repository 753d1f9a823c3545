"""Property-based tests: the signalling parser (Hypothesis), the live WebSocket (random frames).

The parser must turn any text, bytes or JSON into either a registered client message or a
``ProtocolError`` with a stable code, never another exception. The endpoint, fed a seeded stream
of malformed frames, must answer each one with exactly one ``error`` (or close with 1009 when too
large), log no unhandled exception, keep answering ``/healthz``, and leave another interview in
progress untouched.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from typing import Any

import aiohttp
import pytest
from conftest import ManualClock
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from live_helpers import FAKE_SDP, connect, consent, guest, in_call, planned_soon

from server.domain import protocol
from server.domain.consent import consent_hashes
from server.live.limits import SignallingLimits

FUZZ = settings(max_examples=300, deadline=None, database=None)

PARSER_CODES = {"too_large", "malformed", "unknown_type", "bad_field", "bad_chat", "bad_signal",
                "bad_candidate",
                "insecure_sdp"}
CLIENT_TYPES = sorted(t for t, cls in protocol.MESSAGES.items() if cls.direction != "server")
SERVER_ONLY_TYPES = sorted(t for t, cls in protocol.MESSAGES.items() if cls.direction == "server")
FIELD_NAMES = sorted({f.name for cls in protocol.MESSAGES.values()
                      for f in dataclasses.fields(cls)} | {"from", "type", "direction"})

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                | st.text(max_size=50))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.text(max_size=12) | st.sampled_from(FIELD_NAMES), children, max_size=6),
    max_leaves=40)


def well_typed(cls: type[protocol.Message], name: str) -> st.SearchStrategy[Any]:
    """A value of the field's declared type (not necessarily one _validate accepts)."""
    hint = str(cls.__dataclass_fields__[name].type)
    if "bool" in hint:
        return st.booleans()
    if "int" in hint:
        return st.integers()
    if "dict" in hint:
        sdp_descriptions = st.fixed_dictionaries({
            "type": st.sampled_from(["offer", "answer", "pranswer"]),
            "sdp": st.sampled_from([FAKE_SDP, "v=0", FAKE_SDP + "a=crypto:1"])})
        return st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=4) | \
            sdp_descriptions
    if "list" in hint:
        return st.lists(json_values, max_size=4)
    return st.text(max_size=30) | st.sampled_from(["video", "audio", "phone", "none", "g:1", "w:1",
                                                   "reconnected", " ", "x" * 1001])


@st.composite
def message_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object whose type is a registered one, with right, wrong and unknown fields."""
    kind = draw(st.sampled_from(sorted(protocol.MESSAGES)))
    cls = protocol.MESSAGES[kind]
    data: dict[str, Any] = {"type": kind}
    for f in dataclasses.fields(cls):
        if draw(st.booleans()):
            wire_name = "from" if f.name == "from_" else f.name
            strategy = well_typed(cls, f.name) if draw(st.integers(0, 3)) else json_values
            data[wire_name] = draw(strategy)
    if draw(st.integers(0, 3)) == 0:
        data.update(draw(st.dictionaries(st.text(max_size=10) | st.sampled_from(FIELD_NAMES),
                                         json_values, max_size=3)))
        data["type"] = kind
    return data


def check_parse(raw: str | bytes) -> protocol.Message | None:
    """parse() gives a registered client message or a ProtocolError with a known code."""
    try:
        msg = protocol.parse(raw)
    except protocol.ProtocolError as exc:
        assert exc.code in PARSER_CODES, exc.code
        assert isinstance(exc.message, str) and exc.message
        return None
    assert isinstance(msg, protocol.Message)
    assert protocol.MESSAGES[msg.type] is type(msg)
    assert msg.direction in ("client", "both")
    return msg


# -- 1. the parser ------------------------------------------------------------------------------

@FUZZ
@given(st.text())
def test_parse_arbitrary_text(raw):
    check_parse(raw)


@FUZZ
@given(st.binary())
def test_parse_arbitrary_bytes(raw):
    check_parse(raw)


@FUZZ
@given(json_values, st.booleans())
def test_parse_arbitrary_json(value, as_bytes):
    text = json.dumps(value)
    check_parse(text.encode("utf-8") if as_bytes else text)


@FUZZ
@given(message_dicts())
def test_parse_messages_of_every_registered_type(data):
    msg = check_parse(json.dumps(data))
    if msg is not None:  # accepted: every field given is kept, as given; nothing else is set
        assert "from" not in data
        given_fields = {k: v for k, v in data.items() if k != "type"}
        for f in dataclasses.fields(msg):
            if f.name in given_fields:
                assert getattr(msg, f.name) == given_fields[f.name]
            else:
                default = (f.default if f.default is not dataclasses.MISSING
                           else f.default_factory())  # type: ignore[misc]
                assert getattr(msg, f.name) == default
        assert set(given_fields) <= {f.name for f in dataclasses.fields(msg)}


def nested(depth: int, shape: str) -> str:
    """``depth`` levels of JSON nesting, of one shape."""
    if shape == "open arrays":
        return "[" * depth
    if shape == "balanced arrays":
        return "[" * depth + "]" * depth
    if shape == "objects":
        return '{"a":' * depth + "1" + "}" * depth
    return '{"type":"signal","to":"w:1","candidate":{"x":' + "[" * depth + "]" * depth + "}}"


NESTING = ["open arrays", "balanced arrays", "objects", "in a signal"]


@settings(max_examples=50, deadline=None, database=None)
@given(st.integers(1, 12_000), st.sampled_from(NESTING))
@example(10_000, "open arrays")
@example(10_000, "balanced arrays")
@example(10_000, "in a signal")
def test_parse_survives_deep_nesting(depth, shape):
    raw = nested(depth, shape)
    assume(len(raw.encode()) <= protocol.MAX_MESSAGE_BYTES)  # larger never passes the edge
    check_parse(raw)


# Round trips: what the server sends is what it meant; what a client sends comes back unchanged.

ids = st.text(min_size=1, max_size=20)
chat_texts = st.text(min_size=1, max_size=protocol.MAX_CHAT_CHARS).filter(lambda t: t.strip())
descriptions = st.fixed_dictionaries({
    "type": st.sampled_from(["offer", "answer"]),
    "sdp": st.tuples(st.text(max_size=200), st.text(max_size=200)).map(
        lambda ab: ab[0] + "a=fingerprint:sha-256 00:11\r\n" + ab[1]).filter(
        lambda sdp: "a=crypto:" not in sdp)})
candidate_lines = st.builds(
    lambda foundation, priority, port, kind: (
        f"candidate:{foundation} 1 udp {priority} 127.0.0.1 {port} typ {kind}"),
    st.text("abcdef0123456789", min_size=1, max_size=10), st.integers(0, 2**31),
    st.integers(1, 65535), st.sampled_from(["host", "srflx", "relay"]))
candidates = st.fixed_dictionaries({"candidate": candidate_lines | st.just(""),
                                    "sdpMid": st.text(max_size=5),
                                    "sdpMLineIndex": st.integers(0, 10)})

server_messages = st.one_of(
    st.builds(protocol.Chat, text=chat_texts, from_=ids, name=st.text(max_size=40),
              at=st.text(max_size=30)),
    st.builds(protocol.Modality, mode=st.sampled_from(["video", "audio"]),
              reason=st.text(max_size=200), from_=ids),
    st.builds(protocol.MediaState, audio=st.booleans(), video=st.booleans(), from_=ids),
    st.builds(protocol.Signal, to=ids, description=descriptions, from_=ids),
    st.builds(protocol.Signal, to=ids, candidate=candidates, from_=ids),
    st.builds(protocol.Error, code=st.text(max_size=20), message=st.text(max_size=100)),
    st.builds(protocol.Waiting, since=st.text(max_size=30), worker_present=st.booleans()),
    st.builds(protocol.Admitted, peer=ids, peer_name=st.text(max_size=40), polite=st.booleans(),
              modality=st.sampled_from(["video", "audio"])),
    st.builds(protocol.Ended, reason=st.text(max_size=40)),
    st.builds(protocol.Phone, worker_phone=st.text(max_size=20), service_phone=st.text(max_size=20),
              person_phone=st.text(max_size=20), person_phone_end=st.text(max_size=2),
              plan_b=st.text(max_size=20), reason=st.text(max_size=200)),
)


@FUZZ
@given(server_messages)
def test_dump_round_trips(msg):
    out = json.loads(protocol.dump(msg))
    assert out["type"] == msg.type == type(msg).type
    expected: dict[str, Any] = {"type": msg.type}
    for f in dataclasses.fields(msg):
        value = getattr(msg, f.name)
        if isinstance(msg, protocol.Signal) and f.name in ("description", "candidate") \
                and value is None:
            continue  # absent rather than null
        expected["from" if f.name == "from_" else f.name] = value
    assert out == expected
    assert "from_" not in out

    # The same message as a client sends it (no "from"; the server adds it) parses back to itself.
    if msg.direction == "both":
        sent = {k: v for k, v in out.items() if k != "from"}
        back = protocol.parse(json.dumps(sent))
        assert back == dataclasses.replace(msg, from_="")


# -- 2. the live endpoint -----------------------------------------------------------------------

SEED = 20260706
FRAMES = 150
LIMIT = protocol.MAX_MESSAGE_BYTES
WORKER_ONLY = ("admit", "decline", "ready", "end")


@dataclasses.dataclass
class Frame:
    kind: str
    data: str | bytes

    def describe(self) -> str:
        shown = self.data[:120]
        unit = "bytes" if isinstance(self.data, bytes) else "chars"
        return f"{self.kind} ({len(self.data)} {unit}): {shown!r}"


def _junk(rng: random.Random, n: int) -> str:
    return bytes(rng.getrandbits(8) for _ in range(n)).decode("utf-8", errors="replace")


def _unicode(rng: random.Random, n: int) -> str:
    out = []
    while len(out) < n:
        cp = rng.choice([rng.randrange(0, 0x80), rng.randrange(0x80, 0x800),
                         rng.randrange(0x800, 0x10000), rng.randrange(0x10000, 0x110000)])
        if not 0xD800 <= cp <= 0xDFFF:  # no lone surrogates: they cannot be sent as UTF-8
            out.append(chr(cp))
    return "".join(out)


def _value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(8 if depth < 3 else 6)
    if pick == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    if pick == 7:
        return {_unicode(rng, rng.randrange(0, 6)): _value(rng, depth + 1)
                for _ in range(rng.randrange(0, 4))}
    return [None, True, rng.randint(-2**70, 2**70), rng.uniform(-1e300, 1e300),
            _unicode(rng, rng.randrange(0, 20)), ""][pick]


def _wrong_type(rng: random.Random, hint: str) -> Any:
    choices: list[Any] = [None, 0, 1.5, "1", [], {}, True, [1, "a"], {"type": "offer"}]
    if "bool" in hint:
        choices = [c for c in choices if not isinstance(c, bool)]
    elif "int" in hint:
        choices = [c for c in choices if isinstance(c, bool) or not isinstance(c, int)]
    elif "dict" in hint:
        choices = [c for c in choices if c is not None and not isinstance(c, dict)]
    elif "str" in hint:
        choices = [c for c in choices if not isinstance(c, str)]
    return rng.choice(choices)


def _valid_but_refused(rng: random.Random) -> dict[str, Any]:
    """Well-formed messages a waiting, consented person may not send: refused by the service."""
    return rng.choice([
        {"type": "hello", "version": 1},
        {"type": rng.choice(WORKER_ONLY[:2]),
         "participant": rng.choice(["g:1", "w:1", "g:999999"])},
        {"type": "ready", "quiet": True, "confidential": False, "headset": True},
        {"type": "end", "phone_finished": rng.random() < 0.5},
        {"type": "signal", "to": "w:1", "description": {"type": "offer", "sdp": FAKE_SDP}},
        {"type": "signal", "to": "g:1", "candidate": {"candidate": _unicode(rng, 10)}},
        {"type": "chat", "text": "x" + _unicode(rng, rng.randrange(0, 200))},
        {"type": "media", "audio": False, "video": rng.random() < 0.5},
        {"type": "modality", "mode": rng.choice(["video", "audio"]), "reason": _unicode(rng, 20)},
        {"type": "fallback", "reason": _unicode(rng, 30)},
        {"type": "incident", "kind": rng.choice(["reconnected", "nope", ""])},
        {"type": "consent", "modality": rng.choice(["video", "audio", "phone", "none"]),
         "text_hash": _unicode(rng, 64)},
    ])


def _sized(target_bytes: int, ascii_only: bool) -> str:
    """A chat message whose UTF-8 text is exactly ``target_bytes`` long."""
    head = '{"type":"chat","text":"'
    tail = '"}'
    room = target_bytes - len(head) - len(tail)
    if ascii_only:
        return head + "x" * room + tail
    body = "é" * (room // 2) + "x" * (room % 2)  # two bytes, one character each
    return head + body + tail


def fuzz_frames(rng: random.Random, n: int) -> list[Frame]:
    """A seeded mix of malformed frames, plus some well-formed ones the service must refuse."""
    samples = [json.dumps(d) for d in (
        {"type": "chat", "text": "hello"}, {"type": "hello", "version": 1, "resume": False},
        {"type": "signal", "to": "w:1", "description": {"type": "offer", "sdp": FAKE_SDP}},
        {"type": "consent", "modality": "video", "audio_fallback": True, "others_present": False,
         "others": "", "text_hash": "0" * 64})]
    frames = [  # the edge cases, always
        Frame("empty", ""),
        # aiohttp refuses an uncompressed frame of exactly max_msg_size bytes (its check is >=),
        # so "just under" is one byte under.
        Frame("size: one byte under", _sized(LIMIT - 1, ascii_only=True)),
        Frame("size: one byte over", _sized(LIMIT + 1, ascii_only=True)),
        Frame("size: under in characters, over in bytes", _sized(LIMIT + 2, ascii_only=False)),
        Frame("size: junk just under", _junk(rng, 30_000)[:LIMIT // 4]),
        Frame("deep: 10 000 open arrays", "[" * 10_000),
        Frame("deep: 10 000 balanced arrays", "[" * 10_000 + "]" * 10_000),
        Frame("deep: nested in a field",
              '{"type":"chat","text":"hi","x":' + "[" * 10_000 + "]" * 10_000 + "}"),
        Frame("binary", b"\x00\xff" * 10),
    ]
    while len(frames) < n:
        kind = rng.randrange(14)
        if kind == 0:
            frames.append(Frame("random bytes as text", _junk(rng, rng.randrange(1, 300))))
        elif kind == 1:
            s = rng.choice(samples)
            frames.append(Frame("truncated JSON", s[:rng.randrange(1, len(s))]))
        elif kind == 2:
            not_objects = [[], [1, 2], [{"type": "ping"}], 0, -1.5, 1e308, None, True, "ping",
                           '{"type":"ping"}']
            frames.append(Frame("not an object", json.dumps(rng.choice(not_objects))))
        elif kind == 3:
            kind_name = rng.choice(CLIENT_TYPES)
            cls = protocol.MESSAGES[kind_name]
            fields = [f for f in dataclasses.fields(cls) if f.name != "from_"]
            if not fields:
                fieldless = json.dumps({"type": kind_name, "x": 1})
                frames.append(Frame("field on a fieldless type", fieldless))
                continue
            f = rng.choice(fields)
            frames.append(Frame("wrong field type", json.dumps(
                {"type": kind_name, f.name: _wrong_type(rng, str(f.type))})))
        elif kind == 4:
            unknown_types = [_unicode(rng, rng.randrange(0, 50)), *SERVER_ONLY_TYPES, "PING",
                             "ping ", "__init__", "_on_ping"]
            frames.append(Frame("unknown type", json.dumps({"type": rng.choice(unknown_types)})))
        elif kind == 5:
            frames.append(Frame("type not a string", json.dumps({"type": rng.choice(
                [None, 1, ["ping"], {"ping": 1}, True])})))
        elif kind == 6:
            d = json.loads(rng.choice(samples))
            d[rng.choice(["from", "extra", "direction", _unicode(rng, 5)])] = _value(rng)
            frames.append(Frame("unknown field", json.dumps(d)))
        elif kind == 7:
            binary = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
            frames.append(Frame("binary", binary))
        elif kind == 8:
            frames.append(Frame("random JSON", json.dumps(_value(rng))))
        elif kind == 9:
            depth = rng.choice([100, 900, 1000, 5000, 10_000, 30_000])
            frames.append(Frame(f"deep nesting ({depth})", rng.choice(
                ["[" * depth, "{\"a\":" * depth, '{"type":"chat","text":' + "[" * depth])))
        elif kind == 10:
            frames.append(Frame("valid but refused", json.dumps(_valid_but_refused(rng),
                                                                ensure_ascii=rng.random() < 0.5)))
        elif kind == 12:  # a lone surrogate, escaped: valid ASCII on the wire, not valid text
            d = _valid_but_refused(rng)
            text_fields = [k for k, v in d.items() if isinstance(v, str) and k != "type"] or ["x"]
            d[rng.choice(text_fields)] = "a" + chr(rng.randrange(0xD800, 0xE000)) + "b"
            frames.append(Frame("lone surrogate", json.dumps(d)))
        elif kind == 13:  # NaN, Infinity and numbers too large for a float
            d = _valid_but_refused(rng)
            d[rng.choice([k for k in d if k != "type"] or ["x"])] = rng.choice(
                [float("nan"), float("inf"), float("-inf")])
            raw = json.dumps(d)
            if rng.random() < 0.3:
                raw = raw.replace("Infinity", "1e999").replace("NaN", "-1e999")
            frames.append(Frame("non-finite number", raw))
        else:
            s = rng.choice(samples)
            frames.append(Frame("byte-flipped JSON", "".join(
                c if rng.random() > 0.05 else rng.choice('{}[]",:\\\x00é') for c in s)))
    return frames


def expected_answer(frame: Frame) -> tuple[str, Any]:
    """What the edge should answer: ("close", 1009) or ("error", the parser's code or None).

    The parser raises nothing but ProtocolError (the parser tests above hold it to that), so
    anything else it raises is its own bug and fails this test here, with its traceback."""
    if isinstance(frame.data, bytes):
        return "error", "text_only"
    if len(frame.data.encode("utf-8")) > LIMIT:
        return "close", 1009
    try:
        msg = protocol.parse(frame.data)
    except protocol.ProtocolError as exc:
        return "error", exc.code
    # Well-formed: the service refuses it (never ping, never a consent it knows).
    assert msg.type != "ping" and not (isinstance(msg, protocol.Consent)
                                       and msg.text_hash in consent_hashes()), frame
    return "error", None


async def interview_in_progress(proxima: Any) -> tuple[Any, Any]:
    """A worker and an admitted person, in a call (the control group)."""
    call = await in_call(proxima)
    return call["worker"], call["person"]


async def waiting_person(proxima: Any, socket: str = "call") -> tuple[Any, Any, str]:
    """A person who consented and waits, with no worker connected (nothing else talks to them);
    with ``socket="test"``, the same person's connection-test socket instead."""
    _, _, created, public_id = await planned_soon(
        proxima, worker=await proxima.worker(email="fuzz@example.org", name="Fuzz Target"))
    browser = await guest(proxima, created["link"])
    if socket == "test":
        public_id += "?purpose=test"
        return browser, await connect(proxima, browser, public_id), public_id
    wire = await connect(proxima, browser, public_id)
    await consent(wire)
    await wire.expect("waiting")
    return browser, wire, public_id


async def expect_chat(wire: Any, text: str) -> None:
    """The chat message ``text`` arrives (a sender also hears its own chat back)."""
    while (await wire.expect("chat"))["text"] != text:
        pass


@pytest.mark.parametrize("socket", ["call", "test"])
async def test_fuzzed_frames_get_errors_and_break_nothing(make_proxima, caplog, socket):
    # No rate limit to speak of: it is not what is tested here (test_a_burst_... tests it).
    proxima = await make_proxima(limits=SignallingLimits(rate=10_000.0, burst=10_000.0))
    caplog.set_level(logging.ERROR)
    worker, person = await interview_in_progress(proxima)
    browser, wire, public_id = await waiting_person(proxima, socket)

    async def reconnect() -> Any:
        with_welcome = await connect(proxima, browser, public_id)
        if socket == "call":
            assert with_welcome.inbox[-1]["state"] == "waiting"
            await with_welcome.expect("waiting")
        return with_welcome

    anomalies: list[str] = []
    frames = fuzz_frames(random.Random(SEED), FRAMES)
    for frame in frames:
        expect_kind, expect_code = expected_answer(frame)
        try:
            if isinstance(frame.data, bytes):
                await wire.ws.send_bytes(frame.data)
            else:
                await wire.ws.send_str(frame.data)
            answer = await wire.next(timeout=3.0)
        except TimeoutError:
            answer = {"type": "_no_answer"}
        except (ConnectionError, aiohttp.ClientError) as exc:
            answer = {"type": "_send_failed", "error": repr(exc)}
        if answer["type"] == "error":
            ok = (expect_kind == "error" and isinstance(answer.get("code"), str)
                  and isinstance(answer.get("message"), str)
                  and set(answer) == {"type", "code", "message"}
                  and (expect_code is None or answer["code"] == expect_code))
        elif answer["type"] == "_closed":
            ok = expect_kind == "close" and answer["code"] == expect_code
        else:
            ok = False
        if not ok:
            expected = f"{expect_kind} {expect_code!r}"
            anomalies.append(f"{frame.describe()} -> expected {expected}, got {answer}")
        if answer["type"] != "error":  # closed, hung or broken: come back as the same browser
            if not wire.ws.closed:
                await wire.ws.close()
            wire = await reconnect()

    # (a) the process still answers.
    health = await browser.request("GET", "/healthz")
    assert health.status == 200
    # The fuzzed connection itself still works.
    await wire.send(type="ping")
    assert (await wire.next())["type"] == "pong"
    # (b) the other interview goes on: chat both ways.
    await person.send(type="chat", text="still here after the fuzz")
    await expect_chat(worker, "still here after the fuzz")
    await worker.send(type="chat", text="so am I")
    await expect_chat(person, "so am I")
    trouble = ("error", "ended", "peer_left")
    assert not [m for m in person.inbox + worker.inbox if m["type"] in trouble]

    crashes = [f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records
               if r.levelno >= logging.ERROR]
    assert not anomalies and not crashes, "\n".join(anomalies + crashes)


async def test_a_burst_is_rate_limited_but_not_closed(make_proxima):
    clock = ManualClock()  # the bucket refills only when the test moves it
    proxima = await make_proxima(clock=clock)
    _browser, wire, _public_id = await waiting_person(proxima)
    # ~120 of burst (consent used one), then ~30 refused: fewer than 50 in a row.
    for _ in range(150):
        await wire.ws.send_str("{")
    answers = [await wire.next() for _ in range(150)]
    codes = [a.get("code") for a in answers]
    assert all(a["type"] == "error" and isinstance(a["code"], str) for a in answers), answers[-3:]
    assert set(codes) == {"malformed", "rate_limited"}
    assert codes.count("malformed") >= 110 and codes.count("rate_limited") >= 10
    assert codes.index("rate_limited") >= 110
    # The bucket refills: the same connection is served again.
    clock.advance(1.0)
    await wire.send(type="ping")
    assert (await wire.next())["type"] == "pong"
