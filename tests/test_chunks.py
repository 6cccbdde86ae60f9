"""Layer 2: the chat-chunk state machine."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_chatsse import (
    Completed,
    ContextWindowExceeded,
    FunctionCall,
    Message,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ProviderError,
    RateLimitError,
    Reasoning,
    ReasoningContentDelta,
    StreamError,
    TokenUsage,
)
from trio_chatsse._wire import loads
from trio_chatsse.parts import OutputText, ReasoningDetail, ReasoningText
from trio_chatsse.sansio import ChatChunkParser, ParserState
from trio_chatsse.testing import sse_body

from .helpers import (
    FIXTURES,
    chunk,
    parse_chunks,
    parse_every_way,
    parse_objects,
    read_jsonl,
    result_lines,
)


def reference_body(*objects: object) -> bytes:
    """The reference tests' ``build_body``: ``event: message`` then ``data:``, no [DONE]."""
    return b"".join(b"event: message\ndata: " + json.dumps(o).encode() + b"\n\n" for o in objects)


def tool_delta(
    call_id: str, name: str | None = None, arguments: str | None = None
) -> dict[str, object]:
    function: dict[str, object] = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    return {"choices": [{"delta": {"tool_calls": [{"id": call_id, "function": function}]}}]}


FINISH_TOOL_CALLS = {"choices": [{"finish_reason": "tool_calls"}]}
FINISH_STOP = {"choices": [{"finish_reason": "stop"}]}


def calls_of(events: Sequence[object]) -> list[FunctionCall]:
    return [
        e.item for e in events if isinstance(e, OutputItemDone) and isinstance(e.item, FunctionCall)
    ]


class TestReferenceTests:
    """The four tests of the reference ``process_chat_sse``, ported one to one."""

    def test_emits_multiple_tool_calls(self) -> None:
        body = reference_body(
            tool_delta("call_a", "do_a", '{"foo":1}'),
            tool_delta("call_b", "do_b", '{"bar":2}'),
            FINISH_TOOL_CALLS,
        )
        events, error = parse_every_way(body)
        assert error is None
        assert len(events) == 3
        assert events[0] == OutputItemDone(
            item=FunctionCall(call_id="call_a", name="do_a", arguments='{"foo":1}')
        )
        assert events[1] == OutputItemDone(
            item=FunctionCall(call_id="call_b", name="do_b", arguments='{"bar":2}')
        )
        assert isinstance(events[2], Completed)

    def test_concatenates_tool_call_arguments_across_deltas(self) -> None:
        body = reference_body(
            tool_delta("call_a", "do_a"),
            tool_delta("call_a", arguments='{ "foo":'),
            tool_delta("call_a", arguments="1}"),
            FINISH_TOOL_CALLS,
        )
        events, error = parse_every_way(body)
        assert error is None
        assert len(events) == 2
        assert events[0] == OutputItemDone(
            item=FunctionCall(call_id="call_a", name="do_a", arguments='{ "foo":1}')
        )
        assert isinstance(events[1], Completed)

    def test_emits_tool_calls_even_when_content_and_reasoning_present(self) -> None:
        delta = {
            "content": [{"text": "hi"}],
            "reasoning": "because",
            "tool_calls": [{"id": "call_a", "function": {"name": "do_a", "arguments": "{}"}}],
        }
        body = reference_body({"choices": [{"delta": delta}]}, FINISH_TOOL_CALLS)
        events, error = parse_every_way(body)
        assert error is None
        assert [type(e) for e in events] == [
            OutputItemAdded,
            ReasoningContentDelta,
            OutputItemAdded,
            OutputTextDelta,
            OutputItemDone,
            OutputItemDone,
            OutputItemDone,
            Completed,
        ]
        assert isinstance(events[0], OutputItemAdded)
        assert isinstance(events[0].item, Reasoning)
        assert isinstance(events[2], OutputItemAdded)
        assert isinstance(events[2].item, Message)
        assert events[3] == OutputTextDelta(delta="hi")
        assert isinstance(events[4], OutputItemDone)
        assert isinstance(events[4].item, Reasoning)
        assert calls_of(events) == [FunctionCall(call_id="call_a", name="do_a", arguments="{}")]
        assert isinstance(events[6], OutputItemDone)
        assert isinstance(events[6].item, Message)

    def test_drops_partial_tool_calls_on_stop_finish_reason(self) -> None:
        body = reference_body(tool_delta("call_a", "do_a", "{}"), FINISH_STOP)
        events, error = parse_every_way(body, tool_calls_on_stop="drop")
        assert error is None
        assert calls_of(events) == []
        assert isinstance(events[-1], Completed)
        assert events[-1].finish_reason == "stop"

    def test_twin_emits_complete_tool_call_on_stop_by_default(self) -> None:
        body = reference_body(tool_delta("call_a", "do_a", "{}"), FINISH_STOP)
        events, error = parse_every_way(body)
        assert error is None
        assert calls_of(events) == [FunctionCall(call_id="call_a", name="do_a", arguments="{}")]
        assert isinstance(events[-1], Completed)
        assert events[-1].finish_reason == "tool_calls"


