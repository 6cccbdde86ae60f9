"""An embedded server of the three wire APIs for tests, demos and benchmarks.

:func:`open_chat_server` starts a real HTTP/1.1 server on ``127.0.0.1`` (port 0: the system
picks a free one) inside your trio nursery. It serves ``POST /v1/chat/completions``,
``POST /v1/responses`` and ``POST /v1/messages`` (each streamed and not), a background
response's ``GET /v1/responses/{id}`` and ``GET /v1/models``, and replays scripted
:class:`Reply` objects in the form of the API asked, each of which may inject a fault: a
stall, a byte-at-a-time drip, a disconnect mid-event, an in-stream error, an HTTP error status
with ``Retry-After``, garbage, a missing ``[DONE]``, keep-alive comments, a refusal of a
history that dropped provider state. It is written on h11, which httpx and httpx2 already
depend on, so it needs no extra package::

    async with open_chat_server(Reply(text="Hello!")) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            async with open_chat_stream(http, model="test", messages=[...]) as stream:
                ...
"""

from __future__ import annotations

from ._cassette import load_cassette, record
from ._ratelimit import RateLimitWindow
from ._redis import RedisServer, find_redis_server, open_redis_server
from ._replay import CassetteServer, ReplayFault, open_cassette_server
from ._reply import Reply
from ._script import ScriptedToolCall, sse_body
from ._server import ChatServer, open_chat_server

__all__ = [
    "CassetteServer",
    "ChatServer",
    "RateLimitWindow",
    "RedisServer",
    "ReplayFault",
    "Reply",
    "ScriptedToolCall",
    "find_redis_server",
    "load_cassette",
    "open_cassette_server",
    "open_chat_server",
    "open_redis_server",
    "record",
    "sse_body",
]
