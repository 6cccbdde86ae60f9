"""An embedded OpenAI-compatible server for tests, demos and benchmarks.

:func:`open_chat_server` starts a real HTTP/1.1 server on ``127.0.0.1`` (port 0: the system
picks a free one) inside your trio nursery. It serves ``POST /v1/chat/completions`` and
``POST /v1/responses`` (each streamed and not) and ``GET /v1/models``, and replays scripted
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

import json
import logging
import zlib
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import final

import h11
import trio

from ._script_responses import response_events, response_object
from ._stream import open_background_nursery

__all__ = ["ChatServer", "Reply", "ScriptedToolCall", "open_chat_server", "sse_body"]

logger = logging.getLogger(__name__)

_MAX_REQUEST_BODY = 8 * 1024 * 1024


@final
@dataclass(frozen=True)
class ScriptedToolCall:
    """A tool call for a :class:`Reply` to stream, its arguments split into fragments."""

    name: str
    """The function name."""
    arguments: str = "{}"
    """The arguments, as JSON text."""
    call_id: str | None = None
    """The call id; ``call_<n>`` when not given."""
    extra_content: Mapping[str, object] | None = None
    """Sent as the call's ``extra_content`` in its first fragment, as Gemini sends a thought
    signature (``{"google": {"thought_signature": "..."}}``)."""


@final
@dataclass(frozen=True)
class Reply:
    """One scripted response of the :class:`ChatServer`, and the faults to inject into it.

    The streamed form looks like OpenAI's: a role-only first chunk, reasoning fragments,
    text fragments, tool-call fragments (id and name only in the first fragment of each),
    a finish chunk, a usage chunk with ``"choices": []``, then ``data: [DONE]``. Each SSE
    event is written to the socket in one write, as providers flush them.
    """

    text: str = ""
    """The assistant's text."""
    reasoning: str = ""
    """Reasoning text, streamed before the text."""
    reasoning_field: str = "reasoning_content"
    """Which delta field carries reasoning. One of ``reasoning_content`` (as DeepSeek, vLLM
    and llama.cpp send it), ``reasoning`` (Groq, Ollama), or ``reasoning_details``
    (OpenRouter's form: the text in ``reasoning`` and as ``reasoning.text`` pieces of
    ``reasoning_details``, with a ``signature`` on a last piece)."""
    tool_calls: Sequence[ScriptedToolCall] = ()
    """Tool calls, streamed after the text."""
    finish_reason: str | None = None
    """The finish reason; ``tool_calls`` when there are tool calls, else ``stop``."""
    usage: bool = True
    """Send a usage chunk after the finish."""
    fragment_size: int = 4
    """Characters per text, reasoning or argument fragment."""
    status: int = 200
    """The HTTP status. An error status sends :attr:`error` as ``{"error": {...}}`` (or
    :attr:`raw_body`, when given)."""
    error: Mapping[str, object] | None = None
    """With an error status, the error object of the body; in a 200 stream, an
    ``{"error": ...}`` event (Responses API: ``{"type": "error", "error": ...}``) sent after
    :attr:`error_after` events."""
    error_after: int = 0
    """Events sent before the in-stream :attr:`error` event."""
    retry_after: float | None = None
    """A ``Retry-After`` header, in seconds."""
    stall: float = 0.0
    """Seconds to stall, after :attr:`stall_after` events (with ``stall_after=0``, before the
    first byte)."""
    stall_after: int = 0
    """Events sent before the stall."""
    keepalive_every: float | None = None
    """During a stall, send a ``: keep-alive`` comment this often."""
    drip: bool = False
    """Write the body one byte per write."""
    disconnect_after: int | None = None
    """Close the connection after this many events (with no end of the chunked body)."""
    disconnect_mid_event: bool = False
    """With :attr:`disconnect_after`, first send half of the next event."""
    omit_done: bool = False
    """Leave out ``data: [DONE]`` (Chat Completions) or the terminal ``response.completed``
    event (Responses API): a stream that ends without saying it is complete."""
    crlf: bool = False
    """End lines with CRLF instead of LF."""
    write_size: int | None = None
    """Write the whole body in pieces of this many bytes, across event boundaries (not
    combined with the stall and disconnect faults)."""
    raw_body: bytes | None = None
    """Send exactly these bytes as the body (with :attr:`content_type`) instead."""
    content_type: str = "text/event-stream"
    """The ``Content-Type`` of :attr:`raw_body` or of the stream."""
    model: str = "trio-chatsse-test"
    """The model name in the chunks."""

    def chunks(self, response_id: str = "chatcmpl-test") -> list[dict[str, object]]:
        """The ``chat.completion.chunk`` objects of the streamed form."""

        def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
            return {
                "id": response_id,
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        out = [chunk({"role": "assistant", "content": ""})]
        out += [chunk(delta) for delta in self._reasoning_deltas()]
        out += [chunk({"content": p}) for p in _pieces(self.text, self.fragment_size)]
        for index, call in enumerate(self.tool_calls):
            first: dict[str, object] = {
                "index": index,
                "id": call.call_id or f"call_{index}",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            if call.extra_content is not None:
                first["extra_content"] = dict(call.extra_content)
            out.append(chunk({"tool_calls": [first]}))
            out += [
                chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
                for p in _pieces(call.arguments, self.fragment_size)
            ]
        out.append(chunk({}, self.finish_reason or ("tool_calls" if self.tool_calls else "stop")))
        if self.usage:
            usage_chunk = chunk({})
            usage_chunk["choices"] = []
            usage_chunk["usage"] = self.token_usage()
            out.append(usage_chunk)
        return out

    def response_events(
        self, response_id: str = "resp_test", *, encrypted: bool = False
    ) -> list[dict[str, object]]:
        """The events of the Responses API form, as OpenAI streams them: created,
        in_progress, each item (reasoning as a summary, the message, the function calls) added,
        streamed and done, then ``response.completed`` (``incomplete`` for a ``length`` or
        ``content_filter`` finish, ``failed`` for ``error``), each with a ``sequence_number``.

        Args:
            response_id: The response's id.
            encrypted: Give the reasoning item an ``encrypted_content`` (the server does when
                the request's ``include`` asks for ``reasoning.encrypted_content``).
        """
        return response_events(self, response_id, encrypted=encrypted)

    def response(
        self, response_id: str = "resp_test", *, encrypted: bool = False
    ) -> dict[str, object]:
        """The non-streamed Responses API ``response`` object of the same answer."""
        return response_object(self, response_id, encrypted=encrypted)

    def _reasoning_deltas(self) -> list[dict[str, object]]:
        pieces = _pieces(self.reasoning, self.fragment_size)
        if self.reasoning_field != "reasoning_details":
            return [{self.reasoning_field: p} for p in pieces]
        deltas: list[dict[str, object]] = [
            {"reasoning": p, "reasoning_details": [_detail(text=p)]} for p in pieces
        ]
        if pieces:
            deltas.append({"reasoning_details": [_detail(text="", signature=self.signature())]})
        return deltas

    def signature(self) -> str:
        """The ``signature`` of the streamed ``reasoning_details`` (OpenRouter's form)."""
        return f"sig-{zlib.crc32(self.reasoning.encode()):08x}"

    def reasoning_details(self) -> list[dict[str, object]] | None:
        """The ``reasoning_details`` a client should send back, merged from the pieces."""
        if self.reasoning_field != "reasoning_details" or not self.reasoning:
            return None
        return [_detail(text=self.reasoning, signature=self.signature())]

    def token_usage(self) -> dict[str, object]:
        """The ``usage`` object sent: about four characters per token."""
        output = (len(self.text) + len(self.reasoning) + 3) // 4 + 8 * len(self.tool_calls)
        reasoning = (len(self.reasoning) + 3) // 4
        return {
            "prompt_tokens": 12,
            "completion_tokens": output,
            "total_tokens": 12 + output,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }

    def completion(self, response_id: str = "chatcmpl-test") -> dict[str, object]:
        """The non-streamed ``chat.completion`` object of the same answer."""
        message: dict[str, object] = {"role": "assistant", "content": self.text or None}
        if self.reasoning:
            details = self.reasoning_details()
            if details is not None:
                message["reasoning"] = self.reasoning
                message["reasoning_details"] = details
            else:
                message[self.reasoning_field] = self.reasoning
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.call_id or f"call_{i}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                    **({} if call.extra_content is None else {"extra_content": call.extra_content}),
                }
                for i, call in enumerate(self.tool_calls)
            ]
        finish = self.finish_reason or ("tool_calls" if self.tool_calls else "stop")
        return {
            "id": response_id,
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": self.token_usage(),
        }


