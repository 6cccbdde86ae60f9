"""The Responses API: the sans-IO parser, open_responses_stream, the input helper, the server."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_chatsse import (
    ChatSSEError,
    Completed,
    ContextWindowExceeded,
    Event,
    FunctionCall,
    FunctionCallArgumentsDelta,
    HTTPStatusError,
    IdleTimeoutError,
    Message,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ProviderError,
    RateLimitError,
    Reasoning,
    ReasoningSummaryTextDelta,
    StreamError,
    input_items,
    open_event_stream,
    open_responses_stream,
)
from trio_chatsse.parts import OutputText, ReasoningText, SummaryText
from trio_chatsse.sansio import EVENT_ADAPTER, ParserState, ResponsesEventParser
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall, open_chat_server

from .conftest import TaskTracker
from .helpers import (
    RESPONSES_FIXTURES,
    HTTPClient,
    busy_connections,
    cut,
    new_client,
    parse_chunks,
    parse_every_way,
    read_jsonl,
    result_lines,
    stream_pieces,
)
from .test_turns import check_live_events, items_of

FIXTURES = sorted(RESPONSES_FIXTURES.glob("*.sse"))
OPTIONS: dict[str, dict[str, object]] = {
    "openai_incomplete_max_output_tokens": {"token_limit_set": True}
}


def parse(body: bytes, **options: object) -> tuple[list[Event], ChatSSEError | None]:
    return parse_every_way(body, api="responses", **options)


def events_of(name: str, **options: object) -> tuple[list[Event], ChatSSEError | None]:
    return parse((RESPONSES_FIXTURES / f"{name}.sse").read_bytes(), **options)


def sse(*objects: object) -> bytes:
    return b"".join(b"data: " + json.dumps(o).encode() + b"\n\n" for o in objects)


def text_of(events: list[Event]) -> str:
    return "".join(e.delta for e in events if isinstance(e, OutputTextDelta))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_fixture(fixture: Path) -> None:
    """Each recorded-shape stream gives the events in the ``.jsonl`` beside it, however split."""
    result = parse(fixture.read_bytes(), **OPTIONS.get(fixture.stem, {}))
    assert result_lines(result) == read_jsonl(fixture.with_suffix(".jsonl"))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_live_mode_adds_the_function_call_events(fixture: Path) -> None:
    options = OPTIONS.get(fixture.stem, {})
    default, error = parse(fixture.read_bytes(), **options)
    live, live_error = parse(fixture.read_bytes(), stream_tool_arguments=True, **options)
    assert type(live_error) is type(error)
    calls = check_live_events(live, default, keep_index=True)
    assert calls == sum(isinstance(i, FunctionCall) for i in items_of(default))


# -- the mapping, case by case ----------------------------------------------------------------


def test_usage_and_response_id_come_from_the_completed_response() -> None:
    events, _ = events_of("openai_reasoning_summary_encrypted")
    completed = events[-1]
    assert isinstance(completed, Completed)
    assert completed.response_id == "resp_0c81f3b2a9d44e6f0169f0a1b2c3d4e5"
    assert completed.token_usage is not None
    assert completed.token_usage.model_dump() == {
        "input_tokens": 30,
        "cached_input_tokens": 8,
        "output_tokens": 150,
        "reasoning_output_tokens": 128,
        "total_tokens": 180,
    }
    # A proxy may give created and completed different ids: completed wins.
    events, _ = events_of("litellm_bridge")
    assert isinstance(events[-1], Completed)
    assert events[-1].response_id == "resp_ccc333"


def test_reasoning_summary_parts_and_encrypted_content() -> None:
    events, _ = events_of("openai_reasoning_summary_encrypted")
    summary = [e for e in events if isinstance(e, ReasoningSummaryTextDelta)]
    assert [(e.summary_index, e.delta) for e in summary][:2] == [
        (0, "**Checking units**"),
        (0, "\n\nConvert first."),
    ]
    (reasoning,) = [i for i in items_of(events) if isinstance(i, Reasoning)]
    assert reasoning.summary == [
        SummaryText(text="**Checking units**\n\nConvert first."),
        SummaryText(text="**Answering**\n\n3 km is 3000 m."),
    ]
    assert reasoning.encrypted_content == "gAAAAABpPq0KX2r8c1pD7sT4vWQe-encrypted-reasoning=="
    assert reasoning.id == "rs_0c81f3b2a9d44e6f0169f0a1b3aa11bb"


def test_raw_reasoning_text_parts() -> None:
    events, _ = events_of("lmstudio_reasoning_text")
    (reasoning,) = [i for i in items_of(events) if isinstance(i, Reasoning)]
    assert reasoning.content == [ReasoningText(text="User greets. Reply briefly.")]


def test_two_messages_keep_their_phase_and_output_index() -> None:
    events, _ = events_of("openai_commentary_and_final_answer")
    messages = [i for i in items_of(events) if isinstance(i, Message)]
    assert [m.phase for m in messages] == ["commentary", "final_answer"]
    deltas = [(e.output_index, e.delta) for e in events if isinstance(e, OutputTextDelta)]
    assert {index for index, _ in deltas} == {0, 1}  # the web search between them is skipped
    assert messages[1].content[0] == OutputText(
        text="Trio 0.35 is the latest release [1].",
        annotations=[
            {
                "type": "url_citation",
                "start_index": 32,
                "end_index": 35,
                "url": "https://pypi.org/project/trio/",
                "title": "trio",
            }
        ],
    )


def test_text_only_in_a_done_item_comes_out_as_one_delta_after_an_added_event() -> None:
    events, _ = events_of("litellm_bridge")
    kinds = [(type(e).__name__, getattr(e, "output_index", None)) for e in events]
    assert kinds[1:4] == [("OutputItemAdded", 1), ("OutputTextDelta", 1), ("OutputItemDone", 1)]
    assert text_of(events) == "I'll check the weather."


def test_arguments_only_in_done_still_give_deltas_in_live_mode() -> None:
    body = sse(
        {
            "type": "response.output_item.added",
            "item": {
                "type": "function_call",
                "id": "fc",
                "call_id": "c",
                "name": "f",
                "arguments": "",
            },
        },
        {
            "type": "response.output_item.done",
            "item": {
                "type": "function_call",
                "id": "fc",
                "call_id": "c",
                "name": "f",
                "arguments": '{"a": 1}',
            },
        },
        {"type": "response.completed", "response": {"id": "r"}},
    )
    events, _ = parse(body, stream_tool_arguments=True)
    deltas = [e.delta for e in events if isinstance(e, FunctionCallArgumentsDelta)]
    assert deltas == ['{"a": 1}']


def test_a_function_call_without_a_name_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    body = sse(
        {
            "type": "response.output_item.added",
            "item": {"type": "function_call", "id": "fc", "call_id": "c"},
        },
        {"type": "response.function_call_arguments.delta", "item_id": "fc", "delta": "{}"},
        {
            "type": "response.output_item.done",
            "item": {"type": "function_call", "id": "fc", "call_id": "c", "arguments": "{}"},
        },
        {"type": "response.completed", "response": {"id": "r"}},
    )
    with caplog.at_level(logging.WARNING, logger="trio_chatsse"):
        events, error = parse(body, stream_tool_arguments=True)
    assert error is None
    assert items_of(events) == []
    assert "never received a name" in caplog.text


@pytest.mark.parametrize(
    ("name", "kind", "text"),
    [
        ("openai_failed_rate_limit", RateLimitError, "Partial"),
        ("openai_failed_context_length", ContextWindowExceeded, ""),
        ("litellm_upstream_error", ProviderError, "Part"),
        ("openai_truncated_no_completed", StreamError, "Cut sh"),
    ],
)
def test_errors_come_after_the_events_before_them(
    name: str, kind: type[ChatSSEError], text: str
) -> None:
    events, error = events_of(name)
    assert type(error) is kind
    assert text_of(events) == text
    assert not any(isinstance(e, Completed) for e in events)


def test_the_chat_style_error_object_is_kept() -> None:
    _, error = events_of("litellm_upstream_error")
    assert isinstance(error, ProviderError)
    assert error.error == {
        "message": "litellm.APIConnectionError: upstream connection reset",
        "type": None,
        "param": None,
        "code": "500",
    }
    assert error.code == "500"


@pytest.mark.parametrize(
    "error",
    [
        {"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": None},
        {
            "type": "error",
            "error": {"type": "tokens", "code": "rate_limit_exceeded", "message": "slow down"},
        },
    ],
    ids=["flat", "nested"],
)
def test_error_event_flat_or_nested(error: dict[str, object]) -> None:
    _, raised = parse(sse(error))
    assert isinstance(raised, RateLimitError)
    assert raised.message == "slow down"


def test_failed_without_an_error_object() -> None:
    _, error = parse(sse({"type": "response.failed", "response": {"id": "r", "status": "failed"}}))
    assert isinstance(error, ProviderError)


@pytest.mark.parametrize("reason", ["content_filter", "max_output_tokens"])
def test_incomplete(reason: str) -> None:
    body = sse(
        {"type": "response.output_item.added", "item": {"type": "message", "id": "m"}},
        {"type": "response.output_text.delta", "item_id": "m", "delta": "cut"},
        {
            "type": "response.incomplete",
            "response": {"id": "r", "incomplete_details": {"reason": reason}},
        },
    )
    events, error = parse(body, token_limit_set=True)
    assert error is None
    assert isinstance(events[-1], Completed)
    assert events[-1].finish_reason == ("length" if reason == "max_output_tokens" else reason)
    assert isinstance(events[-2], OutputItemDone)  # the message is done as it stands
    # Without a token limit of the request's own, max_output_tokens means the context is full.
    _, error = parse(body)
    if reason == "max_output_tokens":
        assert isinstance(error, ContextWindowExceeded)
    else:
        assert error is None


def test_the_incomplete_fixture_drops_the_cut_call() -> None:
    events, _ = events_of("openai_incomplete_max_output_tokens", token_limit_set=True)
    assert not any(isinstance(i, FunctionCall) for i in items_of(events))
    assert isinstance(events[-1], Completed)
    assert events[-1].finish_reason == "length"


def test_sequence_gaps_are_logged_once_and_never_fatal(caplog: pytest.LogCaptureFixture) -> None:
    body = (RESPONSES_FIXTURES / "litellm_bridge.sse").read_bytes()
    with caplog.at_level(logging.DEBUG, logger="trio_chatsse"):
        _, error = parse_chunks([body], api="responses")
    assert error is None
    assert [r.getMessage() for r in caplog.records if "sequence_number" in r.getMessage()] == [
        "sequence_number went from 0 to 7 (a trimmed or proxied stream); carrying on"
    ]


def test_done_and_input_after_completion_are_ignored() -> None:
    parser = ResponsesEventParser()
    assert parser.feed(json.dumps({"type": "response.completed", "response": {"id": "r"}}))
    assert parser.state is ParserState.COMPLETED
    assert parser.feed("[DONE]") == []
    assert parser.feed(json.dumps({"type": "response.output_text.delta", "delta": "x"})) == []
    assert parser.end() == []


def test_done_before_completion_is_a_stream_error() -> None:
    _, error = parse(
        sse({"type": "response.created", "response": {"id": "r"}}) + b"data: [DONE]\n\n"
    )
    assert isinstance(error, StreamError)


def test_the_sse_event_name_is_used_when_the_data_has_no_type() -> None:
    body = b'event: response.output_text.delta\ndata: {"delta": "hi"}\n\n'
    body += b'event: response.completed\ndata: {"response": {"id": "r"}}\n\n'
    events, _ = parse(body)
    assert text_of(events) == "hi"
    assert isinstance(events[-1], Completed)


# -- properties -------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12
)


@st.composite
def responses_streams(draw: st.DrawFn) -> tuple[list[dict[str, object]], dict[str, object]]:
    """A random valid stream in one of three servers' styles, and what it must give."""
    style = draw(st.sampled_from(["openai", "llamacpp", "bridge"]))
    events: list[dict[str, object]] = [{"type": "response.created", "response": {"id": "r0"}}]
    texts: list[str] = []
    calls: list[tuple[str, str, str]] = []
    for index, kind in enumerate(
        draw(st.lists(st.sampled_from(["message", "reasoning", "function_call"]), max_size=4))
    ):
        item_id = f"it_{index}"
        where: dict[str, object] = {"item_id": item_id}
        if style == "openai":
            where["output_index"] = index
        text = draw(_text)
        cuts = sorted(draw(st.sets(st.integers(1, max(len(text) - 1, 1)), max_size=3)))
        pieces = [
            text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True) if text[a:b]
        ]
        done_only = style == "bridge" and draw(st.booleans())
        head = {"output_index": index} if style == "openai" else {}
        if kind == "message":
            texts.append(text)
            done_item = {
                "type": "message",
                "id": item_id,
                "content": [{"type": "output_text", "text": text}],
            }
            deltas = [{"type": "response.output_text.delta", **where, "delta": p} for p in pieces]
        elif kind == "reasoning":
            done_item = {
                "type": "reasoning",
                "id": item_id,
                "summary": [{"type": "summary_text", "text": text}],
            }
            deltas = [
                {"type": "response.reasoning_summary_text.delta", **where, "delta": p}
                for p in pieces
            ]
        else:
            arguments = json.dumps({"q": text})
            calls.append((f"call_{index}", f"fn{index}", arguments))
            done_item = {
                "type": "function_call",
                "id": item_id,
                "call_id": f"call_{index}",
                "name": f"fn{index}",
                "arguments": arguments,
            }
            deltas = [
                {
                    "type": "response.function_call_arguments.delta",
                    **where,
                    "delta": arguments[i : i + 7],
                }
                for i in range(0, len(arguments), 7)
            ]
        if not done_only:
            added = {**done_item, "content": [], "summary": [], "arguments": ""}
            events += [{"type": "response.output_item.added", **head, "item": added}, *deltas]
        events.append({"type": "response.output_item.done", **head, "item": done_item})
    events.append(
        {
            "type": "response.completed",
            "response": {"id": "r1", "usage": {"input_tokens": 1, "output_tokens": 2}},
        }
    )
    if style == "openai":
        for number, event in enumerate(events):
            event["sequence_number"] = number
    return events, {"texts": texts, "calls": calls}


