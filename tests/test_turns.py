"""Agent turns: the assistant message for the next request, provider state, live tool calls."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_chatsse import (
    Completed,
    Event,
    FunctionCall,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    HTTPStatusError,
    Item,
    Message,
    OutputItemAdded,
    OutputItemDone,
    Reasoning,
    StreamError,
    assistant_message,
    open_chat_stream,
)
from trio_chatsse.parts import OutputText, ReasoningDetail, ReasoningText, Refusal
from trio_chatsse.sansio import EVENT_ADAPTER, parse_partial_json
from trio_chatsse.testing import Reply, ScriptedToolCall, open_chat_server, sse_body

from .helpers import (
    FIXTURES,
    chunk,
    cut,
    new_client,
    parse_every_way,
    parse_objects,
    stream_pieces,
)
from .test_chunks import chat_streams

OPTIONS: dict[str, dict[str, object]] = {"llamacpp_max_tokens": {"token_limit_set": True}}
ALL_FIXTURES = sorted(FIXTURES.glob("*.sse"))


def items_of(events: Sequence[Event]) -> list[Item]:
    return [e.item for e in events if isinstance(e, OutputItemDone)]


def message_of(name: str, **options: object) -> dict[str, object]:
    events, error = parse_every_way((FIXTURES / f"{name}.sse").read_bytes())
    assert error is None
    return assistant_message(items_of(events), **options)  # type: ignore[arg-type]  # test options


# -- the assistant message, provider by provider ---------------------------------------------

GEMINI_PARIS = {"google": {"thought_signature": "EjQKMgEMOdbHwParis+sig=="}}

EXPECTED_MESSAGES: dict[str, dict[str, object]] = {
    # Gemini 3: each call's extra_content on the same call (only the first parallel call has
    # one); the text delta's extra_content on the message.
    "gemini_thought_signatures": {
        "role": "assistant",
        "content": "I'll check both cities.",
        "tool_calls": [
            {
                "id": "function-call-5921",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                "extra_content": GEMINI_PARIS,
            },
            {
                "id": "function-call-5922",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
            },
        ],
        "extra_content": {"google": {"thought_signature": "CiQBjz1rX2text+sig=="}},
    },
    # OpenRouter: the reasoning_details merged from their pieces, signature included, in
    # place of the plain text.
    "openrouter_anthropic_signed_reasoning": {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {
                "id": "toolu_01A9pq",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
        "reasoning_details": [
            {
                "type": "reasoning.text",
                "text": "The user wants the weather; call the tool.",
                "signature": "ErUBCkYIBxgCKkBsig+anthropic==",
                "format": "anthropic-claude-v1",
                "index": 0,
            }
        ],
    },
    "openrouter_gemini_encrypted_reasoning": {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "tool_get_weather_K2xYp",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
            }
        ],
        "reasoning_details": [
            {
                "type": "reasoning.text",
                "text": "**Checking the forecast**\n\nI need the tool.",
                "format": "google-gemini-v1",
                "index": 0,
            },
            {
                "type": "reasoning.encrypted",
                "data": "CiQB4/H/Xencrypted==",
                "id": "tool_get_weather_K2xYp",
                "format": "google-gemini-v1",
                "index": 1,
            },
        ],
    },
    # DeepSeek: reasoning_content must come back on a message that called tools.
    "deepseek_thinking_tool_call": {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_00_kTyS4lAi9Xbp",
                "type": "function",
                "function": {"name": "get_date", "arguments": '{"tz": "UTC"}'},
            }
        ],
        "reasoning_content": "The user asks for the date; use the tool.",
    },
    # Groq rejects reasoning_content; it streamed "reasoning", which goes back as "reasoning".
    "groq_reasoning_tool_call": {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "fc_5a1b2c3d",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Lyon"}'},
            }
        ],
        "reasoning": "Need weather for Lyon.",
    },
    "ollama_reasoning_tool_call": {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_m0ud6gqx",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Berlin"}'},
            }
        ],
        "reasoning": "Okay, the user wants Berlin's weather.",
    },
    "openai_parallel_tool_calls_interleaved": {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_A1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Tokyo"}'},
            },
            {
                "id": "call_B2",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz":"Asia/Tokyo"}'},
            },
        ],
    },
    # llama.cpp: repeated fragments and the legacy function_call make one call.
    "llamacpp_tool_call": {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call__0_get_weather_cmpl-6352034a-0b99-45ee-84ee-c838c4dfd7a4",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{ "city": "Paris" } '},
            }
        ],
    },
    # A plain answer: no reasoning back (DeepSeek ignores it there; it only costs tokens).
    "deepseek_reasoning_content": {"role": "assistant", "content": "Yes"},
    "openai_refusal": {"role": "assistant", "content": "", "refusal": "I can't help with that."},
    "vllm_unnamed_tool_call_dropped": {
        "role": "assistant",
        "content": "Looking it up.",
        "tool_calls": [
            {
                "id": "chatcmpl-tool-aa11",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q": "trio"}'},
            }
        ],
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED_MESSAGES))
def test_assistant_message_field_by_field(name: str) -> None:
    message = message_of(name)
    expected = EXPECTED_MESSAGES[name]
    assert sorted(message) == sorted(expected)
    for field, value in expected.items():
        assert message[field] == value, field
    json.dumps(message)  # plain JSON, ready to send


def test_reasoning_policies() -> None:
    assert "reasoning_content" not in message_of("deepseek_thinking_tool_call", reasoning="never")
    always = message_of("deepseek_reasoning_content", reasoning="always")
    assert always["reasoning_content"] == "Thinking."
    moved = message_of("deepseek_thinking_tool_call", reasoning_field="reasoning")
    assert moved["reasoning"] == "The user asks for the date; use the tool."
    assert "reasoning_content" not in moved
    with pytest.raises(ValueError, match="reasoning must be"):
        message_of("deepseek_thinking_tool_call", reasoning="sometimes")


def test_assistant_message_of_items_without_a_field_and_several_parts() -> None:
    items: list[Item] = [
        Reasoning(content=[ReasoningText(text="a")]),
        Reasoning(content=[ReasoningText(text="b")]),
        Message(content=[OutputText(text="one "), Refusal(refusal="no")]),
        Message(content=[OutputText(text="two")]),
        FunctionCall(call_id="c", name="f", arguments="{}"),
    ]
    message = assistant_message(items)
    assert message["content"] == "one two"
    assert message["refusal"] == "no"
    assert message["reasoning_content"] == "ab"  # no field recorded: DeepSeek's name
    assert assistant_message([]) == {"role": "assistant", "content": ""}


def test_items_round_trip_through_json_and_give_the_same_message() -> None:
    for name in EXPECTED_MESSAGES:
        events, _ = parse_every_way((FIXTURES / f"{name}.sse").read_bytes())
        lines = [event.model_dump_json() for event in events]
        again = [EVENT_ADAPTER.validate_json(line) for line in lines]
        assert again == events
        assert assistant_message(items_of(again)) == assistant_message(items_of(events))


def test_thought_signature_property() -> None:
    events, _ = parse_every_way((FIXTURES / "gemini_thought_signatures.sse").read_bytes())
    calls = [i for i in items_of(events) if isinstance(i, FunctionCall)]
    assert [c.thought_signature for c in calls] == ["EjQKMgEMOdbHwParis+sig==", None]


def test_reasoning_details_merge_rules() -> None:
    detail = {"type": "reasoning.text", "format": "x"}
    objects = [
        chunk({"reasoning_details": [{**detail, "text": "a", "index": 0}]}),
        chunk({"reasoning_details": [{**detail, "text": "b", "index": 0, "signature": None}]}),
        chunk({"reasoning_details": [{**detail, "text": "", "index": 0, "signature": "s"}]}),
        # No index: never merged, even with the same type.
        chunk({"reasoning_details": [{"type": "reasoning.summary", "summary": "x"}]}),
        chunk({"reasoning_details": [{"type": "reasoning.summary", "summary": "y"}]}),
        # Another index: a new entry; an unknown key is kept.
        chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "d1", "index": 1}]}),
        chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "d2", "index": 1}]}),
        chunk({"reasoning_details": [{"type": "reasoning.text", "index": 2, "vendor": [1]}]}),
        chunk(finish="stop"),
    ]
    events, error = parse_objects(objects)
    assert error is None
    (reasoning,) = [i for i in items_of(events) if isinstance(i, Reasoning)]
    assert reasoning.text_field is None  # the text came in reasoning_details only
    assert reasoning.details == [
        ReasoningDetail(type="reasoning.text", text="ab", format="x", index=0, signature="s"),
        ReasoningDetail(type="reasoning.summary", summary="x"),
        ReasoningDetail(type="reasoning.summary", summary="y"),
        ReasoningDetail(type="reasoning.encrypted", data="d1d2", index=1),
        ReasoningDetail.model_validate({"type": "reasoning.text", "index": 2, "vendor": [1]}),
    ]
    assert reasoning.details[-1].model_dump() == {
        "type": "reasoning.text",
        "index": 2,
        "vendor": [1],
    }


def test_encrypted_reasoning_alone_is_a_reasoning_item() -> None:
    encrypted = {"type": "reasoning.encrypted", "data": "zz", "index": 0}
    events, _ = parse_objects(
        [chunk({"reasoning_details": [encrypted]}), chunk({"content": "Hi"}), chunk(finish="stop")]
    )
    (reasoning,) = [i for i in items_of(events) if isinstance(i, Reasoning)]
    assert reasoning.content == []
    assert reasoning.details == [ReasoningDetail.model_validate(encrypted)]
    added = [e for e in events if isinstance(e, OutputItemAdded)]
    assert isinstance(added[0].item, Reasoning)


# -- tool calls without a name ------------------------------------------------------------------


def test_a_call_without_a_name_is_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trio_chatsse"):
        events, error = parse_every_way(
            (FIXTURES / "vllm_unnamed_tool_call_dropped.sse").read_bytes()
        )
    assert error is None
    assert [i.name for i in items_of(events) if isinstance(i, FunctionCall)] == ["lookup"]
    assert "chatcmpl-tool-bb22" in caplog.text
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_only_unnamed_calls_and_nothing_else_is_a_stream_error() -> None:
    fragment = {"index": 0, "id": "c1", "function": {"arguments": '{"a": 1}'}}
    events, error = parse_objects(
        [
            chunk({"reasoning_content": "hm"}),
            chunk({"tool_calls": [fragment]}),
            chunk(finish="tool_calls"),
        ]
    )
    assert isinstance(error, StreamError)
    assert "without a function name" in str(error)
    assert not any(isinstance(e, Completed) for e in events)
    # The same call at a plain stop is dropped quietly: the server promised no call.
    events, error = parse_objects([chunk({"tool_calls": [fragment]}), chunk(finish="stop")])
    assert error is None
    assert items_of(events) == []


def test_a_live_call_without_a_name_never_gets_an_added_event() -> None:
    fragment = {"index": 0, "id": "c1", "function": {"arguments": "{}"}}
    events, _ = parse_objects(
        [chunk({"content": "x"}), chunk({"tool_calls": [fragment]}), chunk(finish="tool_calls")],
        stream_tool_arguments=True,
    )
    assert not any(
        isinstance(e, FunctionCallArgumentsDelta | FunctionCallArgumentsDone) for e in events
    )
    assert not any(
        isinstance(e, OutputItemAdded) and isinstance(e.item, FunctionCall) for e in events
    )


# -- live tool calls ---------------------------------------------------------------------------


def check_live_events(
    live: Sequence[Event], default: Sequence[Event], *, keep_index: bool = False
) -> int:
    """The live events are the default ones plus the live-only ones, with output indexes that
    tie each item's events together in order; returns the number of calls seen.

    ``keep_index``: the default events have output indexes too (a Responses API stream).
    """
    plain = [
        event.model_copy(update={"output_index": None})
        if isinstance(event, OutputItemAdded | OutputItemDone) and not keep_index
        else event
        for event in live
        if not isinstance(event, FunctionCallArgumentsDelta | FunctionCallArgumentsDone)
        and not (isinstance(event, OutputItemAdded) and isinstance(event.item, FunctionCall))
    ]
    assert plain == list(default)
    added: dict[int, int] = {}  # output_index -> position of the event in the stream
    done: dict[int, int] = {}
    for position, event in enumerate(live):
        if isinstance(event, OutputItemAdded | OutputItemDone):
            assert event.output_index is not None
            (added if isinstance(event, OutputItemAdded) else done)[event.output_index] = position
    assert set(done) <= set(added)
    assert list(added) == list(range(len(added)))  # counted in order of the added events
    calls = 0
    for index, position in done.items():
        item = live[position].item  # type: ignore[union-attr]  # an OutputItemDone
        assert added[index] < position
        if not isinstance(item, FunctionCall):
            continue
        calls += 1
        start = live[added[index]]
        assert isinstance(start, OutputItemAdded)
        assert isinstance(start.item, FunctionCall)
        assert (start.item.name, start.item.arguments) == (item.name, "")
        deltas = [
            (i, e)
            for i, e in enumerate(live)
            if isinstance(e, FunctionCallArgumentsDelta) and e.output_index == index
        ]
        (args_done,) = [
            (i, e)
            for i, e in enumerate(live)
            if isinstance(e, FunctionCallArgumentsDone) and e.output_index == index
        ]
        assert "".join(e.delta for _, e in deltas) == item.arguments == args_done[1].arguments
        assert all(added[index] < i < args_done[0] for i, _ in deltas)
        assert args_done[0] == position - 1
        assert all(e.call_id == item.call_id for _, e in deltas)
    return calls


@pytest.mark.parametrize("fixture", ALL_FIXTURES, ids=lambda p: p.stem)
def test_live_mode_adds_events_and_keeps_the_rest(fixture: Path) -> None:
    """For every fixture, split every way: the default events plus the live ones, and each
    call's deltas join to its final arguments, between its added and done events."""
    options = OPTIONS.get(fixture.stem, {})
    default, default_error = parse_every_way(fixture.read_bytes(), **options)
    live, live_error = parse_every_way(fixture.read_bytes(), stream_tool_arguments=True, **options)
    assert type(live_error) is type(default_error)
    calls = check_live_events(live, default)
    assert calls == sum(isinstance(i, FunctionCall) for i in items_of(default))


