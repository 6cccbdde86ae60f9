"""What the trio shell needs of a layer-2 parser, whichever wire API it reads.

The Chat Completions chunk parser and the Responses API event parser are siblings with the
same verbs; the shell runs either through :class:`EventParser` and never branches on the API.
"""

from __future__ import annotations

from enum import Enum
from typing import Protocol

from ._errors import ChatSSEError
from ._models import Event

__all__ = ["EventParser", "ParserCore", "ParserState"]


class ParserState(Enum):
    """Where a parser (:class:`~trio_chatsse.ChatChunkParser` or
    :class:`~trio_chatsse.ResponsesEventParser`) is."""

    #: Events are being read.
    STREAMING = "streaming"
    #: A ``finish_reason`` arrived (Chat Completions only) and the items are done;
    #: ``Completed`` waits for ``[DONE]`` (a usage chunk may still come).
    FINISHED = "finished"
    #: ``Completed`` went out; later input is ignored.
    COMPLETED = "completed"
    #: The stream failed; the parser's ``error`` says why; later input is ignored.
    FAILED = "failed"


class EventParser(Protocol):
    """SSE ``data`` in, events out: pure, synchronous, one instance per stream."""

    #: Where the parser is.
    state: ParserState
    #: Why the stream failed, once :attr:`state` is ``FAILED``.
    error: ChatSSEError | None

    def feed(self, data: str, event: str = "message") -> list[Event]:
        """Take the ``data`` and ``event`` type of one SSE event; return the events it made.

        A terminal error is recorded in :attr:`error` after returning the events before it;
        nothing is raised.
        """
        ...

    def end(self) -> list[Event]:
        """Signal end of input; a stream cut short sets :attr:`error`."""
        ...


class ParserCore:
    """What every parser of this package starts from: its state, its error, and failing."""

    def __init__(self) -> None:
        #: Where the parser is; see :class:`~trio_chatsse.ParserState`.
        self.state = ParserState.STREAMING
        #: Why the stream failed, once :attr:`state` is ``FAILED``.
        self.error: ChatSSEError | None = None

    def _fail(self, error: ChatSSEError) -> None:
        """End the stream with ``error``: later input is ignored."""
        self.error = error
        self.state = ParserState.FAILED
