"""Layer 2: a Responses API stream's ``sequence_number``s, and where a resumable one stands.

The Responses parser starts from :class:`SequencedCore`: the numbers it read, the response id,
and, for a background response's stream that may be resumed, its position and one checkpoint per
event read (so a consumer behind the reader can tell where *it* stands). Pure: no trio, no I/O.

A gap or a repeat in the numbers is logged (once per stream), never an error: trimmed and
proxied streams have gaps and out-of-order numbers while their content is whole, and dropping
an event for its number would lose text. Only a resumed stream skips what it already read, and
fails on a gap.
"""

from __future__ import annotations

import logging

from ._errors import StreamError
from ._models import Event
from ._parsers import ParserCore, ResponseCursor

__all__ = ["SequencedCore", "sequence_break"]

logger = logging.getLogger("trio_chatsse._responses")


class SequencedCore(ParserCore):
    """A parser core that follows ``sequence_number`` (see the Responses parser)."""

    def __init__(self, resumable: bool, starting_after: int | None, response_id: str) -> None:
        super().__init__()
        #: Whether the stream may be resumed (see the Responses parser's arguments).
        self.resumable = resumable
        self._response_id = response_id
        self._last_sequence = starting_after
        self._sequence_logged = False
        self._checkpoints: list[tuple[int, int | None]] | None = None
        if resumable:
            self._checkpoints = []
            self._made = 0
            self.feed = self._feed_keeping_checkpoints  # type: ignore[method-assign]

    def _feed_keeping_checkpoints(self, data: str, event: str = "message") -> list[Event]:
        events = ParserCore.feed(self, data, event)
        self._made += len(events)
        assert self._checkpoints is not None
        self._checkpoints.append((self._made, self._last_sequence))
        return events

    @property
    def position(self) -> ResponseCursor | None:
        """Where a resumable stream stands once its response id is known, else ``None``."""
        if not self.resumable or not self._response_id:
            return None
        return ResponseCursor(self._response_id, self._last_sequence)

    @property
    def checkpoints(self) -> list[tuple[int, int | None]] | None:
        """A resumable stream's ``(events made so far, sequence number)``, one per event read."""
        return self._checkpoints

    @property
    def response_id(self) -> str:
        """The response's id, once the stream said it (``""`` before)."""
        return self._response_id

    @property
    def sequence_number(self) -> int | None:
        """The ``sequence_number`` of the last event read, if the events carry one."""
        return self._last_sequence

    def _out_of_order(self, last: int, number: int) -> bool:
        skip, error = sequence_break(last, number, self.resumable, self._response_id)
        if error is not None:
            self._fail(error)
        elif not skip and not self._sequence_logged:
            self._sequence_logged = True
            logger.debug(
                "sequence_number went from %d to %d (a trimmed or proxied stream); carrying on",
                last,
                number,
            )
        return skip


def sequence_break(
    last: int, number: int, resumable: bool, response_id: str
) -> tuple[bool, StreamError | None]:
    """What an event out of sequence means: (skip it?, the stream's error).

    A resumed stream repeats what the cut overlapped (skipped) and must not leave a gap (an
    error); any other stream goes on: trimmed and proxied streams renumber while their content
    is whole, and dropping an event for its number would lose text.
    """
    if not resumable:
        return False, None
    if number <= last:
        return True, None
    gap = f"{last + 1} to {number - 1}"
    return True, StreamError(
        f"the resumed stream of {response_id or 'the response'} skipped events {gap}"
    )