def _detail(**fields: object) -> dict[str, object]:
    return {"type": "reasoning.text", **fields, "format": "unknown", "index": 0}


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), max(size, 1))]


def sse_body(chunks: Sequence[Mapping[str, object] | str], *, done: bool = True) -> bytes:
    """Encode chunks (objects as JSON, strings as they are) as an SSE body, one event each."""
    events = [
        b"data: " + (c if isinstance(c, str) else json.dumps(c)).encode() + b"\n\n" for c in chunks
    ]
    if done:
        events.append(b"data: [DONE]\n\n")
    return b"".join(events)


ReplySource = Reply | Callable[[Mapping[str, object]], Reply]


def _default_reply(request: Mapping[str, object]) -> Reply:
    messages = request.get("messages", request.get("input"))
    prompt = messages if isinstance(messages, str) else ""
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        content = messages[-1].get("content")
        prompt = content if isinstance(content, str) else ""
    return Reply(text=f"You said: {prompt}" if prompt else "Hello from trio_chatsse's test server!")


@final
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
        self._sent_state: dict[str, _SentState] = {}
        self._response_count = 0
        self._connection_closed = trio.Event()

    async def wait_connections_closed(self) -> None:
        """Wait until no client connection is open (a leak check: a client that closed its
        responses and its pool leaves none)."""
        while self.open_connections:
            await self._connection_closed.wait()

    def push(self, *replies: ReplySource) -> None:
        """Queue replies for the next requests."""
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
        method, path = request.method.decode(), request.target.decode().split("?")[0]
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
        api = _ROUTES.get(path.rstrip("/")) if method == "POST" else None
        if api is None:
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
        if self.require_state_back:
            missing = self._missing_state(payload)
            if missing is not None:
                refusal = {"message": missing, "type": "invalid_request_error"}
                await ex.send_json(400, {"error": refusal})
                return True
        reply = self._next_reply(payload)
        self._response_count += 1
        response_id = f"{'resp' if api == 'responses' else 'chatcmpl'}-{self._response_count}"
        encrypted = "reasoning.encrypted_content" in _strings(payload.get("include"))
        self._remember_state(reply, response_id, encrypted)
        return await _play(ex, reply, payload, response_id, api, encrypted)

    def _remember_state(self, reply: Reply, response_id: str, encrypted: bool) -> None:
        """Note, per tool call id, the provider state a client must send back with the call."""
        thinking = None
        if reply.reasoning and reply.reasoning_field in ("reasoning_content", "reasoning"):
            thinking = (reply.reasoning_field, reply.reasoning)
        reasoning_item = None
        if encrypted and reply.reasoning:
            item = reply.response(response_id, encrypted=True)["output"][0]  # type: ignore[index]  # a list of items
            reasoning_item = (item["id"], item["encrypted_content"])
        for index, call in enumerate(reply.tool_calls):
            self._sent_state[call.call_id or f"call_{index}"] = _SentState(
                call.extra_content, thinking, reply.reasoning_details(), reasoning_item
            )

    def _missing_state(self, request: Mapping[str, object]) -> str | None:
        """What the request's history lacks of the state sent with its tool calls, if any:
        Gemini's, DeepSeek's, OpenRouter's and OpenAI's (Responses) rules, with their error
        messages."""
        items = request.get("input")
        if isinstance(items, list):
            return self._missing_reasoning_items(items)
        messages = request.get("messages")
        for message in messages if isinstance(messages, list) else ():
            calls = message.get("tool_calls") if isinstance(message, dict) else None
            for call in calls if isinstance(calls, list) else ():
                call_id = call.get("id") if isinstance(call, dict) else None
                state = self._sent_state.get(call_id) if isinstance(call_id, str) else None
                if state is None:
                    continue
                if state.extra_content is not None and call.get("extra_content") != dict(
                    state.extra_content
                ):
                    return (
                        "Function call is missing a thought_signature in functionCall parts. "
                        "This is required for tools to work correctly."
                    )
                if (
                    state.thinking is not None
                    and message.get(state.thinking[0]) != (state.thinking[1])
                ):
                    return (
                        f"The {state.thinking[0]} in the thinking mode must be passed back to "
                        "the API."
                    )
                if state.details is not None and message.get("reasoning_details") != (
                    state.details
                ):
                    return "reasoning_details must be passed back unmodified with tool calls."
        return None

    def _missing_reasoning_items(self, items: list[object]) -> str | None:
        """OpenAI's rule for a stateless Responses loop: a function call goes back with the
        reasoning item (id and encrypted content) that came before it."""
        reasoning = {
            (item.get("id"), item.get("encrypted_content"))
            for item in items
            if isinstance(item, dict) and item.get("type") == "reasoning"
        }
        for item in items:
            if not isinstance(item, dict) or item.get("type") != "function_call":
                continue
            state = self._sent_state.get(str(item.get("call_id")))
            needed = None if state is None else state.reasoning_item
            if needed is not None and needed not in reasoning:
                return (
                    f"Item of type 'function_call' was provided without its required "
                    f"'reasoning' item: '{needed[0]}'."
                )
        return None