def test_live_deltas_follow_each_fragment_and_text_before_the_name_comes_first() -> None:
    events, _ = parse_objects(
        [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a"'}}]}),
            chunk(
                {
                    "tool_calls": [
                        {"index": 0, "id": "c", "function": {"name": "f", "arguments": ": "}}
                    ]
                }
            ),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
            chunk(finish="tool_calls"),
        ],
        stream_tool_arguments=True,
    )
    assert [type(e).__name__ for e in events] == [
        "OutputItemAdded",
        "FunctionCallArgumentsDelta",
        "FunctionCallArgumentsDelta",
        "FunctionCallArgumentsDone",
        "OutputItemDone",
        "Completed",
    ]
    deltas = [e.delta for e in events if isinstance(e, FunctionCallArgumentsDelta)]
    assert deltas == ['{"a": ', "1}"]


def test_live_llamacpp_gives_each_piece_once() -> None:
    events, _ = parse_every_way(
        (FIXTURES / "llamacpp_tool_call.sse").read_bytes(), stream_tool_arguments=True
    )
    deltas = [e.delta for e in events if isinstance(e, FunctionCallArgumentsDelta)]
    assert "".join(deltas) == '{ "city": "Paris" } '
    assert sum(isinstance(e, OutputItemAdded) for e in events) == 1