OPTIONS: dict[str, dict[str, object]] = {"llamacpp_max_tokens": {"token_limit_set": True}}


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.sse")), ids=lambda p: p.stem)
def test_fixture(fixture: Path) -> None:
    """Each ``<server>_<quirk>.sse`` gives the events in the ``.jsonl`` beside it, however split."""
    result = parse_every_way(fixture.read_bytes(), **OPTIONS.get(fixture.stem, {}))
    assert result_lines(result) == read_jsonl(fixture.with_suffix(".jsonl"))


class TestToolCalls:
    def test_repeated_index_id_and_name_make_one_call(self) -> None:
        fragment = {
            "index": 0,
            "id": "c1",
            "type": "function",
            "function": {"name": "f", "arguments": "{"},
        }
        more = {
            "index": 0,
            "id": "c1",
            "type": "function",
            "function": {"name": "f", "arguments": "}"},
        }
        events, _ = parse_objects(
            [
                chunk({"tool_calls": [fragment]}),
                chunk({"tool_calls": [more]}),
                chunk(finish="tool_calls"),
            ]
        )
        assert calls_of(events) == [FunctionCall(call_id="c1", name="f", arguments="{}")]

    def test_empty_name_in_later_fragment_keeps_the_first(self) -> None:
        events, _ = parse_objects(
            [
                chunk(
                    {
                        "tool_calls": [
                            {"index": 0, "id": "c1", "function": {"name": "f", "arguments": ""}}
                        ]
                    }
                ),
                chunk({"tool_calls": [{"index": 0, "function": {"name": "", "arguments": "{}"}}]}),
                chunk(finish="tool_calls"),
            ]
        )
        assert calls_of(events) == [FunctionCall(call_id="c1", name="f", arguments="{}")]

    def test_call_without_id_gets_a_stable_generated_id(self) -> None:
        objects = [
            chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}),
            chunk({"tool_calls": [{"index": 1, "function": {"name": "g", "arguments": "{}"}}]}),
            chunk(finish="tool_calls"),
        ]
        first, _ = parse_objects(objects)
        again, _ = parse_objects(objects)
        ids = [c.call_id for c in calls_of(first)]
        assert ids == ["call_chatcmpl-1_0", "call_chatcmpl-1_1"]
        assert ids == [c.call_id for c in calls_of(again)]

    def test_no_index_no_id_named_fragment_starts_a_call_unnamed_continues(self) -> None:
        events, _ = parse_objects(
            [
                chunk({"tool_calls": [{"function": {"name": "f", "arguments": '{"a"'}}]}),
                chunk({"tool_calls": [{"function": {"arguments": ": 1}"}}]}),
                chunk({"tool_calls": [{"function": {"name": "g", "arguments": "{}"}}]}),
                chunk(finish="tool_calls"),
            ]
        )
        assert [(c.name, c.arguments) for c in calls_of(events)] == [("f", '{"a": 1}'), ("g", "{}")]

    def test_no_index_matched_by_id(self) -> None:
        events, _ = parse_objects(
            [
                chunk({"tool_calls": [{"id": "x", "function": {"name": "f", "arguments": "{"}}]}),
                chunk({"tool_calls": [{"id": "y", "function": {"name": "g", "arguments": "{}"}}]}),
                chunk({"tool_calls": [{"id": "x", "function": {"arguments": "}"}}]}),
                chunk(finish="tool_calls"),
            ]
        )
        assert [(c.call_id, c.arguments) for c in calls_of(events)] == [("x", "{}"), ("y", "{}")]

    def test_legacy_function_call_beside_tool_calls_is_not_a_second_call(self) -> None:
        body = (FIXTURES / "llamacpp_tool_call.sse").read_bytes()
        events, _ = parse_every_way(body)
        assert len(calls_of(events)) == 1

    def test_legacy_function_call_alone_is_a_call(self) -> None:
        events, _ = parse_objects(
            [
                chunk({"function_call": {"name": "f", "arguments": '{"a":'}}),
                chunk({"function_call": {"arguments": "1}"}}),
                chunk(finish="function_call"),
            ]
        )
        (call,) = calls_of(events)
        assert (call.name, call.arguments) == ("f", '{"a":1}')
        assert isinstance(events[-1], Completed)
        assert events[-1].finish_reason == "tool_calls"

    def test_arguments_sent_as_an_object_become_json_text(self) -> None:
        events, _ = parse_objects(
            [
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "c",
                                "function": {"name": "f", "arguments": {"a": 1}},
                            }
                        ]
                    }
                ),
                chunk(finish="stop"),
            ]
        )
        assert calls_of(events) == [FunctionCall(call_id="c", name="f", arguments='{"a": 1}')]

    def test_partial_call_dropped_at_stop(self) -> None:
        events, _ = parse_objects(
            [
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "a",
                                "function": {"name": "f", "arguments": '{"x": 1}'},
                            }
                        ]
                    }
                ),
                chunk(
                    {
                        "tool_calls": [
                            {"index": 1, "id": "b", "function": {"name": "g", "arguments": '{"y":'}}
                        ]
                    }
                ),
                chunk({"tool_calls": [{"index": 2, "id": "c", "function": {"name": "h"}}]}),
                chunk(finish="stop"),
            ]
        )
        assert [c.call_id for c in calls_of(events)] == ["a"]

    def test_drop_mode_logs_complete_looking_calls(self, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.WARNING, logger="trio_chatsse"):
            parse_chunks(
                [reference_body(tool_delta("call_a", "do_a", "{}"), FINISH_STOP)],
                tool_calls_on_stop="drop",
            )
        assert any(
            "do_a" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records
        )

    def test_tool_calls_finish_emits_partial_calls_as_they_stand(self) -> None:
        events, _ = parse_objects(
            [
                chunk(
                    {
                        "tool_calls": [
                            {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x'}}
                        ]
                    }
                ),
                chunk(finish="tool_calls"),
            ]
        )
        assert calls_of(events) == [FunctionCall(call_id="a", name="f", arguments='{"x')]

    def test_bad_option_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="tool_calls_on_stop"):
            ChatChunkParser(tool_calls_on_stop="keep")  # type: ignore[arg-type]  # the point


