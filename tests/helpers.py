"""Drivers shared by the tests (h11's ``tr`` idea: every reader is fed several ways)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import httpx2
import trio

from trio_chatsse import (
    ChatSSEError,
    ChatStream,
    Event,
    open_chat_stream,
    open_event_stream,
    open_gemini_stream,
    open_messages_stream,
    open_ollama_stream,
    open_responses_stream,
)
from trio_chatsse.sansio import (
    ChatChunkParser,
    GeminiEventParser,
    MessagesEventParser,
    NDJSONDecoder,
    OllamaChatParser,
    ParserState,
    ResponsesEventParser,
    ServerSentEvent,
    SSEDecoder,
)
from trio_chatsse.testing import sse_body

FIXTURES = Path(__file__).parent / "fixtures"
#: Responses API streams, in their own folder: tests that glob FIXTURES read chat streams.
RESPONSES_FIXTURES = FIXTURES / "responses"
#: Messages API streams.
MESSAGES_FIXTURES = FIXTURES / "messages"

#: Both client libraries: every test that takes an HTTP client runs with each.
LIBRARIES = ("httpx", "httpx2")
HTTPClient: TypeAlias = httpx.AsyncClient | httpx2.AsyncClient


def library_module(name: str) -> Any:
    """The ``httpx`` or ``httpx2`` module (typed loosely: the tests use both alike)."""
    return httpx2 if name == "httpx2" else httpx


def new_client(library: str, **options: Any) -> HTTPClient:
    """An ``AsyncClient`` of the named library."""
    client: HTTPClient = library_module(library).AsyncClient(**options)
    return client


Result = tuple[list[Event], ChatSSEError | None]


def parse_chunks(chunks: Iterable[bytes], **parser_options: object) -> Result:
    """Run both pure layers over ``chunks`` as the trio shell does; return events and error.

    ``api="responses"`` among the options reads a Responses API stream instead of Chat
    Completions chunks.
    """
    decoder: SSEDecoder | NDJSONDecoder = SSEDecoder()
    parser: (
        ChatChunkParser
        | ResponsesEventParser
        | MessagesEventParser
        | OllamaChatParser
        | GeminiEventParser
    )
    api = parser_options.pop("api", "chat")
    if api == "ollama":
        decoder = NDJSONDecoder()
        parser = OllamaChatParser(**parser_options)  # type: ignore[arg-type]  # test options
    elif api == "gemini":
        parser = GeminiEventParser(**parser_options)  # type: ignore[arg-type]  # test options
    elif api == "responses":
        parser = ResponsesEventParser(**parser_options)  # type: ignore[arg-type]  # test options
    elif api == "messages":
        parser = MessagesEventParser(**parser_options)  # type: ignore[arg-type]  # test options
    else:
        parser = ChatChunkParser(**parser_options)  # type: ignore[arg-type]  # test options
    events: list[Event] = []
    done = (ParserState.COMPLETED, ParserState.FAILED)
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            if isinstance(sse, ServerSentEvent):
                events += parser.feed(sse.data, sse.event)
        if decoder.error is not None:
            return events, decoder.error
        if parser.state in done:
            return events, parser.error
    for frame in decoder.end():  # NDJSON's last line without its LF
        if isinstance(frame, ServerSentEvent):
            events += parser.feed(frame.data, frame.event)
    if parser.state not in done:
        events += parser.end()
    return events, parser.error


def splittings(body: bytes) -> Iterable[list[bytes]]:
    """The same body whole, byte by byte, and in chunks of 2, 3 and 7 bytes."""
    yield [body]
    yield [body[i : i + 1] for i in range(len(body))]
    for size in (2, 3, 7):
        yield [body[i : i + size] for i in range(0, len(body), size)]


def parse_every_way(body: bytes, **parser_options: object) -> Result:
    """Parse ``body`` under every splitting; demand identical results; return them.

    ``api="responses"`` among the options reads a Responses API stream.
    """
    results = [parse_chunks(chunks, **parser_options) for chunks in splittings(body)]
    first_events, first_error = results[0]
    for events, error in results[1:]:
        assert events == first_events
        assert describe_error(error) == describe_error(first_error)
    return results[0]


def parse_objects(
    objects: Sequence[object], *, done: bool = True, **parser_options: object
) -> Result:
    """Parse chunks given as JSON objects (or raw data strings), one SSE event each."""
    return parse_every_way(sse_body(objects, done=done), **parser_options)  # type: ignore[arg-type]  # options typed loosely for tests


def describe_error(error: BaseException | None) -> dict[str, object] | None:
    """A JSON-able description of an error, as the fixtures' expected files hold it."""
    if error is None:
        return None
    return {"error": type(error).__name__, "message": str(error)}


