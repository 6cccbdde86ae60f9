"""Structured output: CPU per stream of a 16 KiB JSON answer streamed in 5-byte deltas.

Side by side in one process, each row the median of several streams:

- ``no output_type``: the same stream read as text (the floor);
- ``output_type, never asked``: ``output_type=`` set, no partial asked for;
- ``partial after every delta``: ``stream.partial_output()`` after each event;
- ``partials at 20 Hz``: a second task asks 20 times a (virtual) second while the model
  writes at 200 deltas a second (an 82 s answer: about 1,640 asks);
- ``partials iterator, slow consumer``: ``async for p in stream.partial_outputs()`` with a
  consumer busy for 50 ms per partial;
- ``pydantic partial, every delta``: what pydantic-ai and others do: the whole text so far
  through ``TypeAdapter.validate_json(..., experimental_allow_partial="trailing-strings")``
  at every delta.

The deltas arrive on trio's ``MockClock`` (virtual time, autojump), so the CPU figures are
the library's and pydantic's work, not waiting.

    python benchmarks/structured.py
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import trio
import trio.testing
from pydantic import BaseModel, TypeAdapter, ValidationError

from trio_chatsse import ChatStream, OutputTextDelta, open_event_stream
from trio_chatsse._structured import PartialReader, output_spec
from trio_chatsse.testing import Reply, sse_body

DELTA = 5
RATE = 200.0  # deltas per virtual second
REPEATS = 5


class Item(BaseModel):
    """One entry of the answer."""

    id: int
    title: str
    tags: list[str]
    score: float
    done: bool


class Report(BaseModel):
    """The structured answer."""

    summary: str
    items: list[Item]


def report(size: int = 16 * 1024) -> Report:
    summary = "A report of the items below, " * 4
    items: list[Item] = []
    while len(Report(summary=summary, items=items).model_dump_json()) < size:
        n = len(items)
        title = f"Item number {n} of the list"
        items.append(Item(id=n, title=title, tags=["a", "bb"], score=n / 7, done=n % 2 == 0))
    return Report(summary=summary, items=items)


REPORT = report()
TEXT = REPORT.model_dump_json()
BODY = sse_body(Reply(text=TEXT, fragment_size=DELTA).chunks())


async def _paced() -> AsyncIterator[bytes]:
    """The body, one SSE event per 1/RATE virtual second."""
    for event in BODY.split(b"\n\n"):
        if event:
            await trio.sleep(1 / RATE)
            yield event + b"\n\n"


Mode = Callable[[ChatStream[Any]], Any]


async def no_partials(stream: ChatStream[Any]) -> None:
    async for _ in stream:
        pass


async def every_delta(stream: ChatStream[Any]) -> None:
    async for _ in stream:
        stream.partial_output()


async def at_20_hz(stream: ChatStream[Any]) -> None:
    async with trio.open_nursery() as nursery:

        async def redraw() -> None:
            while True:
                stream.partial_output()
                await trio.sleep(0.05)

        nursery.start_soon(redraw)
        async for _ in stream:
            pass
        nursery.cancel_scope.cancel()


async def slow_iterator(stream: ChatStream[Any]) -> None:
    async for _ in stream.partial_outputs():
        await trio.sleep(0.05)


async def pydantic_every_delta(stream: ChatStream[Any]) -> None:
    adapter = TypeAdapter(Report)
    text = ""
    async for event in stream:
        if event.__class__ is OutputTextDelta:
            text += event.delta
            with contextlib.suppress(ValidationError):
                adapter.validate_json(text, experimental_allow_partial="trailing-strings")


def cpu_per_stream(mode: Mode, *, output_type: type[BaseModel] | None) -> float:
    """Median CPU seconds of one stream read with ``mode``."""
    times = []
    for _ in range(REPEATS):

        async def main() -> None:
            async with open_event_stream(_paced(), output_type=output_type) as stream:
                await mode(stream)
                if output_type is not None and mode is not pydantic_every_delta:
                    assert await stream.final_output() == REPORT

        start = time.process_time()
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    deltas = len(TEXT) // DELTA
    print(
        f"A {len(TEXT):,}-byte answer in {deltas:,} deltas of {DELTA} bytes; CPU per stream "
        "(the first row is the floor: reading the paced stream itself):"
    )
    rows: list[tuple[str, Mode, type[BaseModel] | None]] = [
        ("no output_type", no_partials, None),
        ("output_type, never asked", no_partials, Report),
        ("partial after every delta", every_delta, Report),
        ("partials at 20 Hz", at_20_hz, Report),
        ("partials iterator, slow consumer", slow_iterator, Report),
        ("pydantic partial, every delta", pydantic_every_delta, None),
    ]
    floor = None
    for name, mode, output_type in rows:
        seconds = cpu_per_stream(mode, output_type=output_type)
        floor = floor or seconds
        print(f"  {name:34} {seconds * 1e3:8.1f} ms  (+{(seconds - floor) * 1e3:6.1f} ms)")
    print("Per ask after every delta, without the stream (the growth with the answer's size):")
    for size in (4096, 16384):
        ours, theirs = per_ask(TEXT[:size])
        print(
            f"  {size:6,} bytes: partial_output {ours:6.1f} µs, pydantic partial {theirs:6.1f} µs"
        )


def per_ask(text: str) -> tuple[float, float]:
    """Mean µs per delta of reading partials after every delta: ours, pydantic's."""
    reader = PartialReader(output_spec(Report, strict=True))
    parts: list[str] = []
    start = time.process_time()
    for i in range(0, len(text), DELTA):
        parts.append(text[i : i + DELTA])
        reader.partial(parts)
    ours = time.process_time() - start
    adapter = TypeAdapter(Report)
    start = time.process_time()
    for i in range(DELTA, len(text) + DELTA, DELTA):
        with contextlib.suppress(ValidationError):
            adapter.validate_json(text[:i], experimental_allow_partial="trailing-strings")
    theirs = time.process_time() - start
    asks = len(range(0, len(text), DELTA))
    return ours / asks * 1e6, theirs / asks * 1e6


if __name__ == "__main__":
    main()