#: The routes that stream, and their API.
_ROUTES = {"/v1/chat/completions": "chat", "/v1/responses": "responses"}


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass(frozen=True)
class _SentState:
    """The provider state a reply sent with a tool call."""

    extra_content: Mapping[str, object] | None
    thinking: tuple[str, str] | None
    details: list[dict[str, object]] | None
    reasoning_item: tuple[str, str] | None = None


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
    api: str,
    encrypted: bool,
) -> bool:
    """Send one reply, faults included. Returns whether the connection may be reused."""
    extra = [] if reply.retry_after is None else [("retry-after", f"{reply.retry_after:g}")]
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
    if not request.get("stream"):
        if api == "responses":
            answer = reply.response(response_id, encrypted=encrypted)
        else:
            answer = reply.completion(response_id)
        await ex.send_json(200, answer, extra)
        return True
    events = _stream_events(reply, response_id, api, encrypted)
    if reply.crlf:
        events = [e.replace(b"\n", b"\r\n") for e in events]
    await ex.start(200, reply.content_type, extra)
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
        if reply.drip:
            for i in range(len(event)):
                await ex.send(h11.Data(data=event[i : i + 1]))
        else:
            await ex.send(h11.Data(data=event))
    if reply.stall and reply.stall_after >= len(events):
        await _stall(ex, reply)
    await ex.send(h11.EndOfMessage())
    return True


def _stream_events(reply: Reply, response_id: str, api: str, encrypted: bool) -> list[bytes]:
    """The reply's SSE events, one ``bytes`` each, with its in-stream faults."""
    if api == "responses":
        objects = reply.response_events(response_id, encrypted=encrypted)
        if reply.omit_done:
            objects.pop()
        events = [f"event: {o['type']}\n".encode() + sse_body([o], done=False) for o in objects]
        error: dict[str, object] = {"type": "error", "error": dict(reply.error or {})}
    else:
        events = [sse_body([c], done=False) for c in reply.chunks(response_id)]
        if not reply.omit_done:
            events.append(b"data: [DONE]\n\n")
        error = {"error": dict(reply.error or {})}
    if reply.error is not None:
        events.insert(min(reply.error_after, len(events)), sse_body([error], done=False))
    return events


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
        host: The address to listen on (keep it on loopback).
        port: The port; 0 lets the system pick a free one.

    Yields:
        The running :class:`ChatServer`; its :attr:`~ChatServer.base_url` is ready to use.
    """
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[1]
    server = ChatServer(bound, replies, default, api_key, require_state_back)
    async with open_background_nursery() as nursery:
        await nursery.start(trio.serve_listeners, server._serve_connection, listeners)
        yield server
