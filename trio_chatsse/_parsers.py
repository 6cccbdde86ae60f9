"""What the trio shell needs of a layer-2 parser, whichever wire API it reads.

The Chat Completions, Responses API and Messages API parsers are siblings with the same verbs;
the shell runs any of them through :class:`EventParser` and never branches on the API. They
start from :class:`ParserCore`, which reads each event's payload by the rules they share.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import NamedTuple, Protocol

from ._errors import ChatSSEError
from ._models import Event
from ._wire import DONE, loads, read_payload

__all__ = ["EventParser", "ParserCore", "ParserState", "ResponseCursor"]


class ParserState(Enum):
    """Where a parser (:class:`~trio_chatsse.sansio.ChatChunkParser`,
    :class:`~trio_chatsse.sansio.ResponsesEventParser` or
    :class:`~trio_chatsse.sansio.MessagesEventParser`) is."""

    #: Events are being read.
    STREAMING = "streaming"
    #: A ``finish_reason`` arrived (Chat Completions only) and the items are done;
    #: ``Completed`` waits for ``[DONE]`` (a usage chunk may still come).
    FINISHED = "finished"
    #: ``Completed`` went out; later input is ignored.
    COMPLETED = "completed"
    #: The stream failed; the parser's ``error`` says why; later input is ignored.
    FAILED = "failed"


class ResponseCursor(NamedTuple):
    """Where a background Responses stream stands: its response id and the
    ``sequence_number`` of the last event read (``None`` before any)."""

    response_id: str
    sequence_number: int | None


class EventParser(Protocol):
    """SSE ``data`` in, events out: pure, synchronous, one instance per stream."""

    #: Where the parser is.
    state: ParserState
    #: Why the stream failed, once :attr:`state` is ``FAILED``.
    error: ChatSSEError | None

    @property
    def position(self) -> ResponseCursor | None:
        """Where the stream stands, for a stream the server can resume from there (a
        background Responses stream whose response id is known); ``None`` for any other."""
        ...

    @property
    def checkpoints(self) -> Sequence[tuple[int, int | None]] | None:
        """For a resumable stream, one ``(events made so far, sequence number)`` per event
        read, so that a consumer behind the reader can tell where *it* stands; else ``None``."""
        ...

    @property
    def partial_text(self) -> str:
        """The text of a message being written and not yet done (its deltas went out): what
        a stream that fails now keeps of it. ``""`` when none is."""
        ...

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
    """What every parser of this package starts from: its state, its error, failing, and
    :meth:`feed`, which reads one event's payload by the shared rules (``_wire.read_payload``)
    and hands a JSON object to the parser's own ``_on_payload``."""

    def __init__(self) -> None:
        #: Where the parser is; see :class:`~trio_chatsse.sansio.ParserState`.
        self.state = ParserState.STREAMING
        #: Why the stream failed, once :attr:`state` is ``FAILED``.
        self.error: ChatSSEError | None = None
        self._out: list[Event] = []

    @property
    def position(self) -> ResponseCursor | None:
        """``None``: a stream of this API cannot be resumed (see :class:`EventParser`)."""
        return None

    @property
    def checkpoints(self) -> Sequence[tuple[int, int | None]] | None:
        """``None``: a stream of this API cannot be resumed (see :class:`EventParser`)."""
        return None

    @property
    def partial_text(self) -> str:
        """``""``; a parser that keeps text in progress says it (see :class:`EventParser`)."""
        return ""

    def feed(self, data: str, event: str = "message") -> list[Event]:
        """Take the ``data`` (and ``event`` type) of one SSE event; return the events it made.

        A terminal error is recorded in :attr:`error` after returning the events before it;
        nothing is raised. Once the stream is over, input is ignored.
        """
        state = self.state
        if state is _COMPLETED or state is _FAILED:
            return []
        if data == DONE:
            return self._on_done()
        try:
            payload = loads(data)
        except ValueError:
            payload = None
        if type(payload) is not dict:
            # The rare shapes, by the shared rules: [DONE] with whitespace, not JSON, an error
            # event, JSON that is not an object. Read again there, off the hot path.
            payload = read_payload(data, event)
            if payload is DONE:
                return self._on_done()
            if isinstance(payload, ChatSSEError):
                self._fail(payload)
            if type(payload) is not dict:
                return []
        out = self._out = []
        self._on_payload(payload, event)
        return out

    def _on_payload(self, payload: dict[str, object], event: str) -> None:
        """One event's JSON object: append the events it makes to ``self._out``."""
        raise NotImplementedError

    def _on_done(self) -> list[Event]:
        """The ``[DONE]`` marker."""
        raise NotImplementedError

    def _fail(self, error: ChatSSEError) -> None:
        """End the stream with ``error``: later input is ignored."""
        self.error = error
        self.state = ParserState.FAILED


_COMPLETED = ParserState.COMPLETED
_FAILED = ParserState.FAILED
