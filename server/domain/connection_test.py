"""The connection test's recommendation, from figures measured at both ends.

The thresholds live here and only here. They start from Jitsi's published pre-call thresholds
(audio throughput 8 / 20 kbit/s, video 60 / 750 kbit/s; packet loss 5 % / 10 % / 33 %). One change:
Jitsi's 750 kbit/s is for its 720p test stream; Proxima's test stream is 320x240 at 15 fps (to keep
the server's cost down), which a healthy connection carries at 100 to 250 kbit/s (measured here:
140 kbit/s with Chromium's fake camera). So "good video" is 100 kbit/s each way with at least
10 frames a second received; a constrained link shows up as loss, fewer frames or lower bitrate.

Only the edges that separate the three recommendations are kept. Jitsi's "no usable video" below
60 kbit/s and "poor" from 10 % loss grade finer than that: between good video and no sound, the
advice is sound only whatever the video rate or loss, so those two edges would change nothing.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Literal

Figure = float | str | None
"""One measured figure: a number (``path``, the route the media took, is a name), or None when
it could not be measured."""
Figures = Mapping[str, Figure]
Recommendation = Literal["video", "audio", "phone"]

THRESHOLDS = {
    "audio_kbps": (8.0, 20.0),    # below 8: no usable sound; from 20: clear sound
    "video_kbps": (100.0,),       # from 100: good (the test stream, above)
    "fps": (10.0,),               # fewer frames received: the video will stutter
    "loss": (0.05, 0.33),         # good below 5 %; unusable from 33 %
    "rtt_ms": (400.0, 1500.0),    # conversation is awkward from 400 ms, impossible from 1500 ms
}

RECOMMENDATIONS: tuple[Recommendation, ...] = typing.get_args(Recommendation)


def _number(figures: Figures, name: str, missing: float) -> float:
    """The figure ``name`` as a number; ``missing`` when it was not measured."""
    value = figures.get(name)
    return float(value) if isinstance(value, (int, float)) else missing


def recommend(figures: Figures) -> Recommendation:
    """'video' (video will work well), 'audio' (video may freeze: audio only) or 'phone'.

    ``figures`` holds ``audio_kbps`` and ``video_kbps`` (the lower of upstream and downstream),
    ``fps`` (frames a second received back), ``loss`` (0..1, the worse direction) and ``rtt_ms``;
    a missing figure counts as the worst.
    """
    audio = _number(figures, "audio_kbps", 0.0)
    video = _number(figures, "video_kbps", 0.0)
    fps = _number(figures, "fps", 0.0)
    loss = _number(figures, "loss", 1.0)
    rtt = _number(figures, "rtt_ms", 10_000.0)
    audio_min, audio_good = THRESHOLDS["audio_kbps"]
    (video_good,) = THRESHOLDS["video_kbps"]
    loss_good, loss_bad = THRESHOLDS["loss"]
    rtt_awkward, rtt_bad = THRESHOLDS["rtt_ms"]
    if audio < audio_min or loss >= loss_bad or rtt >= rtt_bad:
        return "phone"
    if (video >= video_good and fps >= THRESHOLDS["fps"][0] and loss < loss_good
            and audio >= audio_good and rtt < rtt_awkward):
        return "video"
    return "audio"


def combine(browser: Figures, server: Figures) -> dict[str, Figure]:
    """One set of figures from the browser's and the server's measurements.

    Throughput is the lower of upstream (what the server received) and downstream (what the
    browser received); loss and jitter are the worse of the two directions.
    """
    def numbers(values: tuple[Figure, ...]) -> list[float]:
        return [float(v) for v in values if isinstance(v, (int, float))]

    def low(*values: Figure) -> float:
        found = numbers(values)
        return round(min(found), 1) if found else 0.0

    def high(*values: Figure) -> float | None:
        found = numbers(values)
        return round(max(found), 4) if found else None

    return {
        "rtt_ms": browser.get("rtt_ms"),
        "audio_kbps": low(browser.get("audio_up_kbps"), browser.get("audio_down_kbps")),
        "video_kbps": low(browser.get("video_up_kbps"), browser.get("video_down_kbps")),
        "up_kbps": browser.get("up_kbps"), "down_kbps": browser.get("down_kbps"),
        "loss": high(server.get("loss"), browser.get("loss")),
        "loss_up": server.get("loss"), "loss_down": browser.get("loss"),
        "jitter_ms": high(server.get("jitter_ms"), browser.get("jitter_ms")),
        "fps": browser.get("fps"), "width": browser.get("width"), "height": browser.get("height"),
        "path": browser.get("path", "unknown"),
    }
