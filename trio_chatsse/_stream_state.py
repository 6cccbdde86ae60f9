"""What the reader task knows of its stream, shared with the consumer: one writer, one reader.

The trio shell's reader writes it as the stream goes (the parser of the current attempt, its
response, the error that ended it); :class:`~trio_chatsse.ChatStream` only reads it. Plain data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._clients import HTTPResponse
    from ._parsers import EventParser
    from ._recovery import Attempt
    from ._telemetry import StreamStats

__all__ = ["StreamState"]


class StreamState:
    """What the reader knows of its stream. The reader task writes it; the consumer's
    :class:`~trio_chatsse.ChatStream` reads it."""

    __slots__ = ("error", "parser", "response", "stats")

    def __init__(self, attempt: Attempt, stats: StreamStats) -> None:
        #: The parser reading the body now (a retry gives it a new one).
        self.parser: EventParser = attempt.parser
        #: The HTTP response being read (``None`` for a body without one).
        self.response: HTTPResponse | None = attempt.response
        #: The error that ended the stream, once it did.
        self.error: Exception | None = None
        #: The stream's counts.
        self.stats = stats
