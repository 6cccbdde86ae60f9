"""Layer 1: bytes to lines of newline-delimited JSON, sans-IO (the SSE decoder's sibling).

Ollama's native API streams one JSON object per line (``application/x-ndjson``). The decoder
has the SSE decoder's verbs and bounds — ``feed`` bytes, get frames; ``end``; ``error`` past
``max_event_size`` — and hands each line to the parser as a
:class:`~trio_chatsse.sansio.ServerSentEvent` whose ``data`` is the line, so the shell and the
parsers read either framing alike. The registry says which an API uses.

Rules: a line ends at LF (a CR before it is dropped, for CRLF bodies); blank lines are skipped;
a line split across feeds (UTF-8 included: LF never occurs inside a multi-byte character) is
joined; at the end of input a last line without its LF is still a line — Ollama writes an error
object with no trailing newline — unlike an unterminated SSE event, which is dropped. Pure: no
trio, no I/O.
"""

from __future__ import annotations

from ._errors import EventTooLargeError
from ._sse import DEFAULT_MAX_EVENT_SIZE, Comment, ServerSentEvent

__all__ = ["NDJSONDecoder"]


class NDJSONDecoder:
    """Turns chunks of an NDJSON body into one frame per line.

    Args:
        max_event_size: The longest line accepted, in bytes; past it :attr:`error` is set
            (an :class:`~trio_chatsse.sansio.EventTooLargeError`) and input is ignored.
    """

    def __init__(self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        if max_event_size <= 0:
            raise ValueError("max_event_size must be positive")
        self.max_event_size = max_event_size
        #: Set when a line broke the size limit; the decoder then ignores all input.
        self.error: EventTooLargeError | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0

    def feed(self, chunk: bytes) -> list[ServerSentEvent | Comment]:
        """Take the next chunk of the body; return a frame per line it completed."""
        if self.error is not None or not chunk:
            return []
        lines = chunk.split(b"\n")
        tail = lines.pop()  # after the last LF: the start of the next line, or b""
        out: list[ServerSentEvent | Comment] = []
        if lines and self._pending:
            lines[0] = b"".join((*self._pending, lines[0]))
            self._pending.clear()
            self._pending_size = 0
        for line in lines:
            if len(line) > self.max_event_size:
                self._fail()
                return out
            text = line.rstrip(b"\r")
            if text.strip():
                out.append(ServerSentEvent(data=text.decode("utf-8", "replace")))
        if tail:
            self._pending.append(tail)
            self._pending_size += len(tail)
            if self._pending_size > self.max_event_size:
                self._fail()
        return out

    def end(self) -> list[ServerSentEvent | Comment]:
        """Signal end of input: a last line without its LF is still a line."""
        if self.error is not None or not self._pending:
            return []
        line = b"".join(self._pending).rstrip(b"\r")
        self._pending.clear()
        self._pending_size = 0
        return [ServerSentEvent(data=line.decode("utf-8", "replace"))] if line.strip() else []

    def _fail(self) -> None:
        self.error = EventTooLargeError(
            f"an NDJSON line grew past max_event_size ({self.max_event_size} bytes)",
            limit=self.max_event_size,
        )
        self._pending.clear()
        self._pending_size = 0
