"""Layer 4: the HTTP request. Build the POST, check the status, retry before the first byte.

One request path for both wire APIs: ``open_chat_stream`` and ``open_responses_stream`` differ
only in the body they build, the path they post to, the parser they give the shell, and how a
non-streamed answer is replayed (an :class:`_Endpoint`)."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import trio

from ._chunks import ChatChunkParser
from ._clients import ClientLibrary, library_of
from ._errors import (
    REQUEST_ID_HEADERS,
    ChatSSEError,
    ContextWindowExceeded,
    HTTPContextWindowExceeded,
    HTTPRateLimitError,
    HTTPStatusError,
    IdleTimeoutError,
    RateLimitError,
    StreamError,
)
from ._parsers import EventParser
from ._replay import completion_as_sse, response_as_sse
from ._responses import ResponsesEventParser
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._stream import (
    CLOSE_TIMEOUT,
    ChatStream,
    FirstByteLimit,
    StreamTelemetry,
    _run_stream,
    check_stream_args,
    seconds,
)
from ._tool_calls import ToolCallsOnStop
from ._wire import error_from_object

if TYPE_CHECKING:
    import httpx  # noqa: ASYNC127  # for the type of a client passed in, never imported
    import httpx2

    from ._clients import HTTPClient, HTTPResponse

__all__ = ["RETRY_STATUSES", "open_chat_stream", "open_responses_stream"]

logger = logging.getLogger(__name__)

#: Statuses retried (before the first byte of the body) when ``max_retries`` allows.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
#: Longest wait between two attempts, in seconds, whatever ``Retry-After`` says.
MAX_RETRY_DELAY = 60.0
_INITIAL_RETRY_DELAY = 0.5
#: At most this many bytes of an error body are read.
_ERROR_BODY_LIMIT = 64 * 1024


@asynccontextmanager
async def open_chat_stream(
    client: httpx.AsyncClient | httpx2.AsyncClient,
    *,
    model: str,
    messages: Sequence[Mapping[str, object]],
    tools: Sequence[Mapping[str, object]] | None = None,
    tool_choice: str | Mapping[str, object] | None = None,
    idle_timeout: float = 300.0,
    first_byte_timeout: float | None = None,
    max_retries: int = 2,
    tool_calls_on_stop: ToolCallsOnStop = "emit",
    stream_tool_arguments: bool = False,
    include_usage: bool = True,
    extra_body: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    telemetry: StreamTelemetry | None = None,
    **params: object,
) -> AsyncGenerator[ChatStream, None]:
    """Stream one Chat Completions response as typed events.

    POSTs ``chat/completions`` (relative to the client's ``base_url``) with ``stream: true``,
    checks the HTTP status before yielding, and runs the reader task over the body. On
    every exit of the block the reader is cancelled and awaited, the response is closed
    (the connection goes back to the pool only if the body was read to its end) and no task
    is left behind.

    Example::

        async with httpx.AsyncClient(base_url="http://127.0.0.1:8080/v1") as http:
            async with open_chat_stream(http, model="m", messages=[...]) as stream:
                async for event in stream:
                    ...

    Args:
        client: An ``httpx.AsyncClient`` or an ``httpx2.AsyncClient`` (a subclass too, such
            as the openai SDK's); set ``base_url`` and any ``Authorization`` header on it.
        model: The model name.
        messages: The conversation, as Chat Completions message objects.
        tools: Tool (function) definitions, as Chat Completions ``tools``.
        tool_choice: The ``tool_choice`` of the request.
        idle_timeout: Seconds without a byte of the body before
            :class:`~trio_chatsse.IdleTimeoutError`. The client's own read timeout is turned
            off for this request; its connect, write and pool timeouts still apply.
        first_byte_timeout: Seconds the server may take, from sending the request, to send
            its headers and the first byte of the body, before
            :class:`~trio_chatsse.FirstByteTimeoutError` (a model may think for minutes before
            it speaks); after that byte, ``idle_timeout`` governs. ``None`` (the default)
            gives that wait ``idle_timeout`` too. Keep-alive comments count as bytes.
        max_retries: Retries of transport errors before a response (a refused connection, a
            pooled connection the server had closed) and of statuses 408, 409, 429 and 5xx,
            with exponential backoff and jitter, honouring ``Retry-After``. Only before the
            body is handed on: never once events could have reached you.
        tool_calls_on_stop: ``"emit"`` or ``"drop"``; see :class:`~trio_chatsse.ChatChunkParser`.
        stream_tool_arguments: Show tool calls as they stream (an option of this library,
            never sent to the server): each call gives an
            :class:`~trio_chatsse.OutputItemAdded` as soon as it has a name, a
            :class:`~trio_chatsse.FunctionCallArgumentsDelta` per piece of its arguments and
            a :class:`~trio_chatsse.FunctionCallArgumentsDone` before its
            :class:`~trio_chatsse.OutputItemDone`, and every item event carries its
            ``output_index``. Off by default: tool calls come only as done items.
        include_usage: Send ``stream_options.include_usage`` (turn off for servers that
            reject ``stream_options``).
        extra_body: More JSON fields for the request body; they win over everything else.
        headers: More headers for this request.
        max_event_size: The largest line or event accepted, in bytes.
        telemetry: Called once per read of the body; see :class:`~trio_chatsse.StreamTelemetry`.
        **params: More request fields (``temperature``, ``max_tokens``, ...). When
            ``max_tokens`` or ``max_completion_tokens`` is set, ``finish_reason: "length"``
            is a normal end rather than :class:`~trio_chatsse.ContextWindowExceeded`.

    Yields:
        The :class:`~trio_chatsse.ChatStream` to iterate.

    Raises:
        RateLimitError: HTTP 429, once the retries are spent (``retry_after`` says how long
            the server asked to wait).
        ContextWindowExceeded: An HTTP error whose body names the context length.
        HTTPStatusError: Any other 4xx or 5xx status.
        StreamError: The connection could not be made or broke before the body, or the
            server answered 200 with an HTML page instead of an event stream.
        IdleTimeoutError: No response came for ``idle_timeout`` seconds, or a body that is
            not labelled as an event stream sent nothing for that long (its start is checked
            before the block begins); a :class:`~trio_chatsse.FirstByteTimeoutError` when
            ``first_byte_timeout`` is set.
        ValueError: An argument no request can run with.
        TypeError: ``client`` is neither an ``httpx.AsyncClient`` nor an
            ``httpx2.AsyncClient``.
    """
    body = _request_body(
        {"model": model, "messages": list(messages), "stream": True},
        tools=tools,
        tool_choice=tool_choice,
        extra={"stream_options": {"include_usage": True}} if include_usage else {},
        params=params,
        extra_body=extra_body,
    )
    token_limit_set = any(
        body.get(key) is not None for key in ("max_tokens", "max_completion_tokens")
    )
    parser = ChatChunkParser(
        tool_calls_on_stop=tool_calls_on_stop,
        token_limit_set=token_limit_set,
        stream_tool_arguments=stream_tool_arguments,
    )
    async with _open_stream(
        client,
        _CHAT,
        body,
        parser,
        idle_timeout=idle_timeout,
        first_byte_timeout=first_byte_timeout,
        max_retries=max_retries,
        headers=headers,
        max_event_size=max_event_size,
        telemetry=telemetry,
    ) as stream:
        yield stream


@asynccontextmanager
async def open_responses_stream(
    client: httpx.AsyncClient | httpx2.AsyncClient,
    *,
    model: str,
    input: str | Sequence[Mapping[str, object]],
    tools: Sequence[Mapping[str, object]] | None = None,
    tool_choice: str | Mapping[str, object] | None = None,
    instructions: str | None = None,
    idle_timeout: float = 300.0,
    first_byte_timeout: float | None = None,
    max_retries: int = 2,
    stream_tool_arguments: bool = False,
    extra_body: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    telemetry: StreamTelemetry | None = None,
    **params: object,
) -> AsyncGenerator[ChatStream, None]:
    """Stream one Responses API response as the same typed events.

    The Responses API counterpart of :func:`~trio_chatsse.open_chat_stream`, with the same
    reader task, bounded channel, idle timeout, retries before the first byte, typed errors
    and cleanup on every exit: switching APIs is one line. POSTs ``responses`` (relative to
    the client's ``base_url``) with ``stream: true``; usage comes in ``response.completed``,
    so no ``stream_options`` is sent.

    Example::

        async with open_responses_stream(http, model="m", input="Hello!") as stream:
            async for event in stream:
                ...

    Args:
        client: An ``httpx.AsyncClient`` or an ``httpx2.AsyncClient``, as for
            :func:`~trio_chatsse.open_chat_stream`.
        model: The model name.
        input: The input: a string, or a list of input items (messages, function call
            outputs, and the previous turn's output items: see
            :func:`~trio_chatsse.input_items`).
        tools: Tool definitions, as Responses API ``tools`` (``{"type": "function",
            "name": ..., "parameters": ...}``).
        tool_choice: The ``tool_choice`` of the request.
        instructions: The ``instructions`` (system message) of the request.
        idle_timeout: As for :func:`~trio_chatsse.open_chat_stream`.
        first_byte_timeout: As for :func:`~trio_chatsse.open_chat_stream`.
        max_retries: As for :func:`~trio_chatsse.open_chat_stream`.
        stream_tool_arguments: Function calls as they stream, as for
            :func:`~trio_chatsse.open_chat_stream` (never sent to the server).
        extra_body: More JSON fields for the request body; they win over everything else.
        headers: More headers for this request.
        max_event_size: The largest line or event accepted, in bytes.
        telemetry: Called once per read of the body; see :class:`~trio_chatsse.StreamTelemetry`.
        **params: More request fields (``reasoning``, ``include``, ``store``,
            ``max_output_tokens``...). With ``max_output_tokens`` set, a response left
            incomplete for that reason ends normally with ``finish_reason: "length"``.

    Yields:
        The :class:`~trio_chatsse.ChatStream` to iterate.

    Raises:
        RateLimitError: HTTP 429, once the retries are spent.
        ContextWindowExceeded: An HTTP error whose body names the context length.
        HTTPStatusError: Any other 4xx or 5xx status.
        StreamError: The connection could not be made or broke before the body, or the
            server answered 200 with an HTML page instead of an event stream.
        IdleTimeoutError: As for :func:`~trio_chatsse.open_chat_stream`.
        ValueError: An argument no request can run with.
        TypeError: ``client`` is neither an ``httpx.AsyncClient`` nor an
            ``httpx2.AsyncClient``.
    """
    first = {"model": model, "input": input if isinstance(input, str) else list(input)}
    body = _request_body(
        {**first, "stream": True},
        tools=tools,
        tool_choice=tool_choice,
        extra={} if instructions is None else {"instructions": instructions},
        params=params,
        extra_body=extra_body,
    )
    parser = ResponsesEventParser(
        token_limit_set=body.get("max_output_tokens") is not None,
        stream_tool_arguments=stream_tool_arguments,
    )
    async with _open_stream(
        client,
        _RESPONSES,
        body,
        parser,
        idle_timeout=idle_timeout,
        first_byte_timeout=first_byte_timeout,
        max_retries=max_retries,
        headers=headers,
        max_event_size=max_event_size,
        telemetry=telemetry,
    ) as stream:
        yield stream


@dataclass(frozen=True)
class _Endpoint:
    """What differs between the two APIs' requests."""

    #: The path, relative to the client's base_url.
    path: str
    #: A non-streamed answer (a server that ignored ``stream: true``) as the same SSE body.
    replay_json: Callable[[bytes], bytes]


_CHAT = _Endpoint("chat/completions", completion_as_sse)
_RESPONSES = _Endpoint("responses", response_as_sse)


@asynccontextmanager
async def _open_stream(
    client: HTTPClient,
    endpoint: _Endpoint,
    body: dict[str, object],
    parser: EventParser,
    *,
    idle_timeout: float,
    first_byte_timeout: float | None,
    max_retries: int,
    headers: Mapping[str, str] | None,
    max_event_size: int,
    telemetry: StreamTelemetry | None,
) -> AsyncGenerator[ChatStream, None]:
    """Send the request (retrying before the first byte), check the body, run the shell."""
    library = library_of(client)
    check_stream_args(idle_timeout, max_event_size, first_byte_timeout)
    if max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, not {max_retries!r}")
    silence = _Silence(idle_timeout, first_byte_timeout)
    response = await _send_with_retries(
        client, library, endpoint.path, body, headers, max_retries, silence
    )
    try:
        source = await _body_source(response, library, silence, endpoint.replay_json)
        async with _run_stream(
            source,
            response=response,
            idle_timeout=idle_timeout,
            parser=parser,
            max_event_size=max_event_size,
            telemetry=telemetry,
            transport_errors=library.transport_errors,
            first_byte=silence.first_byte,
        ) as stream:
            yield stream
    finally:
        with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
            await response.aclose()


def _request_body(
    first: dict[str, object],
    *,
    tools: Sequence[Mapping[str, object]] | None,
    tool_choice: str | Mapping[str, object] | None,
    extra: Mapping[str, object],
    params: Mapping[str, object],
    extra_body: Mapping[str, object] | None,
) -> dict[str, object]:
    body = {**first, **extra}
    if tools is not None:
        body["tools"] = list(tools)
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    body.update(params)
    if extra_body:
        body.update(extra_body)
    return body


async def _send_with_retries(
    client: HTTPClient,
    library: ClientLibrary,
    path: str,
    body: dict[str, object],
    headers: Mapping[str, str] | None,
    max_retries: int,
    silence: _Silence,
) -> HTTPResponse:
    # idle_timeout governs reads of the body; the client's read timeout would race it.
    request_timeout = library.timeout_without_read(client.timeout)
    request_headers = {"Accept": "text/event-stream", **(headers or {})}
    content = json.dumps(body).encode()
    for attempt in range(max_retries + 1):
        request = client.build_request(
            "POST",
            path,
            content=content,
            headers={"Content-Type": "application/json", **request_headers},
            timeout=request_timeout,  # type: ignore[arg-type]  # the client's own library's
        )
        request.stream = library.request_body(content)  # type: ignore[assignment]  # its class
        logger.debug("POST %s (attempt %d)", request.url.copy_with(query=None), attempt + 1)
        silence.start()
        try:
            with trio.move_on_after(silence.remaining()) as waiting:
                response = await client.send(request, stream=True)  # type: ignore[arg-type]  # its own
        except library.transport_errors as exc:
            # Nothing reached the caller yet, so any transport failure is safe to retry: a
            # refused connection, or a pooled connection the server had already closed
            # ("Server disconnected without sending a response"), as openai-python does.
            if attempt == max_retries:
                what = "connect to" if isinstance(exc, library.connect_error) else "reach"
                raise StreamError(f"could not {what} the server: {exc!r:.300}") from exc
            await _sleep_before_retry(attempt, None, reason=type(exc).__name__)
            continue
        if waiting.cancelled_caught:
            silence.expired()  # no headers in time: not retried, the time budget is spent
        if response.status_code < 400:
            return response
        error = await _status_error(response, library)
        if response.status_code not in RETRY_STATUSES or attempt == max_retries:
            raise error
        retry_after = (
            error.retry_after if isinstance(error, RateLimitError) else _retry_after(response)
        )
        await _sleep_before_retry(attempt, retry_after, reason=f"HTTP {response.status_code}")
    raise AssertionError("unreachable")  # pragma: no cover


async def _sleep_before_retry(attempt: int, retry_after: float | None, *, reason: str) -> None:
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_DELAY:
        delay = retry_after
    else:
        delay = min(_INITIAL_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY)
        delay *= 1 - 0.25 * random.random()  # jitter, as openai-python does
    logger.debug("retrying after %s in %.2f s", reason, delay)
    await trio.sleep(delay)


async def _status_error(response: HTTPResponse, library: ClientLibrary) -> ChatSSEError:
    """Read (a bounded part of) an error response, close it, and build its exception."""
    try:
        raw = await _read_bounded(response.aiter_bytes(), _ERROR_BODY_LIMIT)
    except library.transport_errors:
        raw = b""
    finally:
        with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
            await response.aclose()
    text = raw.decode("utf-8", "replace")
    status = response.status_code
    error_object = _error_object(text)
    message = f"HTTP {status}"
    mapped: ChatSSEError | None = None
    if error_object is not None:
        mapped = error_from_object(error_object, status_code=status)
        message = f"HTTP {status}: {mapped.message}"
    elif text.strip() and "<html" not in text[:500].lower():
        message = f"HTTP {status}: {text.strip()[:300]}"
    header = next((h for h in REQUEST_ID_HEADERS if h in response.headers), None)
    details = {
        "status_code": status,
        "body": text,
        "error": error_object,
        "request_id": None if header is None else response.headers[header],
        "request_id_header": header,
    }
    code = error_object.get("code") if error_object else None
    code = code if isinstance(code, (str, int)) else None
    if status == 429:
        retry_after = _retry_after(response)
        return HTTPRateLimitError(message, retry_after=retry_after, code=code, **details)  # type: ignore[arg-type]  # the fields above
    if isinstance(mapped, ContextWindowExceeded):
        return HTTPContextWindowExceeded(message, code=code, **details)  # type: ignore[arg-type]  # the fields above
    if status == 404:
        # The usual cause: a base_url without its /v1. The path only: a query may hold a key.
        path = response.request.url.path
        message += "" if path in message else f" for {path}"
        message += " (is base_url right? it usually ends in /v1)"
    return HTTPStatusError(message, **details)  # type: ignore[arg-type]  # the fields above


def _error_object(text: str) -> dict[str, object] | None:
    """The error object of an error body: ``{"error": {...}}``, ``{"error": "..."}``, a list
    holding one (Gemini), or a bare ``{"message": ...}`` / ``{"detail": ...}``."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    if not isinstance(parsed, dict):
        return None
    error = parsed.get("error", parsed)
    if isinstance(error, str):
        return {"message": error}
    if isinstance(error, dict):
        if "message" not in error and isinstance(error.get("detail"), str):
            return {**error, "message": error["detail"]}
        return error
    return None


def _retry_after(response: HTTPResponse) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    millis = response.headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


async def _read_bounded(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(parts)[:limit]


async def _body_source(
    response: HTTPResponse,
    library: ClientLibrary,
    silence: _Silence,
    replay_json: Callable[[bytes], bytes],
) -> AsyncIterator[bytes]:
    """The body to decode, checked against what its ``Content-Type`` claims.

    An event stream is used as it is. Anything else is looked at first: one JSON answer
    (a server that ignored ``stream: true``) is replayed as the equivalent stream; an HTML
    page (a wrong ``base_url``, a proxy's login page) is a :class:`StreamError` right away;
    an event stream under another label (some servers say ``application/json``) is read as
    the stream it is.
    """
    chunks = library.body_chunks(response)
    content_type = response.headers.get("content-type", "").lower()
    if content_type.startswith("text/event-stream"):
        return chunks
    first = b""
    with trio.move_on_after(silence.remaining()) as scope:
        try:
            async for first in chunks:
                if first.strip():
                    break
        except library.transport_errors as exc:
            raise StreamError(f"the connection broke before the answer: {exc!r:.300}") from exc
    if scope.cancelled_caught:
        silence.expired()
    head = first.lstrip()[:1]
    if head in (b"{", b"[") and content_type.startswith("application/json"):
        try:
            rest = await _read_bounded(chunks, DEFAULT_MAX_EVENT_SIZE)
        except library.transport_errors as exc:
            raise StreamError(
                f"the connection broke while reading the answer: {exc!r:.300}"
            ) from exc
        return _replay(replay_json(first + rest))
    if head == b"<":
        raise StreamError(
            f"the server answered with {content_type or 'no content type'}, not an event "
            f"stream (is base_url right?): {first[:200].decode('utf-8', 'replace')!r}"
        )
    return _prepend(first, chunks)


class _Silence:
    """How long the request may wait for the server's first byte, attempt by attempt."""

    def __init__(self, idle_timeout: float, first_byte_timeout: float | None) -> None:
        self._idle_timeout = idle_timeout
        self._first_byte_timeout = first_byte_timeout
        #: The first-byte limit of the current attempt (``None`` unless one was set).
        self.first_byte: FirstByteLimit | None = None
        self._deadline = 0.0

    def start(self) -> None:
        """A request is being sent: its wait starts now."""
        self.first_byte = FirstByteLimit.starting_now(self._first_byte_timeout)
        wait = self._idle_timeout if self._first_byte_timeout is None else self._first_byte_timeout
        self._deadline = trio.current_time() + wait

    def remaining(self) -> float:
        return self._deadline - trio.current_time()

    def expired(self) -> NoReturn:
        if self.first_byte is not None:
            self.first_byte.expired()
        idle = self._idle_timeout
        raise IdleTimeoutError(
            f"no response from the server for {seconds(idle)}", idle_timeout=idle
        )


async def _prepend(first: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in chunks:
        yield chunk


async def _replay(body: bytes) -> AsyncIterator[bytes]:
    yield body