@settings(max_examples=150, deadline=None)
@given(responses_streams(), st.booleans())
def test_random_streams_give_every_text_and_call(
    stream: tuple[list[dict[str, object]], dict[str, object]], live: bool
) -> None:
    events_in, expected = stream
    events, error = parse(sse(*events_in), stream_tool_arguments=live)
    assert error is None
    messages = [i for i in items_of(events) if isinstance(i, Message)]
    assert [m.content[0].text for m in messages] == expected["texts"]  # type: ignore[union-attr]  # text parts
    by_index: dict[int, str] = {}
    for event in events:
        if isinstance(event, OutputTextDelta):
            assert event.output_index is not None
            by_index[event.output_index] = by_index.get(event.output_index, "") + event.delta
    assert list(by_index.values()) == expected["texts"]
    calls = [
        (c.call_id, c.name, c.arguments) for c in items_of(events) if isinstance(c, FunctionCall)
    ]
    assert calls == expected["calls"]
    assert isinstance(events[-1], Completed)
    assert sum(isinstance(e, Completed) for e in events) == 1
    added = [e.output_index or 0 for e in events if isinstance(e, OutputItemAdded)]
    done = [e.output_index for e in events if isinstance(e, OutputItemDone)]
    assert added == sorted(added)
    assert all(
        index in added
        for index, item in zip(done, items_of(events), strict=True)
        if not isinstance(item, FunctionCall) or live
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "type",
                            "item",
                            "delta",
                            "item_id",
                            "output_index",
                            "response",
                            "error",
                            "id",
                            "content",
                            "text",
                            "arguments",
                            "name",
                            "usage",
                            "summary",
                        ]
                    ),
                    children,
                    max_size=4,
                )
                | st.sampled_from(
                    [
                        {"type": t}
                        for t in [
                            "response.output_item.added",
                            "response.output_item.done",
                            "response.output_text.delta",
                            "response.completed",
                            "response.failed",
                            "response.incomplete",
                            "error",
                        ]
                    ]
                )
            ),
            max_leaves=20,
        ),
        max_size=8,
    )
)
def test_arbitrary_json_raises_only_documented_errors(objects: list[object]) -> None:
    parser = ResponsesEventParser()
    for obj in objects:
        parser.feed(json.dumps(obj))
    parser.end()
    assert parser.error is None or isinstance(parser.error, ChatSSEError)


