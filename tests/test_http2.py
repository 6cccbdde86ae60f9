"""HTTP/2 (h2c, prior knowledge) against hypercorn, with either client library.

Several streams share one connection; cancelling one resets that HTTP/2 stream only, and the
others (and the connection) carry on.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from trio_chatsse import Completed, Event, OutputTextDelta, open_chat_stream
from trio_chatsse.testing import Reply, sse_body

from .conftest import TaskTracker
from .helpers import HTTPClient, busy_connections, new_client, pool_connections

MESSAGES = [{"role": "user", "content": "hi"}]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class ReplayApp:
    """An ASGI app serving ``POST /v1/chat/completions`` from :class:`Reply` scripts, one
    event per HTTP/2 DATA frame, with a short pause between events."""

    def __init__(self) -> None:
        #: (HTTP version, client address) of each chat request, in order.
        self.requests: list[tuple[str, tuple[str, int]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]  # startup or shutdown
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body)
        self.requests.append((scope["http_version"], tuple(scope["client"])))
        # The model name says how many words to stream.
        reply = Reply(text="word " * int(request["model"]), fragment_size=5)
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in reply.chunks():
            await trio.sleep(0.002)
            data = sse_body([chunk], done=False)
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


@asynccontextmanager
async def open_h2_server() -> AsyncIterator[tuple[str, ReplayApp]]:
    app = ReplayApp()
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, app, config)
        yield binds[0] + "/v1", app
        nursery.cancel_scope.cancel()


async def stream_words(http: HTTPClient, words: int) -> list[Event]:
    async with open_chat_stream(http, model=str(words), messages=MESSAGES) as stream:
        return [event async for event in stream]


@pytest.fixture
async def h2() -> AsyncIterator[tuple[str, ReplayApp]]:
    async with open_h2_server() as server:
        yield server


async def test_the_same_events_over_http2(
    h2: tuple[str, ReplayApp], http_library: str, tasks: TaskTracker
) -> None:
    base_url, app = h2
    async with new_client(http_library, base_url=base_url, http1=False, http2=True) as http:
        with trio.fail_after(20):
            events = await stream_words(http, 30)
            async with open_chat_stream(http, model="3", messages=MESSAGES) as stream:
                await stream.final()
        assert stream.response is not None
        assert stream.response.http_version == "HTTP/2"
    text = "".join(e.delta for e in events if isinstance(e, OutputTextDelta))
    assert text == "word " * 30
    assert isinstance(events[-1], Completed)
    assert [version for version, _ in app.requests] == ["2", "2"]
    assert app.requests[0][1] == app.requests[1][1]  # one connection, reused


async def test_cancelling_one_stream_leaves_the_others_running(
    h2: tuple[str, ReplayApp], http_library: str, tasks: TaskTracker
) -> None:
    base_url, app = h2
    results: dict[str, list[Event]] = {}
    async with new_client(http_library, base_url=base_url, http1=False, http2=True) as http:

        async def left_early() -> None:
            async with open_chat_stream(http, model="400", messages=MESSAGES) as stream:
                async for event in stream:
                    if isinstance(event, OutputTextDelta):
                        break  # leaves the block: this HTTP/2 stream is reset

        async def whole(name: str) -> None:
            results[name] = await stream_words(http, 60)

        async def timed_out() -> None:
            # Cancelled by a timeout around the block, which starts at the first text: the
            # stream is then surely open on the server, and 80 paced chunks take longer.
            with trio.move_on_after(math.inf) as timeout:
                async with open_chat_stream(http, model="400", messages=MESSAGES) as stream:
                    async for event in stream:
                        if isinstance(event, OutputTextDelta) and timeout.deadline == math.inf:
                            timeout.deadline = trio.current_time() + 0.05
            assert timeout.cancelled_caught

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(whole, "a")
                nursery.start_soon(left_early)
                nursery.start_soon(whole, "b")
                nursery.start_soon(timed_out)
            # The connection survived: one more stream goes over it.
            after = await stream_words(http, 5)
        assert len(pool_connections(http)) == 1
        assert busy_connections(http) == []
    for events in (results["a"], results["b"]):
        assert "".join(e.delta for e in events if isinstance(e, OutputTextDelta)) == "word " * 60
        assert isinstance(events[-1], Completed)
    assert isinstance(after[-1], Completed)
    assert {client for _, client in app.requests} == {app.requests[0][1]}
    assert len(app.requests) == 5
