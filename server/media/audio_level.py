"""The audio level aiortc writes in every audio packet it sends, computed with numpy.

aiortc's ``RTCRtpSender`` puts an RFC 6465 audio level in each audio packet, from
``aiortc.rtp.compute_audio_level_dbov``: a Python loop over every sample, which profiled at about a
fifth of a core per echoed connection test (tests/bench/test_peer_capacity.py). ``install()``
makes aiortc use ``audio_level_dbov`` instead: the same result (tests/test_connection_test.py
checks it against aiortc's own function), computed by numpy.

Importing this module changes nothing: the server calls ``install()`` once at start-up, so that
what a library does is decided in one visible place, not by whichever module is imported first.
"""

from __future__ import annotations

import math

import aiortc.rtp
import av
import numpy as np

MAX_SAMPLE = 32767
MIN_LEVEL, MAX_LEVEL = -127, 0  # dBov, RFC 6465


def audio_level_dbov(frame: av.AudioFrame) -> int:
    """RFC 6465 audio level of a frame of signed 16-bit samples, as aiortc computes it.

    Same formula as ``aiortc.rtp.compute_audio_level_dbov`` (Appendix A of RFC 6465: the RMS of
    the samples in dB below full scale, clamped to -127..0, rounded), without a Python loop.
    """
    # int64 squares and a plain sum: no BLAS call (OpenBLAS threads would spin for a dot product).
    samples = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16).astype(np.int64)
    rms = (int(np.square(samples).sum()) / (frame.samples * MAX_SAMPLE * MAX_SAMPLE)) ** 0.5
    if rms <= 0:
        return MIN_LEVEL
    return round(min(max(20 * math.log10(rms), MIN_LEVEL), MAX_LEVEL))


def install() -> None:
    """Make aiortc compute audio levels with ``audio_level_dbov``; call once at start-up.

    ``RTCRtpSender`` looks the function up in ``aiortc.rtp`` for each frame it sends, so this
    applies to every peer connection, including those opened before the call. Calling it again
    changes nothing.
    """
    aiortc.rtp.compute_audio_level_dbov = audio_level_dbov


def installed() -> bool:
    """Whether aiortc uses ``audio_level_dbov`` (for start-up checks and tests)."""
    return aiortc.rtp.compute_audio_level_dbov is audio_level_dbov
