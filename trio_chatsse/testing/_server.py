"""The embedded server: h11 over trio sockets, one task per connection, scripted replies.

Routes come from the wire forms (``_chat.py``, ``_responses.py``); the provider-state rules
from ``_state.py``; the scripts are data (``_script.py``).
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import h11
import trio

from .._nursery import open_background_nursery
from . import _chat, _gemini, _messages, _ollama, _responses
from ._background import BackgroundResponses
from ._ratelimit import RateLimitWindow
from ._reply import Reply
from ._script import WireForm
from ._state import ProviderState

__all__ = ["ChatServer", "ReplySource", "form_of", "open_chat_server"]

logger = logging.getLogger(__name__)

_MAX_REQUEST_BODY = 8 * 1024 * 1024


ReplySource = Reply | Callable[[Mapping[str, object]], Reply]


def _default_reply(request: Mapping[str, object]) -> Reply:
    messages = request.get("messages", request.get("input"))
    prompt = messages if isinstance(messages, str) else ""
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        content = messages[-1].get("content")
        prompt = content if isinstance(content, str) else ""
    return Reply(text=f"You said: {prompt}" if prompt else "Hello from trio_chatsse's test server!")


class ChatServer:
    """A running embedded server; made by :func:`open_chat_server`.

    Replies are used in the order queued; once the queue is empty, each request gets
    ``default(request_body)``.
    """

    def __init__(
        self,
        port: int,
        replies: Sequence[ReplySource],
        default: ReplySource,
        api_key: str | None,
        require_state_back: bool = False,
        rate_limit: RateLimitWindow | None = None,
        require_tool_results: bool = False,
    ) -> None:
        #: The port the server listens on.
        self.port = port
        #: The ``base_url`` to give an ``httpx.AsyncClient``: ``http://127.0.0.1:PORT/v1``.
        self.base_url = f"http://127.0.0.1:{port}/v1"
        #: The JSON bodies of the chat and responses requests received, in order.
        self.requests: list[dict[str, object]] = []
        #: How many connections are open right now (a leak check for tests).
        self.open_connections = 0
        #: How many connections were accepted in all.
        self.connections_accepted = 0
        self._replies: deque[ReplySource] = deque(replies)
        self._default = default
        self._api_key = api_key
        #: Whether requests that leave out provider state this server sent are refused.
        self.require_state_back = require_state_back
        #: Whether requests whose history leaves a tool call without its result are refused.
        self.require_tool_results = require_tool_results
        self._provider_state = ProviderState()
        #: The requests window enforced (and announced in the headers), if any.
        self.rate_limit = rate_limit
        #: Background Responses: kept events, resumes asked for, cancels received.
        self.background = BackgroundResponses()
        self._response_count = 0
        self._connection_closed = trio.Event()

    async def wait_connections_closed(self) -> None:
        """Wait until no client connection is open (a leak check: a client that closed its
        responses and its pool leaves none)."""
        while self.open_connections:
            await self._connection_closed.wait()

    def push(self, *replies: ReplySource) -> None:
        """Queue replies for the next requests.

        Each request takes the next reply, a retry included: a reply whose fault the client
        retries (a stall before the first content, an error status, a cut before any
        content) is used up by the failed attempt, and the retry gets the reply after it.
        Push a good reply after a faulty one to watch a retry succeed, or pass
        ``max_retries=0`` to see the fault itself.
        """
        self._replies.extend(replies)

    def _next_reply(self, request: Mapping[str, object]) -> Reply:
        source = self._replies.popleft() if self._replies else self._default
        return source if isinstance(source, Reply) else source(request)

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        self.open_connections += 1
        self.connections_accepted += 1
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_REQUEST_BODY)
        try:
            while True:
                request = await _read_request(stream, conn)
                if request is None:
                    return
                keep_alive = await self._respond(_Exchange(stream, conn), *request)
                if not keep_alive or conn.our_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return
        finally:
            self.open_connections -= 1
            self._connection_closed.set()
            self._connection_closed = trio.Event()
            with trio.move_on_after(1, shield=True):
                await stream.aclose()

    async def _respond(self, ex: _Exchange, request: h11.Request, body: bytes) -> bool:
        method, target = request.method.decode(), request.target.decode()
        path = target.split("?")[0]
        if self._api_key is not None:
            auth = dict(request.headers).get(b"authorization", b"").decode("latin-1")
            if auth != f"Bearer {self._api_key}":
                error = {"message": "Incorrect API key provided.", "type": "invalid_request_error"}
                await ex.send_json(401, {"error": {**error, "code": "invalid_api_key"}})
                return True
        if method == "GET" and path.rstrip("/") == "/v1/models":
            models = [{"id": "trio-chatsse-test", "object": "model", "owned_by": "trio_chatsse"}]
            await ex.send_json(200, {"object": "list", "data": models})
            return True
        form = form_of(method, path)
        if form is None:
            background = self.background.route(method, target)
            if background is not None:
                return await _send_background(ex, *background)
            await ex.send_json(404, {"error": {"message": f"no route for {method} {path}"}})
            return True
        try:
            payload = json.loads(body)
        except ValueError:
            await ex.send_json(400, {"error": {"message": "the body is not JSON"}})
            return True
        if not isinstance(payload, dict):
            await ex.send_json(400, {"error": {"message": "the body is not a JSON object"}})
            return True
        self.requests.append(payload)
        refusal = form.refusal(payload)
        if refusal is None and self.require_state_back:
            refusal = self._provider_state.missing(payload)
        if refusal is None and self.require_tool_results:
            refusal = form.unanswered_calls(payload)
        if refusal is not None:
            error = {"message": refusal, "type": "invalid_request_error"}
            await ex.send_json(400, {"error": error})
            return True
        limit_headers: list[tuple[str, str]] = []
        if self.rate_limit is not None:
            admitted, limit_headers = self.rate_limit.admit(trio.current_time())
            if not admitted:
                error = {"message": "Rate limit reached for requests", "type": "requests"}
                error["code"] = "rate_limit_exceeded"
                await ex.send_json(429, {"error": error}, limit_headers)
                return True
        reply = self._next_reply(payload)
        self._response_count += 1
        response_id = f"{form.id_prefix}-{self._response_count}"
        self._provider_state.remember(reply, response_id, payload)
        if form is _responses.FORM:
            self.background.remember(reply, response_id, payload)
        return await _play(ex, reply, payload, response_id, form, limit_headers)


async def _send_background(
    ex: _Exchange, status: int, body: object, events: list[bytes] | None
) -> bool:
    if events is None:
        await ex.send_json(status, body)
        return True
    await ex.start(200, "text/event-stream")
    for event in events:
        await ex.send(h11.Data(data=event))
    await ex.send(h11.EndOfMessage())
    return True


#: The wire forms served, by route.
_FORMS: dict[str, WireForm] = {
    form.route: form for form in (_chat.FORM, _responses.FORM, _messages.FORM, _ollama.FORM)
}
# Ollama's route is at the root (http://localhost:11434/api/chat); a client made for the other
# forms' base URL (.../v1) reaches it here too.
_FORMS["/v1/api/chat"] = _ollama.FORM


def form_of(method: str, path: str) -> WireForm | None:
    """The wire form served at ``method path`` (the path without its query), if any."""
    if method != "POST":
        return None
    form = _FORMS.get(path.rstrip("/"))
    if form is None and path.endswith(_gemini.FORM.route):
        form = _gemini.FORM  # models/{model}:streamGenerateContent, any model
    return form


@dataclass
class _Exchange:
    stream: trio.SocketStream
    conn: h11.Connection

    async def send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            await self.stream.send_all(data)

    async def wait_for_disconnect(self, seconds: float) -> None:
        """Wait ``seconds``, but raise :class:`trio.BrokenResourceError` as soon as the
        client closes the connection (a stalled server would not notice otherwise)."""
        with trio.move_on_after(seconds):
            while True:
                data = await self.stream.receive_some(65536)
                if not data:
                    raise trio.BrokenResourceError("the client closed the connection")
                self.conn.receive_data(data)

    async def start(
        self, status: int, content_type: str, extra: Sequence[tuple[str, str]] = ()
    ) -> None:
        headers = [("content-type", content_type), ("transfer-encoding", "chunked"), *extra]
        await self.send(h11.Response(status_code=status, headers=headers))

    async def send_json(
        self, status: int, obj: object, extra: Sequence[tuple[str, str]] = ()
    ) -> None:
        await self.start(status, "application/json", extra)
        await self.send(h11.Data(data=json.dumps(obj).encode()))
        await self.send(h11.EndOfMessage())


async def _read_request(
    stream: trio.SocketStream, conn: h11.Connection
) -> tuple[h11.Request, bytes] | None:
    request: h11.Request | None = None
    body: list[bytes] = []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            return request, b"".join(body)
        else:  # ConnectionClosed or PAUSED
            return None


async def _play(
    ex: _Exchange,
    reply: Reply,
    request: Mapping[str, object],
    response_id: str,
    form: WireForm,
    headers: list[tuple[str, str]],
) -> bool:
    """Send one reply, faults included. Returns whether the connection may be reused."""
    extra = [] if reply.retry_after is None else [("retry-after", f"{reply.retry_after:g}")]
    extra += headers
    if reply.raw_body is not None:
        await ex.start(reply.status, reply.content_type, extra)
        if reply.raw_body:
            await ex.send(h11.Data(data=reply.raw_body))
        await ex.send(h11.EndOfMessage())
        return True
    if reply.status >= 400:
        error = dict(
            reply.error or {"message": f"scripted HTTP {reply.status}", "type": "server_error"}
        )
        await ex.send_json(reply.status, {"error": error}, extra)
        return True
    if not (request.get("stream") or form.streams_always):
        await ex.send_json(200, form.whole_answer(reply, response_id, request), extra)
        return True
    events = form.stream_events(reply, response_id, request)
    if reply.crlf:
        events = [e.replace(b"\n", b"\r\n") for e in events]
    content_type = reply.content_type
    if content_type == "text/event-stream":  # the default: the form's own streamed type
        content_type = form.content_type
    await ex.start(200, content_type, extra)
    if reply.write_size is not None:
        body = b"".join(events)
        for start in range(0, len(body), reply.write_size):
            await ex.send(h11.Data(data=body[start : start + reply.write_size]))
        await ex.send(h11.EndOfMessage())
        return True
    for position, event in enumerate(events):
        if reply.stall and position == reply.stall_after:
            await _stall(ex, reply)
        if reply.disconnect_after == position:
            if reply.disconnect_mid_event:
                await ex.send(h11.Data(data=event[: len(event) // 2]))
            return False
        if reply.pace and position:
            await trio.sleep(reply.pace)
        if reply.drip:
            for i in range(len(event)):
                await ex.send(h11.Data(data=event[i : i + 1]))
        else:
            await ex.send(h11.Data(data=event))
    if reply.stall and reply.stall_after >= len(events):
        await _stall(ex, reply)
    await ex.send(h11.EndOfMessage())
    return True


async def _stall(ex: _Exchange, reply: Reply) -> None:
    deadline = trio.current_time() + reply.stall
    while trio.current_time() < deadline:
        wait = deadline - trio.current_time()
        if reply.keepalive_every is not None:
            wait = min(wait, reply.keepalive_every)
        await ex.wait_for_disconnect(wait)
        if reply.keepalive_every is not None:
            await ex.send(h11.Data(data=b": keep-alive\n\n"))


@asynccontextmanager
async def open_chat_server(
    *replies: ReplySource,
    default: ReplySource = _default_reply,
    api_key: str | None = None,
    require_state_back: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    rate_limit: RateLimitWindow | None = None,
    require_tool_results: bool = False,
) -> AsyncGenerator[ChatServer, None]:
    """Run an OpenAI-compatible server for the duration of the block.

    Args:
        *replies: Replies for the first requests, in order (a :class:`Reply`, or a function
            of the request body returning one).
        default: The reply once the queue is empty; by default it echoes the last message.
        api_key: When set, requests without ``Authorization: Bearer <api_key>`` get a 401.
        require_state_back: A fault to switch on: refuse with HTTP 400 any request whose
            history carries a tool call this server sent without the provider state sent
            with it, as the providers do: the call's ``extra_content`` (Gemini 3's thought
            signature), the reasoning of that message in the field it was streamed in
            (DeepSeek's thinking mode), or the merged ``reasoning_details`` (OpenRouter).
        require_tool_results: A check to switch on: refuse with HTTP 400, in the real
            servers' words, any request whose history holds a tool call without its result
            (a ``tool`` message, a ``function_call_output`` item, a ``tool_result`` block in
            the next message), as the providers do.
        rate_limit: Enforce a window of requests, counting down in OpenAI's
            ``x-ratelimit-*-requests`` headers and answering 429 with ``Retry-After`` beyond
            it, to test your own fan-out.
        host: The address to listen on (keep it on loopback).
        port: The port; 0 lets the system pick a free one.

    Yields:
        The running :class:`ChatServer`; its :attr:`~ChatServer.base_url` is ready to use.
    """
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[1]
    server = ChatServer(
        bound, replies, default, api_key, require_state_back, rate_limit, require_tool_results
    )
    async with open_background_nursery() as nursery:
        await nursery.start(trio.serve_listeners, server._serve_connection, listeners)
        yield server