def result_lines(result: Result) -> list[dict[str, object]]:
    """Events and error of a result as the lines of an expected ``.jsonl`` fixture."""
    events, error = result
    lines: list[dict[str, object]] = [e.model_dump(mode="json") for e in events]
    described = describe_error(error)
    if described is not None:
        lines.append(described)
    return lines


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def chunk(
    delta: Mapping[str, object] | None = None, finish: str | None = None, **extra: object
) -> dict[str, object]:
    """A ``chat.completion.chunk`` with one choice (index 0)."""
    choice = {"index": 0, "delta": delta if delta is not None else {}, "finish_reason": finish}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [choice], **extra}


def cut(body: bytes, sizes: Sequence[int]) -> list[bytes]:
    """``body`` in pieces of ``sizes[0]``, ``sizes[1]``, ... bytes, the sizes used in turn."""
    pieces: list[bytes] = []
    start = 0
    while start < len(body):
        size = sizes[len(pieces) % len(sizes)]
        pieces.append(body[start : start + size])
        start += size
    return pieces


async def stream_pieces(pieces: Sequence[bytes], **options: Any) -> Result:
    """Run ``pieces`` through ``open_event_stream`` (a checkpoint before each piece): every
    event the consumer received, and the stream's error if it raised one."""

    async def source() -> AsyncIterator[bytes]:
        for piece in pieces:
            await trio.lowlevel.checkpoint()
            yield piece

    events: list[Event] = []
    error: ChatSSEError | None = None
    async with open_event_stream(source(), **options) as stream:
        try:
            async for event in stream:
                events.append(event)
        except ChatSSEError as exc:
            error = exc
    return events, error


async def byte_source(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    """An async byte source for ``open_event_stream``."""
    for piece in chunks:
        yield piece


def pool_connections(client: HTTPClient) -> list[object]:
    """The connections in the client's pool (httpx keeps the pool private; tests may look)."""
    return list(client._transport._pool.connections)  # type: ignore[union-attr]  # private pool


def orphaned_connections(client: HTTPClient) -> list[object]:
    """Connections httpcore / httpcore2 left in its pool after a request was cancelled under
    pool contention: connected, never used (``NEW``, request count 0), and never reclaimed
    until the client closes. An upstream bug (encode/httpcore#1093, pydantic/httpx2#983),
    not a connection this library holds: the soak test counts them apart."""
    return [
        c
        for c in client._transport._pool.connections  # type: ignore[union-attr]  # private pool
        if "HTTP/1.1, NEW, Request Count: 0" in c.info()
    ]


def busy_connections(client: HTTPClient) -> list[object]:
    """Pool connections that are neither idle (reusable) nor closed: leaked ones."""
    return [
        c
        for c in client._transport._pool.connections  # type: ignore[union-attr]  # private pool
        if not (c.is_idle() or c.is_closed())
    ]


def open_stream(
    http: HTTPClient, api: str, **options: object
) -> AbstractAsyncContextManager[ChatStream[Any]]:
    """Open a stream of ``api`` with a one-message request and ``options``."""
    messages = [{"role": "user", "content": "hi"}]
    if api == "messages":
        return open_messages_stream(http, model="m", messages=messages, max_tokens=99, **options)  # type: ignore[arg-type]  # test options
    if api == "responses":
        return open_responses_stream(http, model="m", input="hi", **options)  # type: ignore[arg-type]  # test options
    if api == "ollama":
        return open_ollama_stream(http, model="m", messages=messages, **options)  # type: ignore[arg-type]  # test options
    if api == "gemini":
        contents = [{"role": "user", "parts": [{"text": "hi"}]}]
        return open_gemini_stream(http, model="m", contents=contents, **options)  # type: ignore[arg-type]  # test options
    return open_chat_stream(http, model="m", messages=messages, **options)  # type: ignore[arg-type]  # test options
