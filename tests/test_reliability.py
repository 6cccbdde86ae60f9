"""Faults over real loopback sockets, cancellation at every checkpoint, and properties.

Every test here checks that nothing leaks (the ``tasks`` fixture counts reader tasks,
``busy_connections`` looks at the pool, ``filterwarnings = error`` turns a ResourceWarning
into a failure) and that every event before a fault was delivered.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import AsyncIterator
from typing import TypeVar

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_chatsse import (
    ChatSSEError,
    Completed,
    ContextWindowExceeded,
    Event,
    FunctionCall,
    HTTPStatusError,
    IdleTimeoutError,
    Message,
    OutputItemDone,
    OutputTextDelta,
    ProviderError,
    RateLimitError,
    StreamError,
    open_chat_stream,
    open_event_stream,
)
from trio_chatsse._stream import CHANNEL_SIZE
from trio_chatsse.sansio import EventTooLargeError
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall, open_chat_server, sse_body

from .conftest import TaskTracker
from .helpers import (
    FIXTURES,
    HTTPClient,
    busy_connections,
    cut,
    library_module,
    new_client,
    open_stream,
    orphaned_connections,
    parse_every_way,
    stream_pieces,
)

MESSAGES = [{"role": "user", "content": "hi"}]
TEXT = "The quick brown fox jumps over the lazy dog."
CALL = ScriptedToolCall("lookup", '{"query": "fox", "limit": 3}', call_id="call_fox")
E = TypeVar("E", bound=BaseException)


#: Events before the first text fragment: the role chunk (chat); created, in_progress, the
#: message added and its content part added (Responses API); message_start, ping and the text
#: block's start (Messages API).
PREAMBLE = {"chat": 1, "responses": 4, "messages": 3, "ollama": 0, "gemini": 0}
#: Events between a message's last text fragment and its tool call's first argument fragment,
#: beyond the chat form's: the message's done events and the call's added event (Responses
#: API); the text block's stop, the tool block's start and its empty first piece (Messages).
#: Ollama sends a call whole, in the line after the text's one line ("Hi"): -3 puts the cut in
#: that line.
BEFORE_ARGUMENTS = {"chat": 0, "responses": 4, "messages": 3, "ollama": -3, "gemini": -3}


def script_body(reply: Reply, api: str) -> bytes:
    """The SSE body of ``reply`` in the API's form."""
    if api == "messages":
        return sse_body(reply.message_events(), done=False)
    if api == "responses":
        return sse_body(reply.response_events(), done=False)
    if api == "ollama":
        return b"".join(json.dumps(line).encode() + b"\n" for line in reply.ollama_lines())
    if api == "gemini":
        return sse_body(reply.gemini_events(), done=False)
    return sse_body(reply.chunks())


async def collect(
    http: HTTPClient, error: type[E] | None = None, *, api: str = "chat", **options: object
) -> tuple[list[Event], E | None]:
    """Stream one answer; return its events and the error it raised (of type ``error``)."""
    events: list[Event] = []
    with trio.fail_after(20):
        if error is None:
            async with open_stream(http, api, **options) as stream:
                events += [e async for e in stream]
            return events, None
        with pytest.raises(error) as info:
            async with open_stream(http, api, **options) as stream:
                async for event in stream:
                    events.append(event)
        return events, info.value


def text_of(events: list[Event]) -> str:
    return "".join(e.delta for e in events if isinstance(e, OutputTextDelta))


async def no_leak(http: HTTPClient, server: ChatServer | None = None) -> None:
    assert busy_connections(http) == []
    if server is not None:
        await http.aclose()
        with trio.fail_after(5):
            await server.wait_connections_closed()


# -- stalls and keep-alives ---------------------------------------------------------------------


@pytest.mark.parametrize(("fragments", "expected_text"), [(None, ""), (2, "The quick ")])
async def test_stall_trips_the_idle_timeout_on_time(
    chat_server: ChatServer,
    http: HTTPClient,
    tasks: TaskTracker,
    api: str,
    fragments: int | None,
    expected_text: str,
) -> None:
    # A stall before the first byte, or after two text fragments.
    stall_after = 0 if fragments is None else PREAMBLE[api] + fragments
    chat_server.push(Reply(text=TEXT, fragment_size=5, stall=30, stall_after=stall_after))
    start = trio.current_time()
    # max_retries=0: a stall before any content would be retried (see test_recovery.py).
    events, error = await collect(
        http, IdleTimeoutError, api=api, idle_timeout=0.3, max_retries=0 if fragments is None else 2
    )
    waited = trio.current_time() - start
    assert text_of(events) == expected_text
    assert error is not None
    assert 0.3 <= waited < 5
    await no_leak(http, chat_server)