# -- input items for the next request -----------------------------------------------------------


def test_input_items_stateless() -> None:
    events, _ = events_of("openai_reasoning_summary_encrypted")
    assert input_items(items_of(events)) == [
        {
            "type": "reasoning",
            "summary": [
                {"type": "summary_text", "text": "**Checking units**\n\nConvert first."},
                {"type": "summary_text", "text": "**Answering**\n\n3 km is 3000 m."},
            ],
            "id": "rs_0c81f3b2a9d44e6f0169f0a1b3aa11bb",
            "encrypted_content": "gAAAAABpPq0KX2r8c1pD7sT4vWQe-encrypted-reasoning==",
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "3 km = 3000 m."}],
            "phase": "final_answer",
        },
    ]


def test_input_items_stored_keep_ids_and_unencrypted_reasoning_is_dropped_otherwise() -> None:
    events, _ = events_of("openai_two_function_calls")
    stateless = input_items(items_of(events))
    assert [i["type"] for i in stateless] == ["function_call", "function_call"]
    assert "id" not in stateless[0]
    stored = input_items(items_of(events), store=True)
    assert [(i["type"], i.get("id")) for i in stored] == [
        ("reasoning", "rs_0c81f3b2a9d44e6f0169f0a1b3aa11bb"),
        ("function_call", "fc_0c81f3b2a9d44e6f0169f0a1b5c0ffee"),
        ("function_call", "fc_0c81f3b2a9d44e6f0169f0a1b5deadbe"),
    ]
    assert stored[1] == {
        "type": "function_call",
        "call_id": "call_DhtkoVLdnlohlERqrxpUjb25",
        "name": "get_weather",
        "arguments": '{"location":{"x":"Beijing","y":"China"},"units":"celsius"}',
        "id": "fc_0c81f3b2a9d44e6f0169f0a1b5c0ffee",
    }