def test_live_interleaved_parallel_calls_are_told_apart() -> None:
    events, _ = parse_every_way(
        (FIXTURES / "openai_parallel_tool_calls_interleaved.sse").read_bytes(),
        stream_tool_arguments=True,
    )
    by_index: dict[int, list[str]] = {}
    for event in events:
        if isinstance(event, FunctionCallArgumentsDelta):
            by_index.setdefault(event.output_index, []).append(event.delta)
    assert by_index == {0: ['{"ci', 'ty":"Tokyo"}'], 1: ['{"tz":', '"Asia/Tokyo"}']}


def test_live_truncated_call_is_added_but_never_done() -> None:
    events, error = parse_objects(
        [
            chunk(
                {
                    "tool_calls": [
                        {"index": 0, "id": "c", "function": {"name": "f", "arguments": '{"x'}}
                    ]
                }
            ),
            chunk(finish="length"),
        ],
        stream_tool_arguments=True,
        token_limit_set=True,
    )
    assert error is None
    assert [type(e).__name__ for e in events] == [
        "OutputItemAdded",
        "FunctionCallArgumentsDelta",
        "Completed",
    ]
    assert isinstance(events[-1], Completed)
    assert events[-1].finish_reason == "length"


@settings(max_examples=150, deadline=None)
@given(chat_streams())
def test_random_streams_in_live_mode(
    stream: tuple[list[dict[str, object]], dict[str, object]],
) -> None:
    objects, expected = stream
    default, _ = parse_objects(objects)
    live, error = parse_objects(objects, stream_tool_arguments=True)
    assert error is None
    assert check_live_events(live, default) == len(expected["calls"])  # type: ignore[arg-type]  # a list