async def test_stall_mid_event(tasks: TaskTracker) -> None:
    # Half an event, then silence: the half event is never passed off as data.
    body = sse_body(Reply(text=TEXT, fragment_size=5).chunks(), done=False)
    half = body[: body.index(b"\n\n", body.index(b"uick ")) - 10]

    async def source() -> AsyncIterator[bytes]:
        yield half
        await trio.sleep_forever()

    async with open_event_stream(source(), idle_timeout=0.2) as stream:
        with pytest.raises(IdleTimeoutError):
            await stream.final()
    # What was given stays readable; the half event is never passed off as data.
    assert stream.text == "The q"
    assert stream.stats.events == 2  # Added, and "The q"; "uick " was cut


async def test_keepalives_keep_a_slow_stream_alive(
    chat_server: ChatServer, http: HTTPClient, api: str
) -> None:
    chat_server.push(Reply(text=TEXT, stall=1.0, stall_after=3, keepalive_every=0.1))
    events, _ = await collect(http, api=api, idle_timeout=0.4)
    assert text_of(events) == TEXT
    assert isinstance(events[-1], Completed)


# -- framing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        Reply(text=TEXT, tool_calls=[CALL], drip=True),
        Reply(text=TEXT, tool_calls=[CALL], crlf=True),
        Reply(text=TEXT, tool_calls=[CALL], write_size=1),
        Reply(text=TEXT, tool_calls=[CALL], write_size=3),
        Reply(text=TEXT, tool_calls=[CALL], write_size=17),
        Reply(text=TEXT, tool_calls=[CALL], write_size=4096),
        Reply(text=TEXT, tool_calls=[CALL], crlf=True, write_size=5),
    ],
    ids=["drip", "crlf", "write1", "write3", "write17", "write4096", "crlf-write5"],
)
async def test_any_framing_gives_the_same_answer(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker, reply: Reply
) -> None:
    chat_server.push(reply)
    events, _ = await collect(http, api=api)
    assert text_of(events) == TEXT
    calls = [
        e.item for e in events if isinstance(e, OutputItemDone) and isinstance(e.item, FunctionCall)
    ]
    # (A Responses API call also has an item id.)
    # Gemini's first call carries a thought signature: what is compared is the call itself.
    assert [c.model_copy(update={"id": None, "provider_fields": {}}) for c in calls] == [
        FunctionCall(call_id="call_fox", name="lookup", arguments=CALL.arguments)
    ]
    assert isinstance(events[-1], Completed)
    assert busy_connections(http) == []


async def test_one_huge_event(chat_server: ChatServer, http: HTTPClient, api: str) -> None:
    huge = "x" * 3_000_000
    chat_server.push(Reply(text=huge, fragment_size=len(huge)))
    events, _ = await collect(http, api=api)
    assert text_of(events) == huge


async def test_a_line_past_the_limit_is_a_typed_error(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(raw_body=b"data: " + b"x" * 3_000_000, content_type="text/event-stream"))
    await collect(http, EventTooLargeError, api=api, max_event_size=1_000_000)
    await no_leak(http, chat_server)


# -- disconnects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "cut", "delivered"),
    [
        # Three text fragments, "The q", "uick ", "brown", then the cut (mid-event or between).
        (Reply(text=TEXT, fragment_size=5, disconnect_mid_event=True), 3, "The quick brown"),
        (Reply(text=TEXT, fragment_size=5), 3, "The quick brown"),
        # Mid-way through the call's arguments, after "Hi" (and, in the Responses API's form,
        # the message's three done events and the call's added event).
        (Reply(text="Hi", tool_calls=[CALL], fragment_size=5, disconnect_mid_event=True), 4, "Hi"),
    ],
    ids=["mid-event", "between-events", "mid-tool-call"],
)
async def test_disconnect_is_a_stream_error_after_the_events(
    chat_server: ChatServer,
    http: HTTPClient,
    api: str,
    tasks: TaskTracker,
    reply: Reply,
    cut: int,
    delivered: str,
) -> None:
    after = PREAMBLE[api] + cut + (BEFORE_ARGUMENTS[api] if reply.tool_calls else 0)
    chat_server.push(dataclasses.replace(reply, disconnect_after=after))
    events, error = await collect(http, StreamError, api=api, max_retries=3)
    assert text_of(events) == delivered
    # Nothing passed off as done (a Responses API message is done before a call starts).
    done = [e.item for e in events if isinstance(e, OutputItemDone)]
    assert all(isinstance(item, Message) for item in done) if api != "chat" else done == []
    assert not any(isinstance(e, Completed) for e in events)
    assert isinstance(error, StreamError)
    assert len(chat_server.requests) == 1  # never retried once events flowed
    await no_leak(http, chat_server)