def test_input_items_send_raw_reasoning_back_as_content() -> None:
    events, _ = events_of("lmstudio_reasoning_text")
    assert input_items(items_of(events))[0] == {
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "User greets. Reply briefly."}],
    }


# -- over HTTP, against the embedded server ------------------------------------------------------

MESSAGES = "What's the weather in Paris?"
WEATHER = ScriptedToolCall("get_weather", '{"city": "Paris"}', call_id="call_w1")


async def test_open_responses_stream_end_to_end(
    chat_server: ChatServer, http: HTTPClient, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(text="Let me check.", reasoning="Use the tool.", tool_calls=[WEATHER]))
    with trio.fail_after(10):
        async with open_responses_stream(
            http,
            model="m",
            input=MESSAGES,
            instructions="Be brief.",
            tools=[{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
            max_output_tokens=100,
        ) as stream:
            events = [e async for e in stream]
    assert chat_server.requests[0] == {
        "model": "m",
        "input": MESSAGES,
        "stream": True,
        "instructions": "Be brief.",
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
        "max_output_tokens": 100,
    }
    assert text_of(events) == "Let me check."
    assert stream.tool_calls == [
        FunctionCall(
            id="fc_resp-1_0", call_id="call_w1", name="get_weather", arguments='{"city": "Paris"}'
        )
    ]
    assert isinstance(events[-1], Completed)
    assert events[-1].finish_reason == "tool_calls"
    assert stream.usage is not None
    assert busy_connections(http) == []


async def test_a_non_streamed_response_is_replayed(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    body = json.dumps(Reply(text="whole", tool_calls=[WEATHER]).response()).encode()
    chat_server.push(Reply(raw_body=body, content_type="application/json"))
    async with open_responses_stream(http, model="m", input="hi") as stream:
        completed = await stream.final()
    assert stream.text == "whole"
    assert [c.name for c in stream.tool_calls] == ["get_weather"]
    assert completed.token_usage is not None


@pytest.mark.parametrize(
    ("reply", "error", "text"),
    [
        (
            Reply(
                text="The quick brown fox",
                fragment_size=4,
                error={"message": "overloaded", "code": 529},
                error_after=6,
            ),
            ProviderError,
            "The quic",
        ),
        (
            Reply(
                text="The quick brown fox",
                fragment_size=4,
                error={"code": "rate_limit_exceeded", "message": "slow"},
                error_after=6,
            ),
            RateLimitError,
            "The quic",
        ),
        (
            Reply(text="The quick brown fox", fragment_size=4, omit_done=True),
            StreamError,
            "The quick brown fox",
        ),
        (
            Reply(
                text="The quick brown fox",
                fragment_size=4,
                disconnect_after=6,
                disconnect_mid_event=True,
            ),
            StreamError,
            "The quic",
        ),
        (
            Reply(text="The quick brown fox", fragment_size=4, finish_reason="error"),
            ProviderError,
            "The quick brown fox",
        ),
    ],
    ids=["error-event", "rate-limit-event", "no-completed", "disconnect", "failed"],
)
async def test_faults_come_after_the_events_before_them(
    chat_server: ChatServer,
    http: HTTPClient,
    tasks: TaskTracker,
    reply: Reply,
    error: type[ChatSSEError],
    text: str,
) -> None:
    chat_server.push(reply)
    seen: list[Event] = []
    with trio.fail_after(10), pytest.raises(error):
        async with open_responses_stream(http, model="m", input="hi", max_retries=0) as stream:
            async for event in stream:
                seen.append(event)
    assert text_of(seen) == text
    assert len(chat_server.requests) == 1
    assert busy_connections(http) == []


async def test_idle_timeout_and_statuses(chat_server: ChatServer, http: HTTPClient) -> None:
    chat_server.push(
        Reply(text="slow answer", stall=30, stall_after=5),
        Reply(status=429, retry_after=0),
        Reply(text="after the retry"),
        Reply(
            status=400, error={"message": "Unsupported parameter", "type": "invalid_request_error"}
        ),
    )
    with trio.fail_after(10):
        async with open_responses_stream(http, model="m", input="hi", idle_timeout=0.2) as stream:
            with pytest.raises(IdleTimeoutError):
                await stream.final()
        async with open_responses_stream(http, model="m", input="hi", max_retries=1) as stream:
            await stream.final()
        assert stream.text == "after the retry"
        with pytest.raises(HTTPStatusError) as info:
            async with open_responses_stream(http, model="m", input="hi"):
                pass  # pragma: no cover
    assert info.value.status_code == 400


async def test_a_stateless_two_turn_loop_carries_the_reasoning_back(http_library: str) -> None:
    first = Reply(reasoning="I need the weather.", tool_calls=[WEATHER])
    async with open_chat_server(
        first, Reply(text="It is sunny."), require_state_back=True
    ) as server:
        async with new_client(http_library, base_url=server.base_url) as http:
            inputs: list[dict[str, object]] = [{"role": "user", "content": MESSAGES}]
            options = {"store": False, "include": ["reasoning.encrypted_content"]}
            async with open_responses_stream(
                http, model="m", input=inputs, extra_body=options
            ) as stream:
                await stream.final()
            inputs += stream.input_items()
            inputs.append({"type": "function_call_output", "call_id": "call_w1", "output": "sunny"})
            async with open_responses_stream(
                http, model="m", input=inputs, extra_body=options
            ) as stream:
                await stream.final()
            assert stream.text == "It is sunny."
            # Without the reasoning item, the server refuses, as OpenAI does.
            bare = [i for i in inputs if i.get("type") != "reasoning"]
            with pytest.raises(HTTPStatusError, match="without its required 'reasoning' item"):
                async with open_responses_stream(http, model="m", input=bare, max_retries=0):
                    pass  # pragma: no cover


# -- through the shell ----------------------------------------------------------------------------

FIXTURE_BODIES = {p.stem: p.read_bytes() for p in FIXTURES}


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
    options = {"stream_tool_arguments": live, **OPTIONS.get(name, {})}
    expected, expected_error = parse(body, **options)
    events, error = await stream_pieces(cut(body, sizes), api="responses", **options)
    assert events == expected
    assert type(error) is type(expected_error)


async def test_an_unknown_api_is_a_value_error() -> None:
    async def source() -> AsyncIterator[bytes]:
        yield b""  # pragma: no cover

    with pytest.raises(ValueError, match="api must be"):
        async with open_event_stream(source(), api="completions"):  # type: ignore[arg-type]  # the point
            pass  # pragma: no cover


def test_reasoning_item_round_trip() -> None:
    events, _ = events_of("openai_reasoning_summary_encrypted")
    for event in events:
        assert EVENT_ADAPTER.validate_json(event.model_dump_json()) == event
