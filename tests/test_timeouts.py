"""first_byte_timeout and idle_timeout, on the autojump clock (no real waiting)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from trio_chatsse import (
    FirstByteTimeoutError,
    IdleTimeoutError,
    open_chat_stream,
    open_event_stream,
    open_responses_stream,
)
from trio_chatsse.testing import sse_body

from .helpers import HTTPClient, chunk, library_module, new_client

MESSAGES = [{"role": "user", "content": "hi"}]
BODY = sse_body([chunk({"content": "Hello"}), chunk(finish="stop")])


def slow_client(
    library: str, *, headers_after: float = 0.0, pieces: list[bytes | float] | None = None
) -> HTTPClient:
    """A client whose server answers after ``headers_after`` seconds, then streams ``pieces``
    (a float is a pause)."""
    lib = library_module(library)

    class Body(lib.AsyncByteStream):  # type: ignore[misc, name-defined]  # either library's
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for piece in pieces if pieces is not None else [BODY]:
                if isinstance(piece, float):
                    await trio.sleep(piece)
                else:
                    yield piece

    async def handler(request: object) -> object:
        await trio.sleep(headers_after)
        return lib.Response(200, headers={"content-type": "text/event-stream"}, stream=Body())

    return new_client(library, transport=lib.MockTransport(handler), base_url="http://test/v1")


async def test_a_long_think_before_the_headers_is_allowed_by_first_byte_timeout(
    autojump_clock: trio.testing.MockClock, http_library: str
) -> None:
    async with slow_client(http_library, headers_after=240.0) as http:
        async with open_chat_stream(
            http, model="m", messages=MESSAGES, idle_timeout=30, first_byte_timeout=600
        ) as stream:
            await stream.final()
    assert stream.text == "Hello"


async def test_no_headers_in_time_is_a_first_byte_timeout_on_time(
    autojump_clock: trio.testing.MockClock, http_library: str
) -> None:
    async with slow_client(http_library, headers_after=1000.0) as http:
        start = trio.current_time()
        with pytest.raises(FirstByteTimeoutError) as info:
            async with open_chat_stream(
                http,
                model="m",
                messages=MESSAGES,
                idle_timeout=30,
                first_byte_timeout=90,
                max_retries=0,  # a timeout before any content is retried (test_recovery.py)
            ):
                pass  # pragma: no cover
    assert trio.current_time() - start == pytest.approx(90)
    assert info.value.idle_timeout == 90
    assert "90 seconds" in info.value.message


async def test_without_first_byte_timeout_the_headers_get_idle_timeout(
    autojump_clock: trio.testing.MockClock, http_library: str
) -> None:
    async with slow_client(http_library, headers_after=1000.0) as http:
        start = trio.current_time()
        with pytest.raises(IdleTimeoutError) as info:
            async with open_chat_stream(
                http, model="m", messages=MESSAGES, idle_timeout=30, max_retries=0
            ):
                pass  # pragma: no cover
    assert type(info.value) is IdleTimeoutError
    assert trio.current_time() - start == pytest.approx(30)
    assert info.value.message == "no response from the server for 30 seconds"


async def test_the_first_body_byte_may_take_first_byte_timeout_then_idle_governs(
    autojump_clock: trio.testing.MockClock, http_library: str
) -> None:
    half = len(BODY) // 2
    pieces: list[bytes | float] = [200.0, BODY[:half], 45.0, BODY[half:]]
    async with slow_client(http_library, headers_after=100.0, pieces=pieces) as http:
        # 100 s for the headers and 200 more for the first byte: within 600 s, counted from
        # the request. Then 45 s of silence: longer than idle_timeout.
        async with open_chat_stream(
            http, model="m", messages=MESSAGES, idle_timeout=30, first_byte_timeout=600
        ) as stream:
            with pytest.raises(IdleTimeoutError) as info:
                await stream.final()
    assert type(info.value) is IdleTimeoutError
    assert info.value.idle_timeout == 30


async def test_the_first_byte_limit_counts_from_the_request(
    autojump_clock: trio.testing.MockClock, http_library: str
) -> None:
    async with slow_client(http_library, headers_after=50.0, pieces=[60.0, BODY]) as http:
        start = trio.current_time()
        async with open_responses_stream(
            http, model="m", input="hi", idle_timeout=300, first_byte_timeout=100, max_retries=0
        ) as stream:
            with pytest.raises(FirstByteTimeoutError):
                await stream.final()
    assert trio.current_time() - start == pytest.approx(100, abs=1)


async def test_a_keep_alive_is_a_first_byte(autojump_clock: trio.testing.MockClock) -> None:
    async def source() -> AsyncIterator[bytes]:
        await trio.sleep(50)
        yield b": keep-alive\n\n"
        await trio.sleep(25)
        yield BODY

    async with open_event_stream(source(), idle_timeout=30, first_byte_timeout=60) as stream:
        await stream.final()
    assert stream.text == "Hello"
    assert stream.stats.time_to_first_byte == pytest.approx(50)


async def test_open_event_stream_first_byte_timeout(autojump_clock: trio.testing.MockClock) -> None:
    async def source() -> AsyncIterator[bytes]:
        await trio.sleep(1000)
        yield BODY  # pragma: no cover

    async with open_event_stream(source(), idle_timeout=5, first_byte_timeout=20) as stream:
        start = trio.current_time()
        with pytest.raises(FirstByteTimeoutError):
            await stream.final()
    assert trio.current_time() - start == pytest.approx(20)


@pytest.mark.parametrize("value", [0, -1.0])
async def test_a_bad_first_byte_timeout_is_a_value_error(value: float) -> None:
    async def source() -> AsyncIterator[bytes]:
        yield b""  # pragma: no cover

    with pytest.raises(ValueError, match="first_byte_timeout"):
        async with open_event_stream(source(), first_byte_timeout=value):
            pass  # pragma: no cover


async def test_one_second_is_singular(autojump_clock: trio.testing.MockClock) -> None:
    async def source() -> AsyncIterator[bytes]:
        await trio.sleep_forever()
        yield b""  # pragma: no cover

    async with open_event_stream(source(), idle_timeout=1) as stream:
        with pytest.raises(IdleTimeoutError, match=r"for 1 second$"):
            await stream.final()