class TestFinish:
    def test_length_without_token_limit_is_context_window_exceeded_after_the_text(self) -> None:
        events, error = parse_objects([chunk({"content": "Hi"}, finish="length")])
        assert events[-1] == OutputTextDelta(delta="Hi")
        assert isinstance(error, ContextWindowExceeded)

    def test_length_with_token_limit_is_a_normal_end(self) -> None:
        events, error = parse_objects(
            [
                chunk({"content": "Hi"}),
                chunk(
                    {
                        "tool_calls": [
                            {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x'}}
                        ]
                    }
                ),
                chunk(finish="length"),
            ],
            token_limit_set=True,
        )
        assert error is None
        assert calls_of(events) == []  # a truncated call is never passed off as complete
        assert isinstance(events[-1], Completed)
        assert events[-1].finish_reason == "length"

    def test_unknown_and_empty_finish_reasons_are_treated_as_stop(self) -> None:
        for reason in ("", "eos", "end"):
            events, error = parse_objects([chunk({"content": "Hi"}), chunk(finish=reason)])
            assert error is None
            assert isinstance(events[-1], Completed)
            assert events[-1].finish_reason == (reason or "stop")

    def test_finish_error_is_provider_error_after_earlier_events(self) -> None:
        events, error = parse_objects([chunk({"content": "Hi"}), chunk(finish="error")])
        assert events[-1] == OutputTextDelta(delta="Hi")
        assert isinstance(error, ProviderError)

    def test_done_without_finish_completes_with_no_finish_reason(self) -> None:
        events, error = parse_objects([chunk({"content": "Hi"})])
        assert error is None
        assert isinstance(events[-1], Completed)
        assert events[-1].finish_reason is None
        assert events[-2] == OutputItemDone(item=Message(content=[OutputText(text="Hi")]))

    def test_end_after_finish_without_done_completes(self) -> None:
        events, error = parse_objects([chunk({"content": "Hi"}, finish="stop")], done=False)
        assert error is None
        assert isinstance(events[-1], Completed)

    def test_end_without_finish_is_stream_error_never_completed(self) -> None:
        events, error = parse_objects([chunk({"content": "Hi"})], done=False)
        assert isinstance(error, StreamError)
        assert not any(isinstance(e, Completed) for e in events)

    def test_completed_exactly_once_and_data_after_done_ignored(self) -> None:
        body = sse_body([chunk({"content": "a"}, finish="stop"), "[DONE]", chunk({"content": "b"})])
        events, error = parse_every_way(body)
        assert error is None
        assert sum(isinstance(e, Completed) for e in events) == 1
        assert isinstance(events[-1], Completed)

    def test_done_with_stray_whitespace(self) -> None:
        events, error = parse_every_way(
            sse_body([chunk({"content": "a"}, finish="stop"), "[DONE] "], done=False)
        )
        assert error is None
        assert isinstance(events[-1], Completed)

    def test_usage_after_finish_reaches_completed(self) -> None:
        usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        events, _ = parse_objects(
            [chunk(finish="stop"), {"id": "x", "choices": [], "usage": usage}]
        )
        assert isinstance(events[-1], Completed)
        assert events[-1].token_usage == TokenUsage(input_tokens=3, output_tokens=2, total_tokens=5)

    def test_usage_inside_the_choice(self) -> None:
        finish = chunk(finish="stop")
        finish["choices"][0]["usage"] = {"prompt_tokens": 1, "completion_tokens": 1}  # type: ignore[index]  # JSON-shaped dict
        events, _ = parse_objects([finish])
        assert isinstance(events[-1], Completed)
        assert events[-1].token_usage == TokenUsage(input_tokens=1, output_tokens=1, total_tokens=2)


class TestErrors:
    @pytest.mark.parametrize(
        ("error", "kind"),
        [
            ({"message": "slow down", "code": "rate_limit_exceeded"}, RateLimitError),
            ({"message": "slow down", "code": 429}, RateLimitError),
            ({"message": "quota", "status": "RESOURCE_EXHAUSTED", "code": 429}, RateLimitError),
            ({"message": "too long", "code": "context_length_exceeded"}, ContextWindowExceeded),
            (
                {"message": "This model's maximum context length is 8192 tokens", "code": 400},
                ContextWindowExceeded,
            ),
            ({"message": "boom", "code": 500, "type": "server_error"}, ProviderError),
            ({"message": "boom"}, ProviderError),
        ],
    )
    def test_error_object_maps_by_code(
        self, error: dict[str, object], kind: type[Exception]
    ) -> None:
        events, raised = parse_objects([chunk({"content": "Hi"}), {"error": error}])
        assert events[-1] == OutputTextDelta(delta="Hi")
        assert type(raised) is kind

    def test_text_in_the_error_chunk_comes_out_first(self) -> None:
        events, raised = parse_objects(
            [
                chunk({"content": "Par"}),
                chunk(
                    {"content": "tial"}, finish="error", error={"message": "upstream", "code": 502}
                ),
            ]
        )
        assert [e.delta for e in events if isinstance(e, OutputTextDelta)] == ["Par", "tial"]
        assert isinstance(raised, ProviderError)
        assert raised.message == "upstream"

    def test_error_as_a_string(self) -> None:
        _, raised = parse_objects([{"error": "overloaded"}])
        assert isinstance(raised, ProviderError)
        assert raised.message == "overloaded"

    def test_error_null_in_a_normal_chunk_is_not_an_error(self) -> None:
        events, raised = parse_objects([chunk({"content": "Hi"}, finish="stop", error=None)])
        assert raised is None
        assert isinstance(events[-1], Completed)

    def test_sse_error_event(self) -> None:
        body = b'event: error\ndata: {"message": "overloaded", "type": "overloaded_error"}\n\n'
        _, raised = parse_every_way(body)
        assert isinstance(raised, ProviderError)
        assert raised.error_type == "overloaded_error"

    def test_sse_error_event_with_text_data(self) -> None:
        _, raised = parse_every_way(b"event: error\ndata: upstream went away\n\n")
        assert isinstance(raised, ProviderError)

    def test_input_after_failure_is_ignored(self) -> None:
        parser = ChatChunkParser()
        parser.feed(json.dumps({"error": {"message": "x"}}))
        assert parser.state is ParserState.FAILED
        assert parser.feed(json.dumps(chunk({"content": "late"}))) == []
        assert parser.end() == []


class TestContent:
    def test_null_and_empty_content_add_nothing(self) -> None:
        events, _ = parse_objects(
            [
                chunk({"content": None}),
                chunk({"content": ""}),
                chunk({"content": []}),
                chunk(finish="stop"),
            ]
        )
        assert len(events) == 1
        assert isinstance(events[0], Completed)

    def test_reasoning_forms(self) -> None:
        objects = [
            chunk({"reasoning": "a"}),
            chunk({"reasoning": {"text": "b"}}),
            chunk({"reasoning": {"content": "c"}}),
            chunk({"reasoning_content": "d"}),
            chunk(
                {
                    "reasoning_details": [
                        {"type": "reasoning.text", "text": "e"},
                        {"type": "reasoning.encrypted", "data": "zz"},
                    ]
                }
            ),
            {"choices": [{"index": 0, "message": {"reasoning": "f"}}]},
            chunk(finish="stop"),
        ]
        events, _ = parse_objects(objects)
        deltas = [e.delta for e in events if isinstance(e, ReasoningContentDelta)]
        assert deltas == list("abcdef")
        done = [e.item for e in events if isinstance(e, OutputItemDone)]
        # The provider state rides along: the first field the text came in, and the
        # reasoning_details entries (no index: none merged).
        details = [
            ReasoningDetail(type="reasoning.text", text="e"),
            ReasoningDetail(type="reasoning.encrypted", data="zz"),
        ]
        assert done == [
            Reasoning(
                content=[ReasoningText(text="abcdef")], text_field="reasoning", details=details
            )
        ]

    def test_reasoning_from_the_first_field_only(self) -> None:
        delta = {"reasoning": "x", "reasoning_content": "x", "reasoning_details": [{"text": "x"}]}
        events, _ = parse_objects([chunk(delta), chunk(finish="stop")])
        assert [e.delta for e in events if isinstance(e, ReasoningContentDelta)] == ["x"]

    def test_content_only_added_once(self) -> None:
        events, _ = parse_objects(
            [chunk({"content": "a"}), chunk({"content": "b"}), chunk(finish="stop")]
        )
        assert sum(isinstance(e, OutputItemAdded) for e in events) == 1

    def test_choices_not_a_list_and_junk_inside_are_skipped(self) -> None:
        objects: list[object] = [
            {"choices": "nope"},
            {"choices": [1, None, {"index": 0, "delta": "x"}]},
            chunk({"tool_calls": [1, {"function": "x"}]}),
            chunk({"content": {"weird": True}}),
            chunk(finish="stop"),
        ]
        events, error = parse_objects(objects)
        assert error is None
        assert isinstance(events[-1], Completed)


# -- properties ------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8
)


