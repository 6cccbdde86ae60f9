"""Layer 4: open_chat_stream over real loopback sockets (and MockTransport for retries)."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator

import pytest
import trio
import trio.lowlevel
import trio.testing

from trio_chatsse import (
    Completed,
    ContextWindowExceeded,
    FunctionCall,
    HTTPStatusError,
    IdleTimeoutError,
    OutputTextDelta,
    ProviderError,
    RateLimitError,
    StreamError,
    open_chat_stream,
)
from trio_chatsse._errors import HTTPRateLimitError
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall, open_chat_server, sse_body

from .conftest import TaskTracker
from .helpers import (
    HTTPClient,
    busy_connections,
    chunk,
    library_module,
    new_client,
    pool_connections,
)

MESSAGES = [{"role": "user", "content": "What's the weather in Paris?"}]
WEATHER = [ScriptedToolCall("get_weather", '{"city": "Paris"}', call_id="call_w1")]


async def test_text_and_tool_call_end_to_end(
    chat_server: ChatServer, http: HTTPClient, tasks: TaskTracker
) -> None:
    chat_server.push(
        Reply(text="Let me check.", reasoning="Weather: use the tool.", tool_calls=WEATHER)
    )
    with trio.fail_after(10):
        async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
            events = [e async for e in stream]
    assert "".join(e.delta for e in events if isinstance(e, OutputTextDelta)) == "Let me check."
    assert stream.tool_calls == [
        FunctionCall(call_id="call_w1", name="get_weather", arguments='{"city": "Paris"}')
    ]
    assert isinstance(events[-1], Completed)
    assert events[-1].finish_reason == "tool_calls"
    assert events[-1].token_usage is not None
    assert stream.response is not None
    assert stream.response.status_code == 200
    # The body was read to its end: the connection went back to the pool, idle.
    assert busy_connections(http) == []
    assert len(pool_connections(http)) == 1


async def test_request_body(chat_server: ChatServer, http: HTTPClient) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    async with open_chat_stream(
        http,
        model="m",
        messages=MESSAGES,
        tools=tools,
        tool_choice="auto",
        temperature=0.5,
        extra_body={"top_k": 3},
    ) as stream:
        await stream.final()
    async with open_chat_stream(http, model="m", messages=MESSAGES, include_usage=False) as stream:
        await stream.final()
    first, second = chat_server.requests
    assert first == {
        "model": "m",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": tools,
        "tool_choice": "auto",
        "temperature": 0.5,
        "top_k": 3,
    }
    assert "stream_options" not in second


async def test_max_tokens_makes_length_a_normal_end(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(
        Reply(text="cut", finish_reason="length"), Reply(text="cut", finish_reason="length")
    )
    async with open_chat_stream(http, model="m", messages=MESSAGES, max_tokens=3) as stream:
        assert (await stream.final()).finish_reason == "length"
    async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
        with pytest.raises(ContextWindowExceeded):
            await stream.final()


@pytest.mark.parametrize(
    ("reply", "kind", "status"),
    [
        (
            Reply(status=400, error={"message": "bad model", "code": "model_not_found"}),
            HTTPStatusError,
            400,
        ),
        (
            Reply(status=401, error={"message": "Incorrect API key", "code": "invalid_api_key"}),
            HTTPStatusError,
            401,
        ),
        (Reply(status=429, error={"message": "slow down"}, retry_after=7), RateLimitError, 429),
        (
            Reply(
                status=400,
                error={
                    "message": "maximum context length is 8192 tokens",
                    "code": "context_length_exceeded",
                },
            ),
            ContextWindowExceeded,
            400,
        ),
        (Reply(status=503, error={"message": "overloaded"}), HTTPStatusError, 503),
    ],
)
async def test_status_errors_raise_from_the_async_with_line(
    chat_server: ChatServer,
    http: HTTPClient,
    reply: Reply,
    kind: type[Exception],
    status: int,
    tasks: TaskTracker,
) -> None:
    chat_server.push(reply)
    with pytest.raises(kind) as info:
        async with open_chat_stream(http, model="m", messages=MESSAGES, max_retries=0):
            pytest.fail("must not yield")  # pragma: no cover
    error = info.value
    assert getattr(error, "status_code") == status  # noqa: B009
    assert tasks.spawned == 0
    if isinstance(error, HTTPStatusError):
        assert error.error is not None
        assert error.body
    if isinstance(error, RateLimitError):
        assert error.retry_after == 7
    assert busy_connections(http) == []


async def test_404_names_the_path_and_hints_at_base_url(
    chat_server: ChatServer, http_library: str
) -> None:
    base_url = chat_server.base_url.removesuffix("/v1")
    async with new_client(http_library, base_url=base_url) as http:
        with pytest.raises(HTTPStatusError) as info:
            async with open_chat_stream(http, model="m", messages=MESSAGES):
                pass  # pragma: no cover
    assert info.value.status_code == 404
    assert "/chat/completions" in info.value.message
    assert "base_url" in info.value.message


async def test_html_error_page(chat_server: ChatServer, http: HTTPClient) -> None:
    chat_server.push(
        Reply(
            status=502, raw_body=b"<html><body>Bad gateway</body></html>", content_type="text/html"
        )
    )
    # raw_body with an error status: the server sends the page as is.
    with pytest.raises(HTTPStatusError) as info:
        async with open_chat_stream(http, model="m", messages=MESSAGES, max_retries=0):
            pass  # pragma: no cover
    assert info.value.status_code == 502
    assert "<html" not in info.value.message


async def test_retries_then_succeeds(chat_server: ChatServer, http: HTTPClient) -> None:
    chat_server.push(
        Reply(status=429, retry_after=0),
        Reply(status=500, retry_after=0),
        Reply(status=503, retry_after=0),
        Reply(text="ok"),
    )
    async with open_chat_stream(http, model="m", messages=MESSAGES, max_retries=3) as stream:
        await stream.final()
    assert stream.text == "ok"
    assert len(chat_server.requests) == 4


async def test_retries_are_spent_then_the_error_raises(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(*[Reply(status=500, retry_after=0)] * 3)
    with pytest.raises(HTTPStatusError):
        async with open_chat_stream(http, model="m", messages=MESSAGES, max_retries=2):
            pass  # pragma: no cover
    assert len(chat_server.requests) == 3


async def test_no_retry_once_events_flowed(
    chat_server: ChatServer, http: HTTPClient, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(text="Hello there", disconnect_after=3, disconnect_mid_event=True))
    seen = []
    async with open_chat_stream(http, model="m", messages=MESSAGES, max_retries=5) as stream:
        with pytest.raises(StreamError):
            async for event in stream:
                seen.append(event)
    assert seen  # events came before the error
    assert len(chat_server.requests) == 1
    assert busy_connections(http) == []


async def test_no_retry_on_400(chat_server: ChatServer, http: HTTPClient) -> None:
    chat_server.push(Reply(status=400))
    with pytest.raises(HTTPStatusError):
        async with open_chat_stream(http, model="m", messages=MESSAGES, max_retries=5):
            pass  # pragma: no cover
    assert len(chat_server.requests) == 1


async def test_connect_error_is_retried_then_stream_error(http_library: str) -> None:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    await listener.aclose()  # nothing listens there now
    async with new_client(http_library, base_url=f"http://127.0.0.1:{port}/v1") as http:
        with pytest.raises(StreamError, match="connect"):
            async with open_chat_stream(http, model="m", messages=MESSAGES, max_retries=1):
                pass  # pragma: no cover


async def test_idle_timeout_over_a_socket(
    chat_server: ChatServer, http: HTTPClient, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(text="Hello there", stall=30, stall_after=3))
    seen = []
    with trio.fail_after(10):
        async with open_chat_stream(http, model="m", messages=MESSAGES, idle_timeout=0.2) as stream:
            with pytest.raises(IdleTimeoutError):
                async for event in stream:
                    seen.append(event)
    assert any(isinstance(e, OutputTextDelta) for e in seen)
    assert busy_connections(http) == []


async def test_client_read_timeout_does_not_govern_the_body(
    chat_server: ChatServer, http_library: str
) -> None:
    chat_server.push(Reply(text="slow but alive", stall=0.3, stall_after=2))
    async with new_client(http_library, base_url=chat_server.base_url, timeout=0.05) as http:
        with trio.fail_after(10):
            async with open_chat_stream(
                http, model="m", messages=MESSAGES, idle_timeout=5
            ) as stream:
                await stream.final()
    assert stream.text == "slow but alive"


async def test_break_closes_the_connection_and_leaks_nothing(
    chat_server: ChatServer, http: HTTPClient, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(text="x" * 400, fragment_size=1))
    async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
        async for _ in stream:
            break
    assert busy_connections(http) == []
    with trio.fail_after(5):
        await chat_server.wait_connections_closed()  # the server sees the close


async def test_in_stream_error_event(chat_server: ChatServer, http: HTTPClient) -> None:
    chat_server.push(
        Reply(text="Hello there", error={"message": "overloaded", "code": 529}, error_after=3)
    )
    seen = []
    async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
        with pytest.raises(ProviderError) as info:
            async for event in stream:
                seen.append(event)
    assert info.value.code == 529
    # The error event came after the role chunk and two text fragments.
    assert [type(e).__name__ for e in seen] == [
        "OutputItemAdded",
        "OutputTextDelta",
        "OutputTextDelta",
    ]


async def test_non_streamed_json_answer_is_replayed(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    body = json.dumps(Reply(text="whole", tool_calls=WEATHER).completion()).encode()
    chat_server.push(Reply(raw_body=body, content_type="application/json"))
    async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
        completed = await stream.final()
    assert stream.text == "whole"
    assert [c.name for c in stream.tool_calls] == ["get_weather"]
    assert completed.token_usage is not None


async def test_plain_text_garbage_is_a_stream_error(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(raw_body=b"this is not an event stream\n", content_type="text/plain"))
    # Before the block, quoting the body: not passed off as a stream that was cut.
    with pytest.raises(StreamError, match="neither an event stream nor an answer: 'this is not"):
        async with open_chat_stream(http, model="m", messages=MESSAGES, max_retries=0):
            pass  # pragma: no cover


async def test_the_api_key_never_shows(caplog: pytest.LogCaptureFixture, http_library: str) -> None:
    key = "sk-test-SECRET-1234567890"
    caplog.set_level(logging.DEBUG)
    async with open_chat_server(
        Reply(status=401, error={"message": "Incorrect API key"}), api_key=key
    ) as server:
        headers = {"Authorization": f"Bearer {key}"}
        async with new_client(http_library, base_url=server.base_url, headers=headers) as http:
            with pytest.raises(HTTPStatusError) as info:
                async with open_chat_stream(http, model="m", messages=MESSAGES, max_retries=0):
                    pass  # pragma: no cover
    error = info.value
    for text in (str(error), repr(error), error.body, json.dumps(error.error), caplog.text):
        assert key not in text


# -- retries with MockTransport and the autojump clock -----------------------------------------


def mock_client(
    library: str, statuses: list[tuple[int, dict[str, str]]]
) -> tuple[HTTPClient, list[float]]:
    lib = library_module(library)
    times: list[float] = []
    body = sse_body([chunk({"content": "ok"}, finish="stop")])

    def handler(request: object) -> object:
        times.append(trio.current_time())
        if statuses:
            status, headers = statuses.pop(0)
            return lib.Response(status, headers=headers, json={"error": {"message": "busy"}})
        return lib.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = new_client(library, transport=lib.MockTransport(handler), base_url="http://test/v1")
    return client, times


async def test_a_connection_dropped_before_the_response_is_retried(
    autojump_clock: trio.testing.MockClock, http_library: str
) -> None:
    lib = library_module(http_library)
    calls = 0
    body = sse_body([chunk({"content": "ok"}, finish="stop")])

    def handler(request: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise lib.RemoteProtocolError("Server disconnected without sending a response.")
        return lib.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    async with new_client(
        http_library, transport=lib.MockTransport(handler), base_url="http://test/v1"
    ) as client:
        async with open_chat_stream(client, model="m", messages=MESSAGES, max_retries=1) as stream:
            await stream.final()
        assert stream.text == "ok"
        with pytest.raises(StreamError, match="could not reach"):
            calls = 0
            async with open_chat_stream(client, model="m", messages=MESSAGES, max_retries=0):
                pass  # pragma: no cover


async def test_retry_after_header_is_honoured(
    autojump_clock: trio.testing.MockClock, http_library: str
) -> None:
    client, times = mock_client(
        http_library, [(429, {"retry-after": "12"}), (503, {"retry-after-ms": "1500"})]
    )
    async with (
        client,
        open_chat_stream(client, model="m", messages=MESSAGES, max_retries=2) as stream,
    ):
        await stream.final()
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)] == [12.0, 1.5]


async def test_backoff_grows_with_jitter(
    autojump_clock: trio.testing.MockClock, http_library: str
) -> None:
    client, times = mock_client(http_library, [(500, {}), (502, {}), (504, {})])
    async with (
        client,
        open_chat_stream(client, model="m", messages=MESSAGES, max_retries=3) as stream,
    ):
        await stream.final()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 0.375 <= gaps[0] <= 0.5
    assert 0.75 <= gaps[1] <= 1.0
    assert 1.5 <= gaps[2] <= 2.0


async def test_retry_after_too_long_falls_back_to_backoff(
    autojump_clock: trio.testing.MockClock, http_library: str
) -> None:
    client, times = mock_client(http_library, [(429, {"retry-after": "3600"})])
    async with (
        client,
        open_chat_stream(client, model="m", messages=MESSAGES, max_retries=1) as stream,
    ):
        await stream.final()
    assert times[1] - times[0] <= 0.5


async def test_rate_limit_error_carries_retry_after_date(
    autojump_clock: trio.testing.MockClock, http_library: str
) -> None:
    client, _ = mock_client(http_library, [(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})])
    async with client:
        with pytest.raises(RateLimitError) as info:
            async with open_chat_stream(client, model="m", messages=MESSAGES, max_retries=0):
                pass  # pragma: no cover
    assert info.value.retry_after == 0.0  # a date in the past


@pytest.mark.parametrize("value", [-1])
async def test_negative_retries_is_a_value_error(value: int, http_library: str) -> None:
    async with new_client(http_library, base_url="http://test/v1") as client:
        with pytest.raises(ValueError, match="max_retries"):
            async with open_chat_stream(client, model="m", messages=MESSAGES, max_retries=value):
                pass  # pragma: no cover


async def _unused() -> AsyncIterator[bytes]:  # pragma: no cover
    yield b""


# -- the error hierarchy and request ids ------------------------------------------------------


async def test_a_429_is_both_a_rate_limit_and_a_status_error(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(
        Reply(status=429, retry_after=3, error={"message": "slow", "code": "rate_limit_exceeded"})
    )
    with pytest.raises(HTTPStatusError) as info:  # as openai-python's APIStatusError
        async with open_chat_stream(http, model="m", messages=MESSAGES, max_retries=0):
            pass  # pragma: no cover
    error = info.value
    assert isinstance(error, RateLimitError)
    assert type(error) is HTTPRateLimitError
    assert (error.status_code, error.retry_after, error.code) == (429, 3, "rate_limit_exceeded")
    assert error.error == {"message": "slow", "code": "rate_limit_exceeded"}


async def test_a_context_length_400_is_both(chat_server: ChatServer, http: HTTPClient) -> None:
    error_object = {"message": "maximum context length is 8192", "code": "context_length_exceeded"}
    chat_server.push(Reply(status=400, error=error_object))
    with pytest.raises(ContextWindowExceeded) as info:
        async with open_chat_stream(http, model="m", messages=MESSAGES):
            pass  # pragma: no cover
    assert isinstance(info.value, HTTPStatusError)
    assert info.value.status_code == 400
    assert info.value.message == "HTTP 400: maximum context length is 8192"
    assert info.value.code == "context_length_exceeded"


async def test_in_stream_rate_limits_have_no_status(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(text="Hi", error={"message": "slow", "code": 429}, error_after=2))
    async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
        with pytest.raises(RateLimitError) as info:
            await stream.final()
    assert not isinstance(info.value, HTTPStatusError)
    assert info.value.status_code is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-request-id": "req_1", "cf-ray": "ray"}, ("req_1", "x-request-id")),
        ({"x-litellm-call-id": "c0ffee", "cf-ray": "ray"}, ("c0ffee", "x-litellm-call-id")),
        ({"request-id": "req_ant"}, ("req_ant", "request-id")),
        ({"apim-request-id": "azure-1"}, ("azure-1", "apim-request-id")),
        ({"x-amzn-requestid": "aws-1"}, ("aws-1", "x-amzn-requestid")),
        ({"cf-ray": "8f1e-LHR"}, ("8f1e-LHR", "cf-ray")),
        ({}, (None, None)),
    ],
)
async def test_the_request_id_comes_from_the_header_the_server_used(
    http_library: str, headers: dict[str, str], expected: tuple[str | None, str | None]
) -> None:
    lib = library_module(http_library)

    def handler(request: object) -> object:
        return lib.Response(500, headers=headers, json={"error": {"message": "boom"}})

    transport = lib.MockTransport(handler)
    async with new_client(http_library, transport=transport, base_url="http://test/v1") as client:
        with pytest.raises(HTTPStatusError) as info:
            async with open_chat_stream(client, model="m", messages=MESSAGES, max_retries=0):
                pass  # pragma: no cover
    assert (info.value.request_id, info.value.request_id_header) == expected


async def test_the_404_hint_names_the_path_once(chat_server: ChatServer, http_library: str) -> None:
    base_url = chat_server.base_url.removesuffix("/v1")
    async with new_client(http_library, base_url=base_url) as http:
        with pytest.raises(HTTPStatusError) as info:
            async with open_chat_stream(http, model="m", messages=MESSAGES):
                pass  # pragma: no cover
    assert info.value.message.count("/chat/completions") == 1
    assert info.value.message.endswith("(is base_url right? it usually ends in /v1)")