# -- through the shell and over HTTP -----------------------------------------------------------

FIXTURE_BODIES = {p.stem: p.read_bytes() for p in ALL_FIXTURES}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(sorted(FIXTURE_BODIES)),
    st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=30),
)
async def test_live_split_invariance_through_the_shell(name: str, sizes: list[int]) -> None:
    body = FIXTURE_BODIES[name]
    options = {"stream_tool_arguments": True, **OPTIONS.get(name, {})}
    expected, expected_error = parse_every_way(body, **options)
    events, error = await stream_pieces(cut(body, sizes), **options)
    assert events == expected
    assert type(error) is type(expected_error)


async def test_live_tool_calls_over_http(http_library: str) -> None:
    call = ScriptedToolCall("write_file", json.dumps({"path": "a.txt", "content": "x" * 40}))
    async with open_chat_server(
        Reply(text="Writing.", tool_calls=[call], fragment_size=7)
    ) as server:
        async with new_client(http_library, base_url=server.base_url) as http:
            async with open_chat_stream(
                http,
                model="m",
                messages=[{"role": "user", "content": "hi"}],
                stream_tool_arguments=True,
            ) as stream:
                events = [e async for e in stream]
        assert "stream_tool_arguments" not in server.requests[0]  # never sent to the server
    shown = [
        parse_partial_json(
            "".join(e.delta for e in events[: i + 1] if isinstance(e, FunctionCallArgumentsDelta))
        )
        for i, e in enumerate(events)
        if isinstance(e, FunctionCallArgumentsDelta)
    ]
    assert shown[-1] == {"path": "a.txt", "content": "x" * 40}
    assert any(isinstance(s, dict) and 0 < len(str(s.get("content", ""))) < 40 for s in shown)
    assert stream.tool_calls == [
        FunctionCall(call_id="call_0", name="write_file", arguments=call.arguments)
    ]