@st.composite
def chat_streams(draw: st.DrawFn) -> tuple[list[dict[str, object]], dict[str, object]]:
    """A random valid stream, and what a naive accumulator expects of it."""
    objects: list[dict[str, object]] = []
    text, reasoning = "", ""
    calls: dict[int, dict[str, str]] = {}
    style = draw(st.sampled_from(["index", "index-repeat", "id-only", "none"]))
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["text", "reasoning", "tool", "empty"]))
        if kind == "text":
            piece = draw(_text)
            text += piece
            objects.append(chunk({"content": piece}))
        elif kind == "reasoning":
            piece = draw(_text)
            reasoning += piece
            field = draw(st.sampled_from(["reasoning", "reasoning_content"]))
            objects.append(chunk({field: piece}))
        elif kind == "tool":
            continue_last = draw(st.booleans())
            if style != "none":
                index = draw(st.integers(0, 2))
            elif calls and continue_last:
                index = len(calls) - 1  # continue the last call
            else:
                index = len(calls)
            new = index not in calls
            call = calls.setdefault(index, {"id": f"c{index}", "name": f"fn{index}", "args": ""})
            piece = draw(_text)
            call["args"] += piece
            fragment: dict[str, object] = {"function": {"arguments": piece}}
            if style in ("index", "index-repeat"):
                fragment["index"] = index
            if new or style in ("index-repeat", "id-only"):
                fragment["id"] = call["id"]
            if new or style == "index-repeat":
                fragment["function"] = {"name": call["name"], "arguments": piece}
            objects.append(chunk({"tool_calls": [fragment]}))
        else:
            objects.append(chunk({}))
    if draw(st.booleans()):
        objects.append(
            {"id": "u", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}
        )
    objects.append(chunk(finish="tool_calls" if calls else "stop"))
    expected: dict[str, object] = {
        "text": text,
        "reasoning": reasoning,
        "calls": [(c["id"], c["name"], c["args"]) for c in calls.values()],  # first appearance,
    }
    return objects, expected