async def test_disconnect_after_the_finish_completes(
    chat_server: ChatServer, http: HTTPClient, tasks: TaskTracker
) -> None:
    reply = Reply(text=TEXT, tool_calls=[CALL])
    finish_position = len(reply.chunks()) - 1  # the usage chunk and [DONE] are lost
    chat_server.push(Reply(text=TEXT, tool_calls=[CALL], disconnect_after=finish_position))
    events, _ = await collect(http)
    assert text_of(events) == TEXT
    assert isinstance(events[-1], Completed)
    assert events[-1].finish_reason == "tool_calls"
    assert events[-1].token_usage is None
    await no_leak(http, chat_server)


# -- HTTP statuses and odd bodies ----------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@pytest.mark.parametrize("retry_after", [None, 0.0])
async def test_retryable_statuses_without_retries(
    chat_server: ChatServer,
    http: HTTPClient,
    api: str,
    tasks: TaskTracker,
    status: int,
    retry_after: float | None,
) -> None:
    chat_server.push(
        Reply(status=status, retry_after=retry_after, error={"message": f"status {status}"})
    )
    kind = RateLimitError if status == 429 else HTTPStatusError
    _, error = await collect(http, kind, api=api, max_retries=0)
    assert getattr(error, "status_code", None) == status
    if status == 429:
        assert isinstance(error, RateLimitError)
        assert error.retry_after == retry_after
    assert tasks.spawned == 0
    await no_leak(http, chat_server)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried(
    chat_server: ChatServer, http: HTTPClient, api: str, status: int
) -> None:
    chat_server.push(Reply(status=status, retry_after=0), Reply(text=TEXT))
    events, _ = await collect(http, api=api, max_retries=1)
    assert text_of(events) == TEXT
    assert len(chat_server.requests) == 2


async def test_context_length_400(chat_server: ChatServer, http: HTTPClient, api: str) -> None:
    error = {
        "message": "This model's maximum context length is 4096 tokens.",
        "type": "invalid_request_error",
        "code": "context_length_exceeded",
    }
    chat_server.push(Reply(status=400, error=error))
    _, raised = await collect(http, ContextWindowExceeded, api=api)
    assert isinstance(raised, ContextWindowExceeded)
    assert raised.status_code == 400


async def test_401_with_body(chat_server: ChatServer, http: HTTPClient, api: str) -> None:
    chat_server.push(
        Reply(
            status=401,
            error={"message": "Incorrect API key provided: sk-abc***", "code": "invalid_api_key"},
        )
    )
    _, raised = await collect(http, HTTPStatusError, api=api)
    assert isinstance(raised, HTTPStatusError)
    assert raised.status_code == 401
    assert raised.error is not None
    assert raised.error["code"] == "invalid_api_key"


async def test_html_error_page(chat_server: ChatServer, http: HTTPClient, api: str) -> None:
    chat_server.push(
        Reply(
            status=504,
            raw_body=b"<!DOCTYPE html><html><body>Gateway Timeout</body></html>",
            content_type="text/html",
        )
    )
    _, raised = await collect(http, HTTPStatusError, api=api, max_retries=0)
    assert isinstance(raised, HTTPStatusError)
    assert raised.message == "HTTP 504"
    assert "Gateway Timeout" in raised.body


async def test_empty_200(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(raw_body=b""))
    events, _ = await collect(http, StreamError, api=api, max_retries=0)
    assert events == []
    await no_leak(http, chat_server)


