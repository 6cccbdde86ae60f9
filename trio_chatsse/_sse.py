"""Layer 1: a sans-IO Server-Sent Events decoder. Bytes in, events out.

Implements the WHATWG "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
with no I/O, no trio, no httpx and no pydantic.

Theory of operation: bytes are split into lines on bytes, never on text, because the only
line ends are CR, LF and CRLF (``bytes.splitlines`` splits on exactly these, unlike
``str.splitlines``). A line is decoded from UTF-8 only once it is whole, so a character split
across two feeds needs no incremental decoder. An unterminated tail waits in ``_pending`` as a
list of pieces (joined once, so a line dripped one byte per feed costs linear time), and a CR
ending one feed remembers to drop an LF starting the next.
"""

from __future__ import annotations

import logging
from typing import NamedTuple, Protocol

from ._errors import EventTooLargeError

__all__ = ["Comment", "Decoder", "SSEDecoder", "ServerSentEvent", "new_sse_decoder"]

logger = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
#: The default for ``max_event_size``: 16 MiB.
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024


class ServerSentEvent(NamedTuple):
    """One dispatched event of a ``text/event-stream`` body.

    A named tuple rather than a frozen dataclass: one is built per event on the hot path,
    and a tuple is several times cheaper to build.
    """

    event: str = "message"
    """The ``event:`` field; ``message`` when the event had none."""
    data: str = ""
    """The ``data:`` lines, joined with ``\\n``."""
    id: str = ""
    """The last event id seen so far in the stream (the spec keeps it across events)."""
    retry: int | None = None
    """The ``retry:`` field of this event, in milliseconds, when it had a valid one."""


class Decoder(Protocol):
    """A framing of a body: bytes in, frames out (the SSE decoder, the NDJSON one)."""

    #: The largest line or event accepted, in bytes.
    max_event_size: int
    #: Set when a line or event broke :attr:`max_event_size`; input is then ignored.
    error: EventTooLargeError | None

    def feed(self, chunk: bytes) -> list[ServerSentEvent | Comment]:
        """Take the next chunk of the body; return the frames it completed."""
        ...

    def end(self) -> list[ServerSentEvent | Comment]:
        """Signal end of input; return a last frame the framing still counts as whole."""
        ...


class Comment(NamedTuple):
    """A comment line (``: ...``), which servers send as a keep-alive."""

    text: str
    """The comment, without the colon and one following space."""