@settings(max_examples=150, deadline=None)
@given(chat_streams())
def test_random_streams_match_a_naive_accumulator(
    stream: tuple[list[dict[str, object]], dict[str, object]],
) -> None:
    objects, expected = stream
    events, error = parse_objects(objects)
    assert error is None
    text = "".join(e.delta for e in events if isinstance(e, OutputTextDelta))
    reasoning = "".join(e.delta for e in events if isinstance(e, ReasoningContentDelta))
    calls = [(c.call_id, c.name, c.arguments) for c in calls_of(events)]
    assert (text, reasoning, calls) == (expected["text"], expected["reasoning"], expected["calls"])
    # Order: Added before its deltas, Done after them, Completed once and last.
    assert isinstance(events[-1], Completed)
    assert sum(isinstance(e, Completed) for e in events) == 1
    for kind, delta_type in ((Message, OutputTextDelta), (Reasoning, ReasoningContentDelta)):
        positions = [i for i, e in enumerate(events) if isinstance(e, delta_type)]
        added = [
            i
            for i, e in enumerate(events)
            if isinstance(e, OutputItemAdded) and isinstance(e.item, kind)
        ]
        done = [
            i
            for i, e in enumerate(events)
            if isinstance(e, OutputItemDone) and isinstance(e.item, kind)
        ]
        if positions:
            assert len(added) == 1
            assert len(done) == 1
            assert added[0] < positions[0] <= positions[-1] < done[0]
            joined = "".join(getattr(e, "delta", "") for e in events if isinstance(e, delta_type))
            done_event = events[done[0]]
            assert isinstance(done_event, OutputItemDone)
            assert isinstance(done_event.item, (Message, Reasoning))
            assert getattr(done_event.item.content[0], "text", None) == joined
        else:
            assert added == []
            assert done == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=30),
            st.sampled_from([b"data: ", b"\n\n", b"[DONE]", b'{"choices":', b"event: error\n"]),
        ),
        max_size=30,
    )
)
def test_arbitrary_bytes_raise_only_documented_errors(pieces: list[bytes]) -> None:
    _, error = parse_chunks(pieces)
    assert error is None or isinstance(
        error, (StreamError, ProviderError, RateLimitError, ContextWindowExceeded)
    )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "choices",
                    "delta",
                    "index",
                    "content",
                    "tool_calls",
                    "function",
                    "id",
                    "name",
                    "arguments",
                    "finish_reason",
                    "usage",
                    "reasoning",
                    "error",
                    "message",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_json, max_size=8))