async def test_200_html_page_is_a_stream_error_at_once(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    chat_server.push(
        Reply(raw_body=b"<!doctype html><title>Sign in</title>", content_type="text/html")
    )
    _, error = await collect(http, StreamError, api=api)
    assert error is not None
    assert "text/html" in str(error)
    assert "base_url" in str(error)
    assert tasks.spawned == 0  # raised from the async with line
    await no_leak(http, chat_server)


async def test_silent_non_stream_body_times_out_before_the_block(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(text=TEXT, content_type="text/plain", stall=30))
    await collect(http, IdleTimeoutError, api=api, idle_timeout=0.2)
    assert tasks.spawned == 0
    await no_leak(http, chat_server)


async def test_event_stream_labelled_as_json_is_read_as_a_stream(
    chat_server: ChatServer, http: HTTPClient, api: str
) -> None:
    body = script_body(Reply(text=TEXT), api)
    chat_server.push(Reply(raw_body=body, content_type="application/json"))
    events, _ = await collect(http, api=api)
    assert text_of(events) == TEXT
    assert isinstance(events[-1], Completed)


async def test_200_text_plain_garbage(chat_server: ChatServer, http: HTTPClient, api: str) -> None:
    chat_server.push(
        Reply(raw_body=b"\x00\xff garbage \r\n\r\n more: garbage\n\n", content_type="text/plain")
    )
    events, _ = await collect(http, StreamError, api=api, max_retries=0)
    assert events == []


# -- in-stream errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"message": "overloaded", "code": "server_overloaded"}, ProviderError),
        ({"message": "overloaded", "code": 529}, ProviderError),
        ({"message": "slow down", "code": "rate_limit_exceeded"}, RateLimitError),
        ({"message": "slow down", "code": 429}, RateLimitError),
    ],
)
async def test_error_event_mid_stream(
    chat_server: ChatServer,
    http: HTTPClient,
    api: str,
    tasks: TaskTracker,
    error: dict[str, object],
    kind: type[ChatSSEError],
) -> None:
    error_after = PREAMBLE[api] + 2  # after two text fragments
    chat_server.push(Reply(text=TEXT, fragment_size=5, error=error, error_after=error_after))
    events, raised = await collect(http, kind, api=api)
    assert text_of(events) == "The quick "
    assert type(raised) is kind
    await no_leak(http, chat_server)


async def test_finish_reason_error(chat_server: ChatServer, http: HTTPClient, api: str) -> None:
    chat_server.push(Reply(text=TEXT, finish_reason="error"))
    events, _ = await collect(http, ProviderError, api=api)
    assert text_of(events) == TEXT


# -- the consumer -----------------------------------------------------------------------------


async def test_consumer_that_never_reads(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(text="x" * 10_000, fragment_size=1))
    with trio.CancelScope() as scope:
        async with open_stream(http, api) as stream:
            # Every task is blocked once the reader has filled the buffer and stopped reading
            # (and the server has filled the socket): no guess at how long that takes.
            await trio.testing.wait_all_tasks_blocked(cushion=0.05)
            assert stream._receive.statistics().current_buffer_used == CHANNEL_SIZE
            scope.cancel()  # the consumer never reads: only a cancellation ends it
            await trio.sleep_forever()
    assert scope.cancelled_caught
    await no_leak(http, chat_server)


class BodyError(Exception):
    pass


async def _consume(http: HTTPClient, api: str, how: str) -> str:
    async with open_stream(http, api) as stream:
        async for event in stream:
            if isinstance(event, OutputTextDelta):
                if how == "raise":
                    raise BodyError
                if how == "break":
                    break
                if how == "return":
                    return "returned"
                if how == "keyboard":
                    raise KeyboardInterrupt
    return "ended"


@pytest.mark.parametrize("how", ["raise", "break", "return", "keyboard"])
async def test_every_way_out_of_the_body(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker, how: str
) -> None:
    chat_server.push(Reply(text="x" * 2000, fragment_size=1))
    if how == "raise":
        with pytest.raises(BodyError):
            await _consume(http, api, how)
    elif how == "keyboard":
        with pytest.raises(KeyboardInterrupt):
            await _consume(http, api, how)
    else:
        assert await _consume(http, api, how) == ("returned" if how == "return" else "ended")
    await no_leak(http, chat_server)


async def test_cancel_from_a_sibling(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(text="x" * 2000, fragment_size=1, stall=30, stall_after=100))
    scope = trio.CancelScope()
    seen = trio.Event()

    async def consumer() -> None:
        with scope:
            async with open_stream(http, api) as stream:
                async for _ in stream:
                    seen.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        await seen.wait()
        scope.cancel()
    assert scope.cancelled_caught
    await no_leak(http, chat_server)


async def test_move_on_after_around_the_block(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(text=TEXT, stall=30, stall_after=3))
    with trio.move_on_after(0.3) as scope:
        await collect(http, api=api)
    assert scope.cancelled_caught
    await no_leak(http, chat_server)


async def test_many_concurrent_streams_half_cancelled(
    tasks: TaskTracker, http_library: str
) -> None:
    await _concurrent_streams(40, http_library)


@pytest.mark.stress
async def test_200_concurrent_streams_half_cancelled(tasks: TaskTracker, http_library: str) -> None:
    await _concurrent_streams(200, http_library)