# -- a two-turn loop against a server that wants its state back ----------------------------------

STATEFUL_REPLIES = {
    "gemini": Reply(
        tool_calls=[
            ScriptedToolCall(
                "add",
                '{"a": 2, "b": 40}',
                call_id="fc-1",
                extra_content={"google": {"thought_signature": "sig=="}},
            )
        ]
    ),
    "deepseek": Reply(
        reasoning="Add them with the tool.",
        tool_calls=[ScriptedToolCall("add", '{"a": 2, "b": 40}', call_id="call_00_x")],
    ),
    "groq": Reply(
        reasoning="Use add.",
        reasoning_field="reasoning",
        tool_calls=[ScriptedToolCall("add", '{"a": 2, "b": 40}', call_id="fc_9")],
    ),
    "openrouter": Reply(
        reasoning="Let me add these.",
        reasoning_field="reasoning_details",
        tool_calls=[ScriptedToolCall("add", '{"a": 2, "b": 40}', call_id="toolu_1")],
    ),
}


@pytest.mark.parametrize("provider", sorted(STATEFUL_REPLIES))
async def test_two_turn_tool_loop_carries_the_state_back(provider: str, http_library: str) -> None:
    replies = [STATEFUL_REPLIES[provider], Reply(text="2 + 40 = 42")]
    async with open_chat_server(*replies, require_state_back=True) as server:
        async with new_client(http_library, base_url=server.base_url) as http:
            messages: list[dict[str, object]] = [{"role": "user", "content": "2 + 40?"}]
            async with open_chat_stream(http, model="m", messages=messages) as stream:
                await stream.final()
            (call,) = stream.tool_calls
            messages.append(stream.assistant_message())
            messages.append({"role": "tool", "tool_call_id": call.call_id, "content": "42"})
            async with open_chat_stream(http, model="m", messages=messages) as stream:
                await stream.final()
            assert stream.text == "2 + 40 = 42"
            # The same history without the provider state is refused, as the provider does.
            bare = {"role": "assistant", "content": None, "tool_calls": messages[1]["tool_calls"]}
            if provider == "gemini":
                bare["tool_calls"] = [
                    {k: v for k, v in c.items() if k != "extra_content"}
                    for c in bare["tool_calls"]  # type: ignore[attr-defined]  # a list of dicts
                ]
            with pytest.raises(HTTPStatusError) as info:
                async with open_chat_stream(
                    http, model="m", messages=[messages[0], bare, messages[2]], max_retries=0
                ):
                    pass  # pragma: no cover
            assert info.value.status_code == 400


