"""Against a real OpenAI-compatible server, when one is given (skipped otherwise).

    export TRIO_CHATSSE_LIVE_BASE_URL=http://127.0.0.1:8080/v1 TRIO_CHATSSE_LIVE_MODEL=m
    pytest tests/test_live.py

Set TRIO_CHATSSE_LIVE_TOOL_MODEL to a model that can call tools to run the tool-call test too.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import trio

from trio_chatsse import Completed, OutputTextDelta, open_chat_stream

from .conftest import TaskTracker
from .helpers import HTTPClient, busy_connections, new_client

BASE_URL = os.environ.get("TRIO_CHATSSE_LIVE_BASE_URL")
MODEL = os.environ.get("TRIO_CHATSSE_LIVE_MODEL", "default")
TOOL_MODEL = os.environ.get("TRIO_CHATSSE_LIVE_TOOL_MODEL")
pytestmark = pytest.mark.skipif(BASE_URL is None, reason="set TRIO_CHATSSE_LIVE_BASE_URL to run")
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture
async def http(http_library: str) -> AsyncIterator[HTTPClient]:
    """A client of each library for the live server; every test checks its pool is left with
    no busy connection."""
    async with new_client(http_library, base_url=str(BASE_URL), timeout=60) as client:
        yield client
        assert busy_connections(client) == []


async def test_live_text(http: HTTPClient, tasks: TaskTracker) -> None:
    with trio.fail_after(120):
        messages = [{"role": "user", "content": "List three fruits."}]
        async with open_chat_stream(http, model=MODEL, messages=messages, max_tokens=48) as stream:
            events = [e async for e in stream]
    assert isinstance(events[-1], Completed)
    assert stream.text == "".join(e.delta for e in events if isinstance(e, OutputTextDelta))
    assert stream.text
    assert busy_connections(http) == []


async def test_live_break_and_reuse(http: HTTPClient, tasks: TaskTracker) -> None:
    with trio.fail_after(120):
        messages = [{"role": "user", "content": "Tell me a long story."}]
        async with open_chat_stream(http, model=MODEL, messages=messages, max_tokens=64) as stream:
            async for _ in stream:
                break
        async with open_chat_stream(http, model=MODEL, messages=messages, max_tokens=8) as stream:
            completed = await stream.final()
    assert completed.finish_reason in ("length", "stop")
    assert busy_connections(http) == []


@pytest.mark.skipif(TOOL_MODEL is None, reason="set TRIO_CHATSSE_LIVE_TOOL_MODEL to run")
async def test_live_tool_call(http: HTTPClient, tasks: TaskTracker) -> None:
    with trio.fail_after(120):
        messages = [{"role": "user", "content": "What's the weather in Paris?"}]
        async with open_chat_stream(
            http,
            model=str(TOOL_MODEL),
            messages=messages,
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        ) as stream:
            completed = await stream.final()
    assert completed.finish_reason == "tool_calls"
    assert [c.name for c in stream.tool_calls] == ["get_weather"]