async def _concurrent_streams(count: int, library: str) -> None:
    rng = random.Random(1234)
    replies = [
        Reply(
            text=f"answer {i} " * 20,
            fragment_size=3,
            tool_calls=[ScriptedToolCall("f", json.dumps({"i": i}))],
        )
        for i in range(count)
    ]
    cancel = {i for i in range(count) if rng.random() < 0.5}
    done: dict[int, str] = {}
    async with open_chat_server(
        default=lambda request: replies[int(str(request["model"]))]
    ) as server:
        limits = library_module(library).Limits(max_connections=count)
        async with new_client(library, base_url=server.base_url, limits=limits, timeout=30) as http:

            async def one(i: int) -> None:
                with trio.move_on_after(rng.uniform(0.001, 0.05) if i in cancel else 60):
                    async with open_chat_stream(http, model=str(i), messages=MESSAGES) as stream:
                        await stream.final()
                    done[i] = stream.text
                    assert stream.tool_calls[0].arguments == json.dumps({"i": i})

            with trio.fail_after(60):
                async with trio.open_nursery() as nursery:
                    for i in range(count):
                        nursery.start_soon(one, i)
            assert set(range(count)) - cancel <= set(done)
            for i, text in done.items():
                assert text == f"answer {i} " * 20
            # httpcore's own orphans (see orphaned_connections) are not ours.
            assert busy_connections(http) == orphaned_connections(http)
        with trio.fail_after(10):
            await server.wait_connections_closed()


@pytest.mark.stress
async def test_50_mb_line_without_newline_is_bounded(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(raw_body=b"data: " + b"x" * 50_000_000))
    with trio.fail_after(30):
        async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
            with pytest.raises(EventTooLargeError) as info:
                await stream.final()
    assert info.value.limit == 16 * 1024 * 1024
    # The reader stopped at the cap instead of buffering the whole line.
    assert stream.stats.bytes_read < 17 * 1024 * 1024
    await no_leak(http, chat_server)


# -- cancellation at every checkpoint -----------------------------------------------------------


class CancelAtStep(trio.abc.Instrument):
    """Cancels ``scope`` just before the k-th task step of the run (or counts the steps)."""

    def __init__(self, k: int | None, scope: trio.CancelScope) -> None:
        self.k, self.scope, self.steps = k, scope, 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1
        if self.steps == self.k:
            self.scope.cancel()


def mock_client(library: str, api: str) -> HTTPClient:
    lib = library_module(library)
    body = script_body(
        Reply(text="Hello there", reasoning="hm", tool_calls=[CALL], fragment_size=3), api
    )
    pieces = [body[i : i + 40] for i in range(0, len(body), 40)]

    class Body(lib.AsyncByteStream):  # type: ignore[misc, name-defined]  # either library's
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for piece in pieces:
                await trio.lowlevel.checkpoint()
                yield piece

    def handler(request: object) -> object:
        return lib.Response(200, headers={"content-type": "text/event-stream"}, stream=Body())

    return new_client(library, transport=lib.MockTransport(handler), base_url="http://test/v1")


async def run_cancelled_at(
    k: int | None, library: str, api: str
) -> tuple[int, bool, Completed | None]:
    scope = trio.CancelScope()
    instrument = CancelAtStep(k, scope)
    completed = None
    async with mock_client(library, api) as http:
        trio.lowlevel.add_instrument(instrument)
        try:
            with scope:
                async with open_stream(http, api) as stream:
                    completed = await stream.final()
        finally:
            trio.lowlevel.remove_instrument(instrument)
    return instrument.steps, scope.cancelled_caught, completed


async def test_cancel_at_every_checkpoint(tasks: TaskTracker, http_library: str, api: str) -> None:
    total, cancelled, completed = await run_cancelled_at(None, http_library, api)
    assert not cancelled
    assert completed is not None
    assert total > 20
    outcomes = set()
    # trio shuffles ready tasks, so a run may take a step more or less than the first: go a
    # few steps past the end, where the cancel always comes after the answer.
    for k in range(1, total + 4):
        _, cancelled, completed = await run_cancelled_at(k, http_library, api)
        # Either the cancel landed (and nothing else was raised) or it came after the end.
        assert cancelled or completed is not None
        outcomes.add(cancelled)
        assert tasks.alive == set()
    assert outcomes == {True, False}


# -- properties ---------------------------------------------------------------------------------

FIXTURE_BODIES = {p.stem: p.read_bytes() for p in sorted(FIXTURES.glob("*.sse"))}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(sorted(FIXTURE_BODIES)),
    st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=40),
)
async def test_split_invariance_through_the_shell(name: str, sizes: list[int]) -> None:
    body = FIXTURE_BODIES[name]
    options = {"token_limit_set": True} if name == "llamacpp_max_tokens" else {}
    expected_events, expected_error = parse_every_way(body, **options)
    events, error = await stream_pieces(cut(body, sizes), **options)
    assert events == expected_events
    assert type(error) is type(expected_error)
