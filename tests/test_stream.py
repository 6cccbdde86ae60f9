"""Layer 3: the trio shell over in-memory byte sources, timed with the autojump clock."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from trio_chatsse import (
    Completed,
    FunctionCall,
    IdleTimeoutError,
    OutputItemDone,
    OutputTextDelta,
    StreamError,
    TokenUsage,
    open_event_stream,
)
from trio_chatsse._stream import CHANNEL_SIZE
from trio_chatsse.telemetry import ReadOutcome
from trio_chatsse.testing import Reply, ScriptedToolCall, sse_body

from .conftest import TaskTracker
from .helpers import byte_source, chunk

IDLE = 10.0
TEXT_BODY = sse_body(
    [chunk({"content": "Hello"}), chunk({"content": " world"}), chunk(finish="stop")]
)


class ClosingSource:
    """A byte source that records whether it was closed and how far it was read."""

    def __init__(self, pieces: list[bytes | float], *, then_wait: bool = False) -> None:
        self.pieces = pieces
        self.then_wait = then_wait
        self.read = 0
        self.closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._run()

    async def _run(self) -> AsyncIterator[bytes]:
        try:
            for piece in self.pieces:
                if isinstance(piece, float):
                    await trio.sleep(piece)
                    continue
                self.read += 1
                yield piece
            if self.then_wait:
                await trio.sleep_forever()
        finally:
            self.closed = True


async def test_events_in_order_then_end(tasks: TaskTracker) -> None:
    async with open_event_stream(byte_source([TEXT_BODY])) as stream:
        events = [event async for event in stream]
    assert [type(e).__name__ for e in events] == [
        "OutputItemAdded",
        "OutputTextDelta",
        "OutputTextDelta",
        "OutputItemDone",
        "Completed",
    ]
    assert stream.text == "Hello world"
    assert stream.completed == events[-1]
    assert stream.stats.events == 5
    assert stream.stats.reads == 1
    assert tasks.spawned == 1


async def test_final_and_accumulated_answer() -> None:
    reply = Reply(text="Hi there", tool_calls=[ScriptedToolCall("f", '{"a": 1}')])
    async with open_event_stream(byte_source([sse_body(reply.chunks())])) as stream:
        completed = await stream.final()
    assert completed.finish_reason == "tool_calls"
    assert stream.text == "Hi there"
    assert stream.tool_calls == [FunctionCall(call_id="call_0", name="f", arguments='{"a": 1}')]
    assert isinstance(stream.usage, TokenUsage)
    assert [type(i).__name__ for i in stream.output] == ["FunctionCall", "Message"]


async def test_final_without_completed_raises_the_stream_error() -> None:
    async with open_event_stream(
        byte_source([sse_body([chunk({"content": "a"})], done=False)])
    ) as stream:
        with pytest.raises(StreamError):
            await stream.final()


async def test_idle_timeout_after_earlier_events(
    autojump_clock: trio.testing.MockClock, tasks: TaskTracker
) -> None:
    source = ClosingSource([sse_body([chunk({"content": "a"})], done=False)], then_wait=True)
    seen = []
    async with open_event_stream(source, idle_timeout=IDLE) as stream:
        start = trio.current_time()
        with pytest.raises(IdleTimeoutError) as info:
            async for event in stream:
                seen.append(event)
        waited = trio.current_time() - start
    assert seen[-1] == OutputTextDelta(delta="a")
    assert info.value.idle_timeout == IDLE
    assert IDLE <= waited <= IDLE * (1 + 1 / 16) + 1e-9
    assert source.closed


async def test_idle_timeout_before_first_byte(autojump_clock: trio.testing.MockClock) -> None:
    source = ClosingSource([], then_wait=True)
    async with open_event_stream(source, idle_timeout=IDLE) as stream:
        with pytest.raises(IdleTimeoutError):
            await stream.final()


async def test_keepalive_comments_keep_a_slow_stream_alive(
    autojump_clock: trio.testing.MockClock,
) -> None:
    pieces: list[bytes | float] = []
    for _ in range(20):
        pieces += [IDLE * 0.9, b": keep-alive\n\n"]
    pieces.append(TEXT_BODY)
    async with open_event_stream(ClosingSource(pieces), idle_timeout=IDLE) as stream:
        completed = await stream.final()
    assert completed.finish_reason == "stop"
    assert trio.current_time() >= 20 * IDLE * 0.9


async def test_slow_consumer_is_not_an_idle_server(autojump_clock: trio.testing.MockClock) -> None:
    body = sse_body(
        [chunk({"content": "x"}) for _ in range(3 * CHANNEL_SIZE)] + [chunk(finish="stop")]
    )
    async with open_event_stream(byte_source([body]), idle_timeout=IDLE) as stream:
        count = 0
        async for _ in stream:
            count += 1
            if count % 1000 == 0:
                await trio.sleep(IDLE * 3)  # longer than the idle timeout, while the reader waits
    assert stream.completed is not None


async def test_back_pressure_bounds_the_buffer(autojump_clock: trio.testing.MockClock) -> None:
    events = 10_000
    source = ClosingSource([sse_body([chunk({"content": "x"})], done=False) for _ in range(events)])
    async with open_event_stream(source) as stream:
        consumed = 0
        async for _ in stream:
            consumed += 1
            buffered = stream._receive.statistics().current_buffer_used
            assert buffered <= CHANNEL_SIZE
            # The reader stops reading when the buffer is full: it is never far ahead.
            assert source.read - consumed <= CHANNEL_SIZE + 1
            if consumed == 2000:
                await trio.sleep(1)
                assert stream._receive.statistics().current_buffer_used == CHANNEL_SIZE
                break
    assert source.closed


async def test_a_read_of_many_events_reaches_the_consumer_early() -> None:
    # An HTTP library hands over one socket read (hundreds of events) chunk by chunk without a
    # checkpoint. The consumer must still see the first events before the reader has decoded
    # them all: what a UI shows, and what the process holds at once per stream.
    source = ClosingSource([sse_body([chunk({"content": "x"})], done=False) for _ in range(1000)])
    async with open_event_stream(source) as stream:
        async for _ in stream:
            assert source.read < 100
            break


class ConsumerError(Exception):
    pass


async def test_consumer_exception_comes_out_as_itself(tasks: TaskTracker) -> None:
    source = ClosingSource([TEXT_BODY], then_wait=True)
    with pytest.raises(ConsumerError):
        async with open_event_stream(source) as stream:
            async for _ in stream:
                raise ConsumerError
    assert source.closed


async def test_break_closes_everything(tasks: TaskTracker) -> None:
    source = ClosingSource([TEXT_BODY] * 3, then_wait=True)
    async with open_event_stream(source) as stream:
        async for _ in stream:
            break
    assert source.closed
    with pytest.raises(trio.ClosedResourceError):
        await stream.__anext__()


async def test_cancel_from_enclosing_scope(
    autojump_clock: trio.testing.MockClock, tasks: TaskTracker
) -> None:
    source = ClosingSource([TEXT_BODY[:40]], then_wait=True)
    with trio.move_on_after(5) as scope:
        async with open_event_stream(source, idle_timeout=100) as stream:
            async for _ in stream:
                pass
    assert scope.cancelled_caught
    assert source.closed


async def test_cancel_from_a_sibling_task(
    autojump_clock: trio.testing.MockClock, tasks: TaskTracker
) -> None:
    source = ClosingSource([TEXT_BODY[:40]], then_wait=True)
    async with trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def consume() -> None:
            with scope:
                async with open_event_stream(source, idle_timeout=100) as stream:
                    await stream.final()

        nursery.start_soon(consume)
        await trio.sleep(1)
        scope.cancel()
    assert scope.cancelled_caught
    assert source.closed


async def test_transport_error_becomes_stream_error_after_events() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield sse_body([chunk({"content": "a"})], done=False)
        raise OSError("connection reset")

    seen = []
    async with open_event_stream(broken()) as stream:
        with pytest.raises(StreamError) as info:
            async for event in stream:
                seen.append(event)
    assert seen[-1] == OutputTextDelta(delta="a")
    assert isinstance(info.value.__cause__, OSError)


async def test_other_source_errors_come_out_as_themselves() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b""
        raise ConsumerError("from the source")

    async with open_event_stream(broken()) as stream:
        with pytest.raises(ConsumerError, match="from the source"):
            await stream.final()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[ReadOutcome, int, float]] = []

    def on_read(self, outcome: ReadOutcome, size: int, waited: float) -> None:
        self.calls.append((outcome, size, waited))


async def test_telemetry_once_per_read(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    half = len(TEXT_BODY) // 2
    source = ClosingSource([2.0, TEXT_BODY[:half], TEXT_BODY[half:]])
    async with open_event_stream(source, telemetry=recorder) as stream:
        await stream.final()
    outcomes = [c[0] for c in recorder.calls]
    assert outcomes[:2] == [ReadOutcome.DATA, ReadOutcome.DATA]
    assert recorder.calls[0][1] == half
    assert recorder.calls[0][2] == pytest.approx(2.0)
    assert stream.stats.time_to_first_byte == pytest.approx(2.0)


async def test_telemetry_reports_idle_timeout(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    async with open_event_stream(
        ClosingSource([], then_wait=True), idle_timeout=IDLE, telemetry=recorder
    ) as stream:
        with pytest.raises(IdleTimeoutError):
            await stream.final()
    assert recorder.calls == [(ReadOutcome.IDLE_TIMEOUT, 0, IDLE)]


async def test_telemetry_reports_end_and_error() -> None:
    recorder = Recorder()
    async with open_event_stream(
        byte_source([sse_body([chunk({"content": "a"})], done=False)]), telemetry=recorder
    ) as stream:
        with pytest.raises(StreamError):
            await stream.final()
    assert [c[0] for c in recorder.calls] == [ReadOutcome.DATA, ReadOutcome.END]

    async def broken() -> AsyncIterator[bytes]:
        raise OSError("reset")
        yield b""  # pragma: no cover

    recorder = Recorder()
    async with open_event_stream(broken(), telemetry=recorder) as stream:
        with pytest.raises(StreamError):
            await stream.final()
    assert [c[0] for c in recorder.calls] == [ReadOutcome.ERROR]


@pytest.mark.parametrize("idle_timeout", [0, -1, math.nan])
async def test_bad_idle_timeout_is_a_value_error(idle_timeout: float) -> None:
    with pytest.raises(ValueError, match="idle_timeout"):
        async with open_event_stream(byte_source([]), idle_timeout=idle_timeout):
            pass  # pragma: no cover


async def test_completed_reaches_consumer_before_a_stalled_body_ends(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A server that keeps the body open after [DONE]: the consumer still ends at once.
    source = ClosingSource([TEXT_BODY + b": trailing\n\n"], then_wait=True)
    async with open_event_stream(source, idle_timeout=IDLE) as stream:
        start = trio.current_time()
        events = [e async for e in stream]
    assert isinstance(events[-1], Completed)
    assert trio.current_time() - start < 1.01
    assert isinstance(events[-2], OutputItemDone)