class SSEDecoder:
    """Turns the bytes of an event stream into :class:`ServerSentEvent` and :class:`Comment`.

    Call :meth:`feed` with each chunk of the body as it arrives, then :meth:`end` once at
    end of input. If a line or an event grows past ``max_event_size`` bytes, :attr:`error`
    is set to an :class:`~trio_chatsse.sansio.EventTooLargeError` (after returning the events that
    came before it) and the decoder ignores all further input.
    """

    def __init__(self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        if max_event_size <= 0:
            raise ValueError("max_event_size must be positive")
        self.max_event_size = max_event_size
        #: Set when the stream broke the size limit; the decoder then ignores all input.
        self.error: EventTooLargeError | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._skip_lf = False
        self._at_start = True
        self._event = ""
        self._data: list[str] = []
        self._data_size = 0
        self._last_id = ""
        self._retry: int | None = None
        #: No line, field or event is pending and the stream has started: a chunk holding
        #: one whole event can take a fast path.
        self._between_events = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent | Comment]:
        """Take the next chunk of the body; return the events and comments it completed."""
        if self.error is not None or not chunk:
            return []
        # Fast paths: the chunk is exactly one event, "data: ...\n\n" (Chat Completions) or
        # "event: ...\ndata: ...\n\n" (the Responses API), and nothing is pending: how
        # servers flush, one event per write. Same result as the general path.
        if (
            self._between_events
            and chunk.endswith(b"\n\n")
            and b"\r" not in chunk
            and len(chunk) <= self.max_event_size
        ):
            end = len(chunk) - 2
            first = chunk.find(b"\n")
            if first == end and chunk.startswith(b"data:"):
                data = chunk[6:end] if chunk[5] == 0x20 else chunk[5:end]
                return [ServerSentEvent("message", data.decode("utf-8", "replace"), self._last_id)]
            if (
                chunk.startswith(b"event:")
                and chunk.find(b"\n", first + 1) == end
                and chunk.startswith(b"data:", first + 1)
            ):
                name = chunk[7:first] if chunk[6] == 0x20 else chunk[6:first]
                start = first + 7 if chunk[first + 6] == 0x20 else first + 6
                return [
                    ServerSentEvent(
                        name.decode("utf-8", "replace") or "message",
                        chunk[start:end].decode("utf-8", "replace"),
                        self._last_id,
                    )
                ]
        out = self._feed(chunk)
        # Computed once here rather than tested field by field on every fast-path chunk.
        self._between_events = not (
            self._pending or self._data or self._event or self._skip_lf or self._at_start
        ) and (self._retry is None and self.error is None)
        return out

    def _feed(self, chunk: bytes) -> list[ServerSentEvent | Comment]:
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                if not chunk:
                    return []
        if b"\n" not in chunk and b"\r" not in chunk:
            self._hold(chunk)
            return []
        if self._pending:
            self._pending.append(chunk)
            chunk = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
        lines = chunk.splitlines()
        last = chunk[-1]
        tail = None
        if last == 0x0D:
            self._skip_lf = True
        elif last != 0x0A:
            tail = lines.pop()
        out: list[ServerSentEvent | Comment] = []
        for line in lines:
            self._on_line(line, out)
            if self.error is not None:
                return out
        if tail is not None:
            self._hold(tail)
        return out

    def end(self) -> list[ServerSentEvent | Comment]:
        """Signal end of input. An event not ended by a blank line is dropped, per the spec."""
        if self._data or self._pending:
            logger.debug("dropping an unterminated event at end of stream")
        self._pending.clear()
        self._data.clear()
        return []

    def _hold(self, piece: bytes) -> None:
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size + self._data_size > self.max_event_size:
            self._fail()

    def _fail(self) -> None:
        self.error = EventTooLargeError(
            f"an SSE line or event grew past max_event_size ({self.max_event_size} bytes)",
            limit=self.max_event_size,
        )
        self._pending.clear()
        self._data.clear()

    def _on_line(self, line: bytes, out: list[ServerSentEvent | Comment]) -> None:
        if self._at_start:
            self._at_start = False
            line = line.removeprefix(_BOM)
        if not line:
            self._dispatch(out)
            return
        # Fast path: nearly every line of a chat stream is "data: {...}".
        if line.startswith(b"data:"):
            data = line[6:] if line[5:6] == b" " else line[5:]
            self._data_size += len(data) + 1
            if self._data_size > self.max_event_size:
                self._fail()
                return
            self._data.append(data.decode("utf-8", "replace"))
            return
        field, colon, value = line.decode("utf-8", "replace").partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if not field:
            out.append(Comment(value))
        elif field == "event":
            self._event = value
        elif field == "data":  # a "data" line with no colon: an empty data line
            self._data.append(value)
            self._data_size += 1
        elif field == "id":
            if "\0" not in value:
                self._last_id = value
        elif field == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        else:
            logger.debug("ignoring unknown SSE field %r", field[:40])

    def _dispatch(self, out: list[ServerSentEvent | Comment]) -> None:
        # "If the data buffer is an empty string, set the data buffer and the event type
        # buffer to the empty string and return." An event with no data line is not sent.
        if self._data:
            data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
            out.append(ServerSentEvent(self._event or "message", data, self._last_id, self._retry))
            self._data.clear()
            self._data_size = 0
        self._event = ""
        self._retry = None


def new_sse_decoder(max_event_size: int) -> SSEDecoder:
    """An :class:`SSEDecoder` with that bound (the registry's default framing)."""
    return SSEDecoder(max_event_size=max_event_size)
