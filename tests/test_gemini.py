"""Gemini's native streamGenerateContent?alt=sse: the parser on recorded-shape bodies (whole and
split every way), the opener over loopback, the next turn's form with its signatures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trio_chatsse import (
    Completed,
    ContextWindowExceeded,
    FunctionCall,
    FunctionCallArgumentsDelta,
    HTTPStatusError,
    Message,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ProviderError,
    RateLimitError,
    Reasoning,
    ReasoningContentDelta,
    StreamError,
    open_gemini_stream,
)
from trio_chatsse._partial_args import StreamedArguments, parse_json_path
from trio_chatsse.parts import OutputText
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall, open_chat_server

from .helpers import HTTPClient, new_client, parse_every_way


def sse(*events: dict[str, Any]) -> bytes:
    """Real Gemini SSE is CRLF-framed and has no [DONE]."""
    return b"".join(b"data: " + json.dumps(e).encode() + b"\r\n\r\n" for e in events)


def response(*parts: dict[str, Any], finish: str | None = None, **usage: int) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    event: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-2.5-flash"}
    if usage:
        event["usageMetadata"] = usage
    return event


def text_of(events: list[Any]) -> str:
    return "".join(e.delta for e in events if isinstance(e, OutputTextDelta))


def test_thinking_text_and_a_gemini_3_closing_signature() -> None:
    body = sse(
        response({"text": "Weighing it.", "thought": True}, promptTokenCount=9, totalTokenCount=9),
        response({"text": "Hello"}, promptTokenCount=9, totalTokenCount=9),
        response({"text": " there"}),
        response(
            {"text": "", "thoughtSignature": "Sig3"},
            finish="STOP",
            promptTokenCount=9,
            candidatesTokenCount=3,
            thoughtsTokenCount=5,
            cachedContentTokenCount=2,
            totalTokenCount=17,
        ),
    )
    events, error = parse_every_way(body, api="gemini")
    assert error is None
    assert [e.delta for e in events if isinstance(e, ReasoningContentDelta)] == ["Weighing it."]
    assert text_of(events) == "Hello there"
    items = [e.item for e in events if isinstance(e, OutputItemDone)]
    assert isinstance(items[0], Reasoning)
    message = items[1]
    assert isinstance(message, Message)
    assert message.provider_fields["gemini_parts"] == [
        {"text": "Hello there", "thoughtSignature": "Sig3"}
    ]
    completed = events[-1]
    assert isinstance(completed, Completed)
    assert completed.finish_reason == "stop"
    assert completed.response_id == ""  # old recordings have no responseId
    usage = completed.token_usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_output_tokens) == (9, 8, 5)
    assert (usage.cached_input_tokens, usage.total_tokens) == (2, 17)


def test_parallel_calls_without_ids_the_first_signed_one_without_args() -> None:
    body = sse(
        response(
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
             "thoughtSignature": "SigA"},
            {"functionCall": {"name": "get_time"}},
        ),
        response(finish="STOP", promptTokenCount=5, candidatesTokenCount=4, totalTokenCount=9),
    )  # fmt: skip
    events, error = parse_every_way(body, api="gemini")
    assert error is None
    done = [e.item for e in events if isinstance(e, OutputItemDone)]
    calls = [item for item in done if isinstance(item, FunctionCall)]
    # The turn's parts, in order and signed, ride on an empty message for the next turn.
    (message,) = [item for item in done if isinstance(item, Message)]
    assert message.content == []
    kept: Any = message.provider_fields["gemini_parts"]
    assert [next(iter(part)) for part in kept] == ["functionCall", "functionCall"]
    first, second = calls
    assert isinstance(first, FunctionCall)
    assert isinstance(second, FunctionCall)
    assert (first.name, json.loads(first.arguments), first.thought_signature) == (
        "get_weather",
        {"city": "Paris"},
        "SigA",
    )
    assert (second.arguments, second.thought_signature) == ("{}", None)
    assert [first.call_id, second.call_id] == ["gemini_call_1", "gemini_call_2"]
    assert events[-1].finish_reason == "tool_calls"  # type: ignore[union-attr]


def test_a_stop_mid_stream_is_not_the_end_code_execution_goes_on() -> None:
    code = {"executableCode": {"language": "PYTHON", "code": "print(2+2)"}}
    result = {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "4\n"}}
    body = sse(
        response({"text": "Let me compute."}, finish="STOP", totalTokenCount=3),
        response(code, result),
        response({"text": " It is 4.", "thoughtSignature": "SigB"}, finish="STOP",
                 promptTokenCount=4, candidatesTokenCount=6, totalTokenCount=10),
    )  # fmt: skip
    events, error = parse_every_way(body, api="gemini")
    assert error is None
    assert text_of(events) == "Let me compute. It is 4."
    assert sum(isinstance(e, Completed) for e in events) == 1
    (message,) = [e.item for e in events if isinstance(e, OutputItemDone)]
    assert isinstance(message, Message)
    assert message.provider_fields["gemini_parts"] == [
        {"text": "Let me compute."},
        code,
        result,
        {"text": " It is 4.", "thoughtSignature": "SigB"},
    ]


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("OTHER", "other"),
    ],
)
def test_finish_reasons(finish: str, reason: str) -> None:
    events, error = parse_every_way(sse(response({"text": "x"}, finish=finish)), api="gemini")
    assert error is None
    assert events[-1].finish_reason == reason  # type: ignore[union-attr]


def test_max_tokens_is_length_with_a_limit_and_the_context_without() -> None:
    body = sse(response({"text": "cut"}, finish="MAX_TOKENS"))
    events, error = parse_every_way(body, api="gemini", token_limit_set=True)
    assert error is None
    assert events[-1].finish_reason == "length"  # type: ignore[union-attr]
    _, error = parse_every_way(body, api="gemini")
    assert isinstance(error, ContextWindowExceeded)


def test_a_malformed_function_call_is_a_provider_error() -> None:
    _, error = parse_every_way(sse(response(finish="MALFORMED_FUNCTION_CALL")), api="gemini")
    assert isinstance(error, ProviderError)
    assert "MALFORMED_FUNCTION_CALL" in str(error)


def test_a_blocked_prompt_is_a_content_filter_with_no_output() -> None:
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"totalTokenCount": 4}}
    events, error = parse_every_way(sse(blocked), api="gemini")
    assert error is None
    assert [type(e) for e in events] == [Completed]
    assert events[-1].finish_reason == "content_filter"  # type: ignore[union-attr]


def test_an_error_event_and_a_cut() -> None:
    error = {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
    events, raised = parse_every_way(sse(response({"text": "Hi"}), error), api="gemini")
    assert text_of(events) == "Hi"
    assert isinstance(raised, RateLimitError)
    _, cut = parse_every_way(sse(response({"text": "Hi"})), api="gemini")
    assert isinstance(cut, StreamError)
    assert "finishReason" in str(cut)


async def test_the_opener_puts_the_model_in_the_path_and_builds_the_next_turn(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    call = ScriptedToolCall("get_weather", '{"city": "Oslo"}')
    chat_server.push(Reply(text="Checking.", reasoning="Think.", tool_calls=[call]))
    contents = [{"role": "user", "parts": [{"text": "Weather?"}]}]
    async with open_gemini_stream(
        http,
        model="gemini-2.5-flash",
        contents=contents,
        system_instruction="Be brief.",
        tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],  # any API's shape
        tool_choice="required",
        generation_config={"temperature": 0.2},
    ) as stream:
        await stream.final()
    sent = chat_server.requests[0]
    assert "model" not in sent  # it went in the path
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert sent["tools"] == [
        {"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "object"}}]}
    ]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    assert sent["generationConfig"] == {"temperature": 0.2}
    turn = stream.assistant_message()
    assert turn["role"] == "model"
    parts: Any = turn["parts"]
    assert parts[0] == {"text": "Checking."}
    assert parts[1]["functionCall"] == {"name": "get_weather", "args": {"city": "Oslo"}}
    assert parts[1]["thoughtSignature"].startswith("sig-")  # the first call's, sent back
    assert stream.completed is not None
    assert stream.completed.finish_reason == "tool_calls"


async def test_a_429_waits_the_retry_delay_gemini_gives_in_its_body(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    body = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "13s"}],
        }
    }
    chat_server.push(
        Reply(status=429, raw_body=json.dumps(body).encode(), content_type="application/json")
    )
    with pytest.raises(RateLimitError) as info:
        async with open_gemini_stream(http, model="m", contents=[], max_retries=0):
            pass  # pragma: no cover
    assert info.value.retry_after == 13.0


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("$.city", ["city"]),
        ("$.stops[0].name", ["stops", 0, "name"]),
        ('$[\'a b\']["c\\"d"]', ["a b", 'c"d']),
        ("$", []),
        ("city", None),
        ("$.a..b", None),
        ("$[x]", None),
    ],
)
def test_json_paths_of_streamed_arguments(path: str, steps: list[object] | None) -> None:
    assert parse_json_path(path) == steps


def test_streamed_arguments_join_strings_and_place_each_value() -> None:
    arguments = StreamedArguments()
    arguments.add([{"jsonPath": "$.location", "stringValue": "Bos", "willContinue": True}])
    arguments.add([{"jsonPath": "$.location", "stringValue": "ton, MA"}])
    arguments.add(
        [
            {"jsonPath": "$.brightness", "numberValue": 50},
            {"jsonPath": "$.on", "boolValue": True},
            {"jsonPath": "$.note", "nullValue": "NULL_VALUE"},
            {"jsonPath": "$.stops[1].name", "stringValue": "Oslo"},
            {"jsonPath": "$.tags", "listValue": ["a", "b"]},
            {"jsonPath": "$.location", "stringValue": "Paris"},  # a new value: replaced
            {"jsonPath": "bad", "stringValue": "x"},
            {"jsonPath": "$.empty"},
            "not an object",
        ]
    )
    assert arguments.value == {
        "location": "Paris",
        "brightness": 50,
        "on": True,
        "note": None,
        "stops": [None, {"name": "Oslo"}],
        "tags": ["a", "b"],
    }
    assert arguments.skipped == 3


def streamed_call_body(*, closed: bool = True) -> bytes:
    """A call whose arguments Vertex streams, between two pieces of text (a signed start)."""
    return sse(
        response({"text": "Writing it."}),
        response(
            {"functionCall": {"name": "write_file", "willContinue": True},
             "thoughtSignature": "SigW"}
        ),
        response({"functionCall": {"partialArgs": [
            {"jsonPath": "$.path", "stringValue": "notes.txt"},
            {"jsonPath": "$.content", "stringValue": "line one\n", "willContinue": True},
        ], "willContinue": True}}),
        response({"functionCall": {"partialArgs": [
            {"jsonPath": "$.content", "stringValue": "line two"},
        ], "willContinue": True}}),
        *([response({"functionCall": {}})] if closed else []),
        response(finish="STOP", promptTokenCount=5, candidatesTokenCount=9, totalTokenCount=14),
    )  # fmt: skip


@pytest.mark.parametrize("closed", [True, False])
def test_vertex_streamed_arguments_are_joined_into_one_call(closed: bool) -> None:
    events, error = parse_every_way(
        streamed_call_body(closed=closed), api="gemini", stream_tool_arguments=True
    )
    assert error is None
    added = [e for e in events if isinstance(e, OutputItemAdded)]
    (call,) = [
        e.item for e in events if isinstance(e, OutputItemDone) and isinstance(e.item, FunctionCall)
    ]
    assert isinstance(call, FunctionCall)
    assert (call.name, call.call_id, call.thought_signature) == (
        "write_file",
        "gemini_call_1",
        "SigW",
    )
    assert json.loads(call.arguments) == {"path": "notes.txt", "content": "line one\nline two"}
    # Added when it started (live), its arguments whole once they were.
    started = next(
        i for i, e in enumerate(events) if e in added and isinstance(e.item, FunctionCall)
    )
    deltas = [e for e in events if isinstance(e, FunctionCallArgumentsDelta)]
    assert [d.delta for d in deltas] == [call.arguments]
    assert started < events.index(deltas[0])
    (message,) = [
        e.item for e in events if isinstance(e, OutputItemDone) and isinstance(e.item, Message)
    ]
    kept: Any = message.provider_fields["gemini_parts"]
    assert kept[1] == {
        "functionCall": {"name": "write_file", "args": json.loads(call.arguments)},
        "thoughtSignature": "SigW",
    }
    completed = events[-1]
    assert isinstance(completed, Completed)
    assert completed.finish_reason == "tool_calls"


async def test_vertex_streamed_arguments_over_the_wire(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    long = "x" * 50
    call = ScriptedToolCall("write_file", json.dumps({"path": "a.txt", "content": long, "n": 3}))
    chat_server.push(Reply(text="Saving.", tool_calls=[call], fragment_size=7))
    config = {"functionCallingConfig": {"mode": "AUTO", "streamFunctionCallArguments": True}}
    async with open_gemini_stream(
        http,
        model="gemini-3-pro-preview",
        contents=[{"role": "user", "parts": [{"text": "Save it."}]}],
        tools=[{"name": "write_file", "parameters": {"type": "object"}}],
        tool_config=config,
    ) as stream:
        await stream.final()
    assert chat_server.requests[0]["toolConfig"] == config
    (done,) = stream.tool_calls
    assert json.loads(done.arguments) == {"path": "a.txt", "content": long, "n": 3}
    parts: Any = stream.assistant_message()["parts"]
    assert parts[1]["functionCall"] == {"name": "write_file", "args": json.loads(done.arguments)}


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_gemini_tool_loop_sends_the_signatures_back(
    http_library: str, streamed: bool
) -> None:
    first = Reply(
        reasoning="Which city?",
        tool_calls=[
            ScriptedToolCall("get_weather", '{"city": "Oslo"}'),
            ScriptedToolCall("get_time"),
        ],
    )
    config = {"functionCallingConfig": {"streamFunctionCallArguments": True}} if streamed else None
    contents: list[dict[str, object]] = [{"role": "user", "parts": [{"text": "Weather?"}]}]
    async with open_chat_server(first, Reply(text="Sunny."), require_state_back=True) as server:
        async with new_client(http_library, base_url=server.base_url) as http:
            async with open_gemini_stream(
                http, model="gemini-3-pro-preview", contents=contents, tool_config=config
            ) as stream:
                await stream.final()
            turn = stream.assistant_message()
            results = [{"role": "user", "parts": [
                {"functionResponse": {"name": c.name, "response": {"result": "ok"}}}
                for c in stream.tool_calls
            ]}]  # fmt: skip
            async with open_gemini_stream(
                http, model="m", contents=[*contents, turn, *results]
            ) as stream:
                await stream.final()
            assert stream.text == "Sunny."
            # The same history with the first call's signature lost: refused, as Gemini 3 does.
            parts: Any = [dict(part) for part in turn["parts"]]  # type: ignore[attr-defined]  # parts
            for part in parts:
                part.pop("thoughtSignature", None)
            broken = [*contents, {"role": "model", "parts": parts}, *results]
            with pytest.raises(HTTPStatusError, match="missing a thought_signature"):
                async with open_gemini_stream(http, model="m", contents=broken):
                    pass  # pragma: no cover


async def test_logprobs_go_with_the_text_they_came_with(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(text="Hello there, world", fragment_size=6))
    config = {"responseLogprobs": True, "logprobs": 2}
    async with open_gemini_stream(
        http,
        model="m",
        contents=[{"role": "user", "parts": [{"text": "Hi"}]}],
        generation_config=config,
    ) as stream:
        deltas = [e async for e in stream if isinstance(e, OutputTextDelta)]
    assert chat_server.requests[0]["generationConfig"] == config
    assert [[t.token for t in d.logprobs or ()] for d in deltas] == [[d.delta] for d in deltas]
    first = deltas[0].logprobs
    assert first is not None
    assert first[0].logprob == 0.0  # left out of the JSON: protobuf's zero
    assert [t.token for t in first[0].top_logprobs] == ["Hello ", "Hello ~0", "Hello ~1"]
    (message,) = [item for item in stream.output if isinstance(item, Message)]
    (part,) = message.content
    assert isinstance(part, OutputText)
    assert [t.token for t in part.logprobs] == ["Hello ", "there,", " world"]
    assert [t.logprob for t in part.logprobs] == [0.0, -0.25, -0.5]


def test_logprobs_without_text_ride_an_empty_delta() -> None:
    result = {"chosenCandidates": [{"token": "!", "logProbability": -0.5}]}
    body = sse(
        response({"text": "Hi"}),
        {"candidates": [{"content": {"role": "model", "parts": []}, "logprobsResult": result}]},
        response(finish="STOP"),
    )
    events, error = parse_every_way(body, api="gemini")
    assert error is None
    deltas = [e for e in events if isinstance(e, OutputTextDelta)]
    assert [(d.delta, [t.token for t in d.logprobs or ()]) for d in deltas] == [
        ("Hi", []),
        ("", ["!"]),
    ]
