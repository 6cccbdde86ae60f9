"""The telemetry contract of a stream: what the reader reports per read, and the counts it keeps.

Shared by the trio shell, which fills them in, and by whatever reads them (``stream.stats``,
``trio_chatsse.otel``, the embedded server's tests). Plain data and a ``Protocol``: no trio,
no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ReadOutcome", "StreamStats", "StreamTelemetry"]


class ReadOutcome(enum.Enum):
    """What one read of the body gave, as reported to a :class:`StreamTelemetry`."""

    #: Bytes arrived.
    DATA = "data"
    #: The body ended.
    END = "end"
    #: The transport failed.
    ERROR = "error"
    #: Nothing arrived for ``idle_timeout`` seconds.
    IDLE_TIMEOUT = "idle_timeout"
    #: The request was sent again after a failure before the first content, or a background
    #: response's stream was resumed; ``waited`` is the time the backoff and the new request
    #: took.
    RETRY = "retry"


class StreamTelemetry(Protocol):
    """Receives one call per read of the body, for metrics (read latency, time to first token).

    It runs in the reader task: keep it quick and never raise from it.
    """

    def on_read(self, outcome: ReadOutcome, size: int, waited: float) -> None:
        """Called after each read.

        Args:
            outcome: What the read gave.
            size: How many bytes it gave (0 unless ``outcome`` is ``DATA``).
            waited: Seconds the read waited, by :func:`trio.current_time`.
        """


@dataclass
class StreamStats:
    """Counts about one stream, filled in as it runs (read them after the end)."""

    reads: int = 0
    """Reads of the body that gave bytes (of the attempt that answered)."""
    bytes_read: int = 0
    """Bytes of the body read."""
    events: int = 0
    """Events sent to the consumer."""
    retries: int = 0
    """How many times the request was sent again (after a transport failure or a retried
    status before a response, or a failure before the first content)."""
    resumes: int = 0
    """How many times a background response's stream was resumed after a cut."""
    limiter_wait: float = 0.0
    """Seconds the stream waited for its :class:`~trio_chatsse.Limiter`'s turns."""
    time_to_first_byte: float | None = None
    """Seconds from the start of the stream to its first byte."""
    time_to_first_event: float | None = None
    """Seconds from the start of the stream to its first event."""
    duration: float | None = None
    """Seconds from the start of the stream until the reader stopped."""