def test_arbitrary_json_shapes_raise_only_documented_errors(objects: list[object]) -> None:
    parser = ChatChunkParser()
    for obj in objects:
        parser.feed(json.dumps(obj))
    parser.end()
    assert parser.error is None or isinstance(
        parser.error, (StreamError, ProviderError, RateLimitError, ContextWindowExceeded)
    )


_JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
).map(json.dumps)


@given(st.one_of(_JSON_TEXT, st.text(max_size=40), _JSON_TEXT.map(lambda s: s + " x")))
@settings(max_examples=400, deadline=None)
def test_loads_agrees_with_json_loads(text: str) -> None:
    # The fast parser of the hot path must give what json.loads gives, error or value.
    try:
        expected: object = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):  # noqa: PT011  # any ValueError: the caller skips
            loads(text)
        return
    assert json.dumps(loads(text)) == json.dumps(expected)


@pytest.mark.parametrize(
    "text",
    [
        '"\\ud800 lone surrogate"',  # pydantic-core refuses it, json accepts it
        "[" * 300 + "]" * 300,  # deeper than pydantic-core's limit
        "NaN",
        "[1e400, -Infinity]",
        "123456789012345678901234567890",
        ' {"a": 1, "a": 2} ',
    ],
)
def test_loads_takes_what_json_takes(text: str) -> None:
    assert json.dumps(loads(text)) == json.dumps(json.loads(text))
