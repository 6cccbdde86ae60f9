"""Traps a new user walks into: each is a clear, typed error before any request (or a helpful
one after), never a silently wrong request or a silently empty answer."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
import trio

from trio_chatsse import (
    FunctionCall,
    open_chat_stream,
    open_messages_stream,
    open_responses_stream,
)
from trio_chatsse.testing import ChatServer, Reply

from .helpers import FIXTURES, HTTPClient, parse_every_way
from .test_cli import run_cli

CHAT_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}},
}
RESPONSES_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather",
    "parameters": {"type": "object"},
}
MESSAGES_TOOL = {
    "name": "get_weather",
    "description": "Weather",
    "input_schema": {"type": "object"},
}


@pytest.mark.parametrize(
    ("messages", "words"),
    [
        ("hi", "must be a list of message objects"),
        ([{"role": "user", "content": "hi"}, "hi"], "must be a message object"),
        (None, "must be a list of message objects"),
    ],
)
async def test_messages_that_are_not_message_objects(
    chat_server: ChatServer, http: HTTPClient, messages: object, words: str
) -> None:
    with pytest.raises(TypeError, match=words):
        async with open_chat_stream(http, model="m", messages=messages):  # type: ignore[arg-type]  # the point
            pass  # pragma: no cover
    with pytest.raises(TypeError, match=words.replace("messages", "input")):
        bad_input = 3 if isinstance(messages, str) or messages is None else messages
        async with open_responses_stream(http, model="m", input=bad_input):  # type: ignore[arg-type]  # the point
            pass  # pragma: no cover
    assert chat_server.requests == []


@pytest.mark.parametrize(
    ("tools", "words"),
    [
        (CHAT_TOOL, "must be a list of tool objects"),
        ("get_weather", "must be a list of tool objects"),
        (["get_weather"], "each tool must be a tool object"),
        ([{"type": "function", "function": {"description": "no name"}}], "needs a name"),
    ],
)
async def test_tools_that_are_not_tool_objects(
    chat_server: ChatServer, http: HTTPClient, tools: object, words: str
) -> None:
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(TypeError, match=words):
        async with open_chat_stream(http, model="m", messages=messages, tools=tools):  # type: ignore[arg-type]  # the point
            pass  # pragma: no cover
    assert chat_server.requests == []


@pytest.mark.parametrize("given", [CHAT_TOOL, RESPONSES_TOOL, MESSAGES_TOOL])
async def test_one_tool_format_for_every_api(
    chat_server: ChatServer, http: HTTPClient, given: dict[str, object]
) -> None:
    messages = [{"role": "user", "content": "hi"}]
    async with open_chat_stream(
        http, model="m", messages=messages, tools=[given], tool_choice="get_weather"
    ) as stream:
        await stream.final()
    async with open_responses_stream(
        http, model="m", input="hi", tools=[given], tool_choice="get_weather"
    ) as stream:
        await stream.final()
    async with open_messages_stream(
        http,
        model="m",
        messages=messages,
        max_tokens=9,
        tools=[given],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    ) as stream:
        await stream.final()
    chat, responses, anthropic = chat_server.requests
    assert chat["tools"] == [CHAT_TOOL]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert responses["tools"] == [RESPONSES_TOOL]
    assert responses["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert anthropic["tools"] == [MESSAGES_TOOL]
    assert anthropic["tool_choice"] == {"type": "tool", "name": "get_weather"}


@pytest.mark.parametrize(
    ("choice", "chat", "messages"),
    [
        ("auto", "auto", {"type": "auto"}),
        ("none", "none", {"type": "none"}),
        ("required", "required", {"type": "any"}),
        ({"type": "any"}, "required", {"type": "any"}),
    ],
)
async def test_tool_choice_words_in_each_shape(
    chat_server: ChatServer, http: HTTPClient, choice: object, chat: object, messages: object
) -> None:
    user = [{"role": "user", "content": "hi"}]
    async with open_chat_stream(
        http,
        model="m",
        messages=user,
        tools=[CHAT_TOOL],
        tool_choice=choice,  # type: ignore[arg-type]  # test values
    ) as stream:
        await stream.final()
    async with open_messages_stream(
        http,
        model="m",
        messages=user,
        max_tokens=9,
        tools=[CHAT_TOOL],
        tool_choice=choice,  # type: ignore[arg-type]  # test values
    ) as stream:
        await stream.final()
    assert chat_server.requests[0]["tool_choice"] == chat
    assert chat_server.requests[1]["tool_choice"] == messages


@pytest.mark.parametrize(
    ("route", "tool", "words"),
    [
        ("chat/completions", RESPONSES_TOOL, "tools[0].function"),
        ("responses", CHAT_TOOL, "tools[0].name"),
        ("messages", CHAT_TOOL, "tools.0.custom.input_schema"),
    ],
)
async def test_the_test_server_refuses_a_tool_in_another_apis_shape(
    chat_server: ChatServer, http: HTTPClient, route: str, tool: object, words: str
) -> None:
    body = {"model": "m", "messages": [], "input": "hi", "tools": [tool], "stream": True}
    response = await http.post(route, json=body)
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]


async def test_the_next_turn_needs_the_whole_answer(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(text="A long answer in many pieces.", fragment_size=3))
    messages = [{"role": "user", "content": "hi"}]
    async with open_chat_stream(http, model="m", messages=messages) as stream:
        async for _ in stream:
            break
    with pytest.raises(RuntimeError, match=r"await stream.final\(\)"):
        stream.assistant_message()
    with pytest.raises(RuntimeError, match="has not ended"):
        stream.input_items()
    with pytest.raises(trio.ClosedResourceError, match="iterate it inside the block"):
        await stream.__anext__()


async def test_an_sdk_client_is_named(chat_server: ChatServer) -> None:
    import openai

    sdk = openai.AsyncOpenAI(base_url=chat_server.base_url, api_key="x")
    with pytest.raises(TypeError, match=r"an SDK client.*http_client="):
        async with open_chat_stream(sdk, model="m", messages=[]):  # type: ignore[arg-type]  # the point
            pass  # pragma: no cover
    await sdk.close()


def test_calling_from_asyncio_says_trio() -> None:
    import httpx

    async def main() -> None:
        async with httpx.AsyncClient() as http:
            async with open_chat_stream(http, model="m", messages=[]):
                pass  # pragma: no cover

    with pytest.raises(RuntimeError, match=r"runs under trio.*start_guest_run"):
        asyncio.run(main())


async def test_cli_tools_without_a_name_are_a_usage_error(tmp_path: Path) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps({"not": "a list"}))
    result = await run_cli(
        "chat", "hi", "--base-url", "http://127.0.0.1:9/v1", "--tools", str(tools)
    )
    assert result.returncode == 2
    assert "each tool needs a function name" in result.stderr.decode()


def test_a_missing_httpx2_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from trio_chatsse._cli import client_factory
    from trio_chatsse._cli_requests import UsageError

    monkeypatch.setitem(sys.modules, "httpx2", None)  # as if it were not installed
    with pytest.raises(UsageError, match=r'pip install "trio-chatsse\[httpx2\]"'):
        client_factory("httpx2")


@pytest.mark.parametrize(
    "fixture",
    [*sorted(FIXTURES.glob("*.sse")), *sorted((FIXTURES / "messages").glob("*.sse"))],
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_items_without_an_id_from_the_server_all_say_none(fixture: Path) -> None:
    """One rule for every item: Chat Completions and Messages streams give no item ids, and
    every item says ``None`` (a reasoning item once said ``""``)."""
    api = "messages" if fixture.parent.name == "messages" else "chat"
    events, _ = parse_every_way(fixture.read_bytes(), api=api)
    for event in events:
        item = getattr(event, "item", None)
        if item is not None and not isinstance(item, FunctionCall):
            assert item.id is None, event
