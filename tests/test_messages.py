"""The Anthropic Messages API: the sans-IO parser, open_messages_stream, the next turn, the
test server's form."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_chatsse import (
    ChatSSEError,
    Completed,
    Event,
    FunctionCall,
    HTTPStatusError,
    OutputTextDelta,
    ProviderError,
    Reasoning,
    StreamError,
    open_messages_stream,
)
from trio_chatsse._turns import messages_assistant_message
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall, open_chat_server

from .conftest import TaskTracker
from .helpers import (
    MESSAGES_FIXTURES,
    HTTPClient,
    busy_connections,
    cut,
    new_client,
    parse_every_way,
    read_jsonl,
    result_lines,
    stream_pieces,
)
from .test_turns import check_live_events, items_of

FIXTURES = sorted(MESSAGES_FIXTURES.glob("*.sse"))
FIXTURE_BODIES = {path.stem: path.read_bytes() for path in FIXTURES}
USER: list[dict[str, object]] = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER = ScriptedToolCall("get_weather", '{"city": "Paris"}', call_id="toolu_weather")


def parse(body: bytes, **options: object) -> tuple[list[Event], ChatSSEError | None]:
    return parse_every_way(body, api="messages", **options)


def text_of(events: list[Event]) -> str:
    return "".join(e.delta for e in events if isinstance(e, OutputTextDelta))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_fixture(fixture: Path) -> None:
    """Each recorded-shape stream gives the events in the ``.jsonl`` beside it, however split."""
    assert result_lines(parse(fixture.read_bytes())) == read_jsonl(fixture.with_suffix(".jsonl"))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_live_mode_adds_the_function_call_events(fixture: Path) -> None:
    default, error = parse(fixture.read_bytes())
    live, live_error = parse(fixture.read_bytes(), stream_tool_arguments=True)
    assert type(live_error) is type(error)
    calls = check_live_events(live, default, keep_index=True)
    assert calls == sum(isinstance(i, FunctionCall) for i in items_of(default))


def test_thinking_signature_and_usage_with_cache_figures() -> None:
    events, error = parse(FIXTURE_BODIES["anthropic_thinking_tool"])
    assert error is None
    reasoning, _message, call = items_of(events)
    assert isinstance(reasoning, Reasoning)
    assert reasoning.signature == "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds="
    assert isinstance(call, FunctionCall)
    assert json.loads(call.arguments) == {"city": "Paris"}
    events, _ = parse(FIXTURE_BODIES["anthropic_cache_usage"])
    completed = events[-1]
    assert isinstance(completed, Completed)
    usage = completed.token_usage
    assert usage is not None
    # input_tokens counts every prompt token, as on the other APIs; both cache figures kept.
    assert usage.input_tokens == 21 + 188086
    assert usage.cache_creation_input_tokens == 188086
    assert usage.cached_input_tokens == 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens == 188107 + 393


def test_the_next_turn_keeps_thinking_signatures_and_tool_inputs() -> None:
    events, _ = parse(FIXTURE_BODIES["anthropic_thinking_tool"])
    turn = messages_assistant_message(items_of(events))
    assert turn == {
        "role": "assistant",
        "content": [
            {
                "type": "thinking",
                "thinking": "The user wants the weather in Paris. I'll call the tool.",
                "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds=",
            },
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
    }
    events, _ = parse(FIXTURE_BODIES["anthropic_redacted_thinking"])
    blocks = messages_assistant_message(items_of(events))["content"]
    assert blocks[0] == {  # type: ignore[index]  # a list of blocks
        "type": "redacted_thinking",
        "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP",
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "pause_turn"),
    ],
)
def test_stop_reasons(stop_reason: str, finish: str) -> None:
    body = FIXTURE_BODIES["anthropic_text"].replace(b'"end_turn"', f'"{stop_reason}"'.encode())
    events, error = parse(body)
    assert error is None
    assert isinstance(events[-1], Completed)
    assert events[-1].finish_reason == finish


def test_context_window_exceeded_stop_reason() -> None:
    body = FIXTURE_BODIES["anthropic_text"].replace(
        b'"end_turn"', b'"model_context_window_exceeded"'
    )
    events, error = parse(body)
    assert text_of(events) == "Hello, world!"
    assert type(error).__name__ == "ContextWindowExceeded"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(sorted(FIXTURE_BODIES)),
    st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=30),
    st.booleans(),
)
async def test_split_invariance_through_the_shell(name: str, sizes: list[int], live: bool) -> None:
    body = FIXTURE_BODIES[name]
    expected, expected_error = parse(body, stream_tool_arguments=live)
    events, error = await stream_pieces(
        cut(body, sizes), api="messages", stream_tool_arguments=live
    )
    assert events == expected
    assert type(error) is type(expected_error)


@pytest.mark.parametrize("name", sorted(FIXTURE_BODIES))
async def test_fixtures_through_open_messages_stream(
    chat_server: ChatServer, http: HTTPClient, tasks: TaskTracker, name: str
) -> None:
    """Each recorded body, served over loopback, gives what the parser gives, error included."""
    expected, expected_error = parse(FIXTURE_BODIES[name])
    chat_server.push(Reply(raw_body=FIXTURE_BODIES[name]))
    events: list[Event] = []
    error: ChatSSEError | None = None
    with trio.fail_after(10):
        async with open_messages_stream(
            http, model="m", messages=USER, max_tokens=9, max_retries=0
        ) as stream:
            try:
                async for event in stream:
                    events.append(event)
            except ChatSSEError as exc:
                error = exc
    assert events == expected
    assert type(error) is type(expected_error)
    assert busy_connections(http) == []


async def test_open_messages_stream_end_to_end(
    chat_server: ChatServer, http: HTTPClient, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(text="Sunny.", reasoning="Check the tool.", tool_calls=[WEATHER]))
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    with trio.fail_after(10):
        async with open_messages_stream(
            http,
            model="claude",
            messages=USER,
            max_tokens=256,
            system="Be brief.",
            tools=tools,
            tool_choice="get_weather",
            thinking={"type": "enabled", "budget_tokens": 1024},
        ) as stream:
            completed = await stream.final()
    assert stream.text == "Sunny."
    assert completed.finish_reason == "tool_calls"
    request = chat_server.requests[-1]
    assert request["stream"] is True
    assert request["max_tokens"] == 256
    assert request["system"] == "Be brief."
    # A Chat Completions tool and a tool name, sent in the Messages API's shapes.
    assert request["tools"] == [
        {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}
    ]
    assert request["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert stream.assistant_message()["content"][0]["type"] == "thinking"  # type: ignore[index]  # blocks
    assert busy_connections(http) == []


async def test_the_version_header_is_sent_unless_set(http_library: str) -> None:
    seen: list[str | None] = []

    def remember(request: object) -> None:
        seen.append(request.headers.get("anthropic-version"))  # type: ignore[attr-defined]  # a request

    async with open_chat_server() as server:
        hooks = {"request": [_async(remember)]}
        async with new_client(http_library, base_url=server.base_url, event_hooks=hooks) as http:
            async with open_messages_stream(http, model="m", messages=USER, max_tokens=9) as s:
                await s.final()
            async with open_messages_stream(
                http, model="m", messages=USER, max_tokens=9, headers={"anthropic-version": "x"}
            ) as s:
                await s.final()
        headers = {"anthropic-version": "client"}
        async with new_client(http_library, base_url=server.base_url, headers=headers) as http:
            http.event_hooks = hooks
            async with open_messages_stream(http, model="m", messages=USER, max_tokens=9) as s:
                await s.final()
    assert seen == ["2023-06-01", "x", "client"]


def _async(function: Callable[[object], None]) -> Callable[[object], Awaitable[None]]:
    async def hook(request: object) -> None:
        function(request)

    return hook


@pytest.mark.parametrize("messages", ["hi", b"hi", [{"role": "user", "content": "hi"}, "hi"], 3])
async def test_messages_that_are_not_a_list_of_objects_are_a_type_error(
    chat_server: ChatServer, http: HTTPClient, messages: object
) -> None:
    with pytest.raises(TypeError, match="message object"):
        async with open_messages_stream(http, model="m", messages=messages, max_tokens=9):  # type: ignore[arg-type]  # the point
            pass  # pragma: no cover
    assert chat_server.requests == []


async def test_a_non_streamed_message_is_read_as_its_stream(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    body = json.dumps(Reply(text="whole", tool_calls=[WEATHER]).message()).encode()
    chat_server.push(Reply(raw_body=body, content_type="application/json"))
    async with open_messages_stream(http, model="m", messages=USER, max_tokens=9) as stream:
        completed = await stream.final()
    assert stream.text == "whole"
    assert [c.arguments for c in stream.tool_calls] == ['{"city": "Paris"}']
    assert completed.finish_reason == "tool_calls"


async def test_overloaded_529_is_retried_and_an_error_event_is_a_provider_error(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    overloaded = {"type": "overloaded_error", "message": "Overloaded"}
    chat_server.push(
        Reply(status=529, retry_after=0, error=overloaded),
        Reply(text="after the retry"),
        Reply(text="Hello there", fragment_size=5, error=overloaded, error_after=4),
        Reply(status=400, error={"type": "invalid_request_error", "message": "bad"}),
    )
    async with open_messages_stream(http, model="m", messages=USER, max_tokens=9) as stream:
        await stream.final()
    assert stream.text == "after the retry"
    seen: list[Event] = []
    with pytest.raises(ProviderError, match="Overloaded"):
        async with open_messages_stream(http, model="m", messages=USER, max_tokens=9) as stream:
            async for event in stream:
                seen.append(event)
    assert text_of(seen) == "Hello"
    with pytest.raises(HTTPStatusError, match="bad"):
        async with open_messages_stream(http, model="m", messages=USER, max_tokens=9):
            pass  # pragma: no cover


async def test_a_cut_body_is_a_stream_error(chat_server: ChatServer, http: HTTPClient) -> None:
    chat_server.push(Reply(text="cut", omit_done=True))
    with pytest.raises(StreamError, match="message_stop"):
        async with open_messages_stream(http, model="m", messages=USER, max_tokens=9) as stream:
            await stream.final()


async def test_a_two_turn_thinking_tool_loop_needs_the_signature_back(http_library: str) -> None:
    first = Reply(reasoning="I need the weather.", tool_calls=[WEATHER])
    async with open_chat_server(
        first, Reply(text="It is sunny."), first, require_state_back=True
    ) as server:
        async with new_client(http_library, base_url=server.base_url) as http:
            messages: list[dict[str, object]] = list(USER)
            async with open_messages_stream(
                http, model="m", messages=messages, max_tokens=512
            ) as stream:
                await stream.final()
            turn = stream.assistant_message()
            result = {"type": "tool_result", "tool_use_id": "toolu_weather", "content": "sunny"}
            messages += [turn, {"role": "user", "content": [result]}]
            async with open_messages_stream(
                http, model="m", messages=messages, max_tokens=512
            ) as stream:
                await stream.final()
            assert stream.text == "It is sunny."
            # The same history with the thinking block's signature lost: refused, as Anthropic does.
            blocks = [dict(b) for b in turn["content"]]  # type: ignore[attr-defined]  # blocks
            blocks[0]["signature"] = "edited"
            broken: list[dict[str, object]] = [
                *USER,
                {"role": "assistant", "content": blocks},
                messages[-1],
            ]
            with pytest.raises(HTTPStatusError, match="signature"):
                async with open_messages_stream(http, model="m", messages=broken, max_tokens=9):
                    pass  # pragma: no cover
            dropped: list[dict[str, object]] = [
                *USER,
                {"role": "assistant", "content": blocks[1:]},
                messages[-1],
            ]
            with pytest.raises(HTTPStatusError, match="Expected `thinking`"):
                async with open_messages_stream(http, model="m", messages=dropped, max_tokens=9):
                    pass  # pragma: no cover
