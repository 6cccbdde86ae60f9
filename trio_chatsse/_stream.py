"""Layer 3: the trio shell, the only module that runs the pure layers under trio.

It does not know which HTTP library produced the bytes: the caller says which exceptions of
its source mean "the transport broke" (the HTTP layer passes its library's), and the shell
turns those, like ``OSError`` and ``trio.BrokenResourceError``, into
:class:`~trio_chatsse.StreamError`.

One nursery, one reader task. The reader awaits each next chunk of the body under a single
``trio.move_on_after(idle_timeout)`` scope whose deadline moves with activity, feeds the SSE
decoder and the chunk parser, and sends the events into ``trio.open_memory_channel(1600)``.
The consumer iterates a :class:`ChatStream`. Errors travel in-band (as in trio-websocket):
the reader records the error and closes its send end, and the consumer raises it at
``EndOfChannel``, after every earlier event, never wrapped in an ``ExceptionGroup``.

Cost notes (figures in ``docs/design.rst``, "Measured costs"): entering a fresh cancel scope
per read costs as much as the read itself, so the scope is made once and its deadline is pushed
only when it has gone stale (at most every ``idle_timeout / 16`` seconds of activity);
``send_nowait`` is tried before an awaited ``send``; the reader yields to the consumer every
32 events, since a socket read can hold hundreds.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

import trio

from ._chat_stream import ChatStream
from ._errors import StreamError
from ._models import Event, OutputItemAdded
from ._nursery import open_background_nursery
from ._parsers import EventParser, ParserState
from ._recovery import Attempt, AttemptKind, Attempts
from ._sse import Comment, Decoder
from ._stream_state import StreamState
from ._structured import OutputSpec, OutputT
from ._telemetry import ReadOutcome, StreamTelemetry
from ._timeouts import CLOSE_TIMEOUT, idle_timeout_error

if TYPE_CHECKING:
    from ._apis import WireAPISpec

__all__ = ["CHANNEL_SIZE", "close_source", "require_trio", "run_stream"]

logger = logging.getLogger(__name__)

#: Events buffered between the reader and the consumer before the reader stops reading.
CHANNEL_SIZE = 1600
#: Seconds the reader keeps reading after ``[DONE]`` so the connection can be reused.
DRAIN_TIMEOUT = 1.0
#: The idle deadline is pushed when it is stale by this fraction of ``idle_timeout``: the
#: timeout fires after between ``idle_timeout`` and ``idle_timeout * (1 + 1/16)`` of silence.
_DEADLINE_SLACK = 1 / 16
#: The reader lets the consumer run after this many events in a row. An HTTP library hands
#: over a whole socket read (httpcore: up to 64 KiB, a few hundred events) chunk by chunk
#: without a checkpoint, so without this the reader would queue all of them before the
#: consumer saw the first: latency for the consumer, and memory when hundreds of streams
#: run (the burst figures are in ``docs/design.rst``).
_EVENTS_PER_YIELD = 32
#: Reads tried while unwinding a source (see ``_close_source``). Each returns data already
#: buffered in memory until the first real socket read raises ``Cancelled``: httpcore reads
#: 64 KiB at a time, a few thousand chunked-encoding chunks at most. The bound only guards
#: against a caller's source that never checkpoints.
_CLOSE_READS = 10_000


class _Reader:
    """The reader task: body chunks in, events into the channel, errors recorded in-band."""

    def __init__(
        self,
        send: trio.MemorySendChannel[Event],
        state: StreamState,
        attempts: Attempts,
        first: Attempt,
        new_decoder: Callable[[int], Decoder],
        max_event_size: int,
        idle_timeout: float,
        telemetry: StreamTelemetry | None,
    ) -> None:
        self._send = send
        self._state = state
        self._attempts = attempts
        self._parser = first.parser
        self._new_decoder = new_decoder
        self._decoder = new_decoder(max_event_size)
        self._idle_timeout = idle_timeout
        self._first_byte = first.first_byte
        self._telemetry = telemetry
        self._transport_errors = (*_TRANSPORT_ERRORS, *attempts.transport_errors)
        self._started = trio.current_time()
        #: The OutputItemAdded events held back until the first content, while a failure may
        #: still be retried (``None`` once content came, or when nothing is retried).
        self._held: list[Event] | None = [] if attempts.may_try_again else None
        self._events_before = 0
        #: Set once the response is complete and the reader only reads the body to its end.
        self.draining = False
        #: Set when the reader has stopped and closed the source.
        self.stopped = trio.Event()

    async def run(self, source: AsyncIterable[bytes]) -> None:
        chunks = self._wrap(source)
        state = self._state
        stats = state.stats
        try:
            while True:
                try:
                    await self._pump(chunks)
                    break
                except Exception as exc:
                    error = self._translate(exc)
                # Outside the except: a cancellation during the backoff replaces the error.
                attempt = await self._try_again(error, chunks)
                if attempt is None:
                    raise error
                chunks = self._wrap(attempt.source)
        except Exception as exc:
            # Carried in-band, so the consumer gets it after the events before it, and never
            # inside an ExceptionGroup.
            self._release_held()
            state.error = exc
        finally:
            self._send.close()
            stats.duration = trio.current_time() - self._started
            await close_source(chunks)  # noqa: ASYNC102  # shielded, with a timeout, inside
            self.stopped.set()
        if state.error is not None:
            logger.debug("stream ended with %s", type(state.error).__name__)

    def _wrap(self, source: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        chunks = aiter(source)
        if self._telemetry is not None:
            chunks = _with_telemetry(chunks, self._telemetry, self._transport_errors)
        return chunks

    async def _try_again(self, error: Exception, chunks: AsyncIterator[bytes]) -> Attempt | None:
        """The next attempt, when the request has one for ``error``: sent again (before any
        content, with a new parser) or a background response resumed (the parser goes on)."""
        if not self._attempts.may_try_again:
            return None
        await close_source(chunks)
        before = trio.current_time()
        attempt = await self._attempts.next(error, self._parser, self._held is None)
        if attempt is None:
            return None
        state = self._state
        logger.debug("%s after %s", attempt.kind.value, type(error).__name__)
        if attempt.kind is AttemptKind.RESUME:
            self._events_before = state.stats.events
        else:
            self._held = []
            self._events_before = 0
            self._parser = state.parser = attempt.parser
        if self._telemetry is not None:
            self._telemetry.on_read(ReadOutcome.RETRY, 0, trio.current_time() - before)
        self._decoder = self._new_decoder(self._decoder.max_event_size)
        self._first_byte = attempt.first_byte
        state.response = attempt.response
        return attempt

    def _release_held(self) -> None:
        """Events held back go out before a final error, so that none is lost."""
        held, self._held = self._held, None
        for event in held or ():
            with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError):
                self._send.send_nowait(event)

    def _translate(self, exc: Exception) -> Exception:
        """A transport failure becomes a :class:`StreamError`; our own errors stay as they
        are, and so does anything else (a bug, or an error of a caller's own byte source)."""
        if isinstance(exc, self._transport_errors):
            error = StreamError(f"the connection broke while reading the stream: {exc!r:.300}")
            error.__cause__ = exc
            return error
        return exc

    async def _pump(self, chunks: AsyncIterator[bytes]) -> None:
        idle = self._idle_timeout
        slack = idle * _DEADLINE_SLACK
        # Bound once: trio.current_time() adds two Python frames on every chunk.
        clock = trio.lowlevel.current_clock().current_time
        decoder, parser = self._decoder, self._parser
        decode, parse, send_nowait = decoder.feed, parser.feed, self._send.send_nowait
        completed, failed = ParserState.COMPLETED, ParserState.FAILED
        stats = self._state.stats
        # Counted in locals and stored once: attribute updates cost on every chunk.
        reads = nbytes = 0
        # A resumed body goes on counting from the events of the body before it.
        events_sent = self._events_before
        next_yield = events_sent + _EVENTS_PER_YIELD
        held = self._held
        try:
            with (
                trio.move_on_after(idle + slack) as scope,
                _completing_on_break(parser, self._transport_errors),
            ):
                if self._first_byte is not None:
                    scope.deadline = self._first_byte.deadline
                deadline = scope.deadline
                async for chunk in chunks:
                    now = clock()
                    if deadline < now + idle:
                        deadline = scope.deadline = now + idle + slack
                    if not reads:
                        stats.time_to_first_byte = now - self._started
                        # The first byte ends the first-byte wait: silence is idleness now.
                        deadline = scope.deadline = now + idle + slack
                    reads += 1
                    nbytes += len(chunk)
                    for sse in decode(chunk):
                        if isinstance(sse, Comment):
                            continue
                        events = parse(sse.data, sse.event)
                        if not events:
                            continue
                        if not events_sent:
                            stats.time_to_first_event = clock() - self._started
                        events_sent += len(events)
                        if held is not None:
                            events = self._hold(events)
                            held = self._held
                        for event in events:
                            try:
                                send_nowait(event)
                            except trio.WouldBlock:
                                # Waiting for a slow consumer is not idleness of the server.
                                scope.deadline = math.inf
                                await self._send.send(event)
                                deadline = scope.deadline = clock() + idle + slack
                        if events_sent >= next_yield:
                            next_yield = events_sent + _EVENTS_PER_YIELD
                            await trio.lowlevel.checkpoint()
                    if decoder.error is not None:
                        raise decoder.error
                    state = parser.state
                    if state is completed or state is failed:
                        break
        finally:
            stats.reads, stats.bytes_read, stats.events = reads, nbytes, events_sent
        if scope.cancelled_caught:
            self._on_idle_timeout()
        await self._end_of_body(chunks)

    def _hold(self, events: list[Event]) -> list[Event]:
        """While a failure may still be retried, hold OutputItemAdded events back; at the first
        content, return the held ones with it and stop holding."""
        held = self._held
        assert held is not None
        for position, event in enumerate(events):
            if event.__class__ is not OutputItemAdded:
                self._held = None
                return held + events[position:]
            held.append(event)
        return []

    def _on_idle_timeout(self) -> None:
        idle = self._idle_timeout
        if self._telemetry is not None:
            self._telemetry.on_read(ReadOutcome.IDLE_TIMEOUT, 0, idle)
        if self._first_byte is not None and not self._state.stats.reads:
            self._first_byte.expired()
        raise idle_timeout_error(idle)

    async def _end_of_body(self, chunks: AsyncIterator[bytes]) -> None:
        """After the loop: drain after ``[DONE]``, or end the parser and send what it makes."""
        parser = self._parser
        if parser.state is ParserState.COMPLETED:
            self.draining = True
            self._send.close()  # the consumer may finish while the body drains
            await _drain(chunks, min(self._idle_timeout, DRAIN_TIMEOUT))
            return
        if parser.state is ParserState.STREAMING or parser.state is ParserState.FINISHED:
            # A framing may hold a last frame (NDJSON's line without its LF; SSE drops it).
            events = [
                event
                for frame in self._decoder.end()
                if frame.__class__ is not Comment
                for event in parser.feed(frame.data, frame.event)  # type: ignore[union-attr]  # not a Comment
            ]
            if parser.state is ParserState.STREAMING or parser.state is ParserState.FINISHED:
                events += parser.end()
            if events and self._held is not None:
                events = self._hold(events)
            for event in events:
                self._state.stats.events += 1
                await self._send.send(event)
        if parser.error is not None:
            raise parser.error


#: What any byte source raises when its connection breaks; the caller adds its own.
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (trio.BrokenResourceError, OSError)


@contextmanager
def _completing_on_break(
    parser: EventParser, transport_errors: tuple[type[BaseException], ...]
) -> Iterator[None]:
    """Let a connection that breaks after the finish end the stream normally.

    Every item is done by then and end of input after a finish completes the stream; only
    a usage chunk or ``[DONE]`` can have been lost, which is no reason to fail the answer.
    """
    try:
        yield
    except transport_errors as exc:
        if parser.state is not ParserState.FINISHED:
            raise
        logger.debug("the connection broke after the finish (%s); completing", type(exc).__name__)


async def _with_telemetry(
    chunks: AsyncIterator[bytes],
    telemetry: StreamTelemetry,
    transport_errors: tuple[type[BaseException], ...],
) -> AsyncGenerator[bytes, None]:
    """Report each read of ``chunks`` to ``telemetry``; used only when one is given, so that
    streams without telemetry pay nothing for it."""
    clock = trio.current_time
    while True:
        before = clock()
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            telemetry.on_read(ReadOutcome.END, 0, clock() - before)
            return
        except transport_errors:
            telemetry.on_read(ReadOutcome.ERROR, 0, clock() - before)
            raise
        telemetry.on_read(ReadOutcome.DATA, len(chunk), clock() - before)
        yield chunk


async def close_source(chunks: AsyncIterator[bytes]) -> None:
    """Close a byte source that may have been left suspended, without blocking for long.

    httpx's body iterators are async generators nested several deep. ``aclose()`` on the
    outer one leaves the inner ones to the garbage collector, and trio warns about each
    (``ResourceWarning``). Resuming the source under an already-cancelled scope makes its
    innermost read raise ``Cancelled``, which unwinds and finishes every level.
    """
    with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
        with trio.CancelScope() as unwind:
            unwind.cancel()
            for _ in range(_CLOSE_READS):
                try:
                    await anext(chunks)
                except StopAsyncIteration:
                    break
                except Exception:  # the source is being thrown away
                    break
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


async def _drain(chunks: AsyncIterator[bytes], seconds: float) -> None:
    """Read the body to its end (briefly) so that httpx can put the connection back in the pool."""
    with trio.move_on_after(seconds):
        async for _ in chunks:
            pass


def require_trio(entry: str) -> None:
    """A clear error for an entry point called outside trio (from asyncio, say), before the
    first trio call would fail deep inside with "must be called from async context"."""
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        raise RuntimeError(
            f"{entry}() runs under trio, and this is not a trio run: call it from code started "
            "by trio.run() (from an asyncio program, through trio.lowlevel.start_guest_run; "
            'the getting-started page\'s "trio only" says more)'
        ) from None


@asynccontextmanager
async def run_stream(
    attempts: Attempts,
    *,
    api: WireAPISpec,
    idle_timeout: float,
    max_event_size: int,
    telemetry: StreamTelemetry | None,
    output: OutputSpec[OutputT] | None = None,
) -> AsyncGenerator[ChatStream[OutputT], None]:
    """Run the reader task over ``attempts``' bodies; yield the stream the consumer reads.

    The first attempt is made before anything starts, so its errors (an HTTP status, no
    response) are raised from the ``async with``. On every exit the reader is cancelled and
    awaited and both channel ends are closed; closing the response is the request's job.
    """
    first = await attempts.first()
    state = StreamState(first, attempts.stats)
    send, receive = trio.open_memory_channel[Event](CHANNEL_SIZE)
    stream = ChatStream(receive, state, api, output)
    reader = _Reader(
        send, state, attempts, first, api.new_decoder, max_event_size, idle_timeout, telemetry
    )
    with send, receive:
        async with open_background_nursery() as nursery:
            nursery.start_soon(reader.run, first.source)
            yield stream
            if reader.draining:
                # The response is complete; let the reader finish the body (bounded by
                # DRAIN_TIMEOUT) so that httpx can reuse the connection.
                await reader.stopped.wait()