# -- partial JSON ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", None),
        ("   ", None),
        ("{", {}),
        ('{"path": "a.txt", "content": "Hel', {"path": "a.txt", "content": "Hel"}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": tr', {}),
        ('{"a": 1}', {"a": 1}),
        ("nul", None),
        ("not json", None),
    ],
)
def test_parse_partial_json(text: str, value: object) -> None:
    assert parse_partial_json(text) == value


def test_the_default_events_hold_no_output_index() -> None:
    events, _ = parse_every_way(
        sse_body(Reply(text="hi", tool_calls=[ScriptedToolCall("f")]).chunks())
    )
    assert all(getattr(e, "output_index", None) is None for e in events)
    assert all("output_index" not in e.model_dump() for e in events)


def test_mistral_thinking_goes_back_as_a_thinking_part_before_the_text() -> None:
    """Magistral's reasoning came as ``thinking`` content parts; Mistral reads it back in the
    same form (Vercel's Mistral provider sends it so since 3.0.52)."""
    assert message_of("mistral_magistral_thinking", reasoning="always") == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": [{"type": "text", "text": "Okay, 2 + 2 is 4."}]},
            {"type": "text", "text": "The answer is 4."},
        ],
    }
    # The default policy sends reasoning back with tool calls only: plain text here.
    assert message_of("mistral_magistral_thinking") == {
        "role": "assistant",
        "content": "The answer is 4.",
    }


def test_thinking_and_text_parts_in_one_delta_keep_their_order() -> None:
    parts = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "Hmm."}]},
        {"type": "text", "text": "Yes."},
    ]
    chunk = {
        "id": "c",
        "choices": [{"index": 0, "delta": {"content": parts}, "finish_reason": "stop"}],
    }
    events, error = parse_every_way(sse_body([chunk]))
    assert error is None
    kinds = [(e.type, getattr(e, "delta", None)) for e in events if "delta" in e.type]
    assert kinds == [
        ("response.reasoning_text.delta", "Hmm."),
        ("response.output_text.delta", "Yes."),
    ]
