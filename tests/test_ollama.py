"""Ollama's native /api/chat: NDJSON framing and the parser, on recorded-shape bodies (whole
and split every way), the opener over loopback, the next turn's form."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trio_chatsse import (
    Completed,
    FunctionCall,
    Message,
    OutputItemDone,
    OutputTextDelta,
    ProviderError,
    Reasoning,
    ReasoningContentDelta,
    StreamError,
    open_ollama_stream,
)
from trio_chatsse.sansio import EventTooLargeError, NDJSONDecoder, ServerSentEvent
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall

from .helpers import HTTPClient, parse_every_way

T = "2025-10-01T12:00:00.000Z"


def lines(*objects: dict[str, Any], crlf: bool = False, last_newline: bool = True) -> bytes:
    end = b"\r\n" if crlf else b"\n"
    body = end.join(json.dumps(o).encode() for o in objects)
    return body + (end if last_newline else b"")


def chunk(content: str = "", thinking: str | None = None, **message: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"role": "assistant", "content": content, **message}
    if thinking is not None:
        body["thinking"] = thinking
    return {"model": "qwen3", "created_at": T, "message": body, "done": False}


def done(reason: str = "stop", **counts: int) -> dict[str, Any]:
    # The 2026 builds put done_reason before done; the 2025 ones after: neither is relied on.
    return {
        "model": "qwen3",
        "created_at": T,
        "message": {"role": "assistant", "content": ""},
        "done_reason": reason,
        "done": True,
        "total_duration": 1_000_000,
        **counts,
    }


def test_text_and_thinking_with_usage() -> None:
    body = lines(
        chunk(thinking="Let me"),
        chunk(thinking=" think."),
        chunk("Hello"),
        chunk(" there"),
        done(prompt_eval_count=26, eval_count=8),
    )
    events, error = parse_every_way(body, api="ollama")
    assert error is None
    assert [e.delta for e in events if isinstance(e, ReasoningContentDelta)] == [
        "Let me",
        " think.",
    ]
    assert "".join(e.delta for e in events if isinstance(e, OutputTextDelta)) == "Hello there"
    items = [e.item for e in events if isinstance(e, OutputItemDone)]
    assert isinstance(items[0], Reasoning)
    assert items[0].content[0].text == "Let me think."
    assert isinstance(items[1], Message)
    completed = events[-1]
    assert isinstance(completed, Completed)
    assert completed.finish_reason == "stop"
    assert completed.token_usage is not None
    assert (completed.token_usage.input_tokens, completed.token_usage.output_tokens) == (26, 8)


@pytest.mark.parametrize("with_ids", [False, True])
def test_parallel_calls_in_one_line_with_and_without_arguments(with_ids: bool) -> None:
    calls: list[dict[str, Any]] = [
        {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
        {"function": {"name": "get_time"}},  # no arguments at all
    ]
    if with_ids:
        calls = [{"id": f"call_{c['function']['name']}", **c} for c in calls]
    body = lines(chunk(tool_calls=calls), done(eval_count=20))  # no prompt count: zero, left out
    events, error = parse_every_way(body, api="ollama")
    assert error is None
    made = [e.item for e in events if isinstance(e, OutputItemDone)]
    assert all(isinstance(item, FunctionCall) for item in made)
    assert [(c.name, json.loads(c.arguments)) for c in made] == [  # type: ignore[union-attr]
        ("get_weather", {"city": "Paris"}),
        ("get_time", {}),
    ]
    ids = [c.call_id for c in made]  # type: ignore[union-attr]
    assert ids == (["call_get_weather", "call_get_time"] if with_ids else ["call_1", "call_2"])
    completed = events[-1]
    assert isinstance(completed, Completed)
    assert completed.finish_reason == "tool_calls"  # Ollama ends calls with "stop"
    assert completed.token_usage is not None
    assert completed.token_usage.input_tokens == 0


def test_length_and_other_finishes_pass_through() -> None:
    events, error = parse_every_way(lines(chunk("cut"), done("length")), api="ollama")
    assert error is None
    assert isinstance(events[-1], Completed)
    assert events[-1].finish_reason == "length"
    events, _ = parse_every_way(lines(chunk("x"), done("load")), api="ollama")
    assert events[-1].finish_reason == "load"  # type: ignore[union-attr]


def test_crlf_and_a_last_line_without_its_newline() -> None:
    body = lines(chunk("Hi"), done(), crlf=True, last_newline=False)
    events, error = parse_every_way(body, api="ollama")
    assert error is None
    assert isinstance(events[-1], Completed)


def test_an_error_line_after_text_is_a_provider_error_after_the_text() -> None:
    body = lines(chunk("partial"), last_newline=False) + b'\n{"error":"an error was encountered"}'
    events, error = parse_every_way(body, api="ollama")
    assert [e.delta for e in events if isinstance(e, OutputTextDelta)] == ["partial"]
    assert isinstance(error, ProviderError)
    assert "an error was encountered" in str(error)


def test_a_body_without_its_done_line_is_cut_short() -> None:
    events, error = parse_every_way(lines(chunk("Hel"), chunk("lo")), api="ollama")
    assert "".join(e.delta for e in events if isinstance(e, OutputTextDelta)) == "Hello"
    assert isinstance(error, StreamError)
    assert "done" in str(error)


def test_a_line_that_is_no_chat_line_is_a_stream_error_quoting_it() -> None:
    _, error = parse_every_way(lines({"detail": "Not authenticated"}), api="ollama")
    assert isinstance(error, StreamError)
    assert "Not authenticated" in str(error)


def test_the_ndjson_framing_bounds_a_line() -> None:
    decoder = NDJSONDecoder(max_event_size=10)
    assert decoder.feed(b'{"a":1}\n{"b"') == [ServerSentEvent(data='{"a":1}')]
    assert decoder.feed(b':"0123456789"}\n') == []
    assert isinstance(decoder.error, EventTooLargeError)
    assert decoder.feed(b'{"c":3}\n') == []  # ignored once failed
    with pytest.raises(ValueError, match="positive"):
        NDJSONDecoder(max_event_size=0)


def test_utf8_split_across_feeds_is_joined() -> None:
    body = lines(chunk("héllo wörld ✓"), done())
    events, error = parse_every_way(body, api="ollama")
    assert error is None
    assert "".join(e.delta for e in events if isinstance(e, OutputTextDelta)) == "héllo wörld ✓"


async def test_the_opener_sends_the_native_request_and_reads_the_stream(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(
        Reply(
            text="Sunny.",
            reasoning="The user wants weather.",
            tool_calls=[ScriptedToolCall("get_weather", '{"city": "Oslo"}')],
        )
    )
    async with open_ollama_stream(
        http,
        model="qwen3",
        messages=[{"role": "user", "content": "Weather?"}],
        think=True,
        options={"num_ctx": 32768},
        keep_alive="10m",
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
    ) as stream:
        await stream.final()
    sent = chat_server.requests[0]
    assert sent["think"] is True  # at the top level: inside options it does nothing
    assert sent["options"] == {"num_ctx": 32768}
    assert sent["keep_alive"] == "10m"
    assert sent["stream"] is True
    assert stream.response is not None
    assert stream.response.headers["content-type"] == "application/x-ndjson"
    assert stream.text == "Sunny."
    assert stream.completed is not None
    assert stream.completed.finish_reason == "tool_calls"
    turn = stream.assistant_message()
    assert turn == {
        "role": "assistant",
        "content": "Sunny.",
        "thinking": "The user wants weather.",
        "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}],
    }


async def test_a_whole_answer_reads_as_the_same_events(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(text="whole answer", reasoning="hm"))
    async with open_ollama_stream(
        http, model="m", messages=[{"role": "user", "content": "hi"}], extra_body={"stream": False}
    ) as stream:
        await stream.final()
    assert stream.text == "whole answer"
    assert isinstance(stream.output[0], Reasoning)


async def test_an_http_error_quotes_ollamas_message(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    from trio_chatsse import HTTPStatusError

    chat_server.push(
        Reply(
            status=404,
            raw_body=b'{"error":"model \\"nope\\" not found"}',
            content_type="application/json",
        )
    )
    with pytest.raises(HTTPStatusError, match="not found") as info:
        async with open_ollama_stream(
            http, model="nope", messages=[{"role": "user", "content": "x"}]
        ):
            pass  # pragma: no cover
    assert info.value.status_code == 404
