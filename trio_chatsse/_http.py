"""Layer 4: the public openers. Each builds its API's request body and hands it to
``open_stream`` (``_open.py``), the one request path of every wire API.

The path, the headers, the parser, the tool shapes and the whole-answer form come from the
wire-API registry (``_apis.py``); one request's life (sending, retrying, resuming, the limiter,
the end) is the request object's (``_request.py``).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from ._apis import ParserOptions, WireAPISpec, wire_api
from ._arguments import message_list, split_system
from ._chat_stream import ChatStream
from ._keywords import check_keywords
from ._limiter import Limiter
from ._open import open_stream, output_fields, request_body
from ._options import StreamOptions
from ._request import Background
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._structured import OutputT
from ._telemetry import StreamTelemetry
from ._tool_calls import ToolCallsOnStop

if TYPE_CHECKING:
    from ._clients import AsyncClient

__all__ = [
    "open_chat_stream",
    "open_messages_stream",
    "open_responses_stream",
    "check_opener_keywords",
]

logger = logging.getLogger(__name__)


@asynccontextmanager
async def open_chat_stream(
    client: AsyncClient,
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
    limiter: Limiter | None = None,
    output_type: type[OutputT] | None = None,
    output_strict: bool = True,
    **params: object,
) -> AsyncGenerator[ChatStream[OutputT], None]:
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
            pooled connection the server had closed), of statuses 408, 409, 429 and 5xx, and of
            any failure before the first content (a dropped connection, an idle or first-byte
            timeout, an in-stream ``server_error`` or ``overloaded_error``: see the guide's
            "Retries"), with exponential backoff and jitter, honouring ``Retry-After``. A
            retry is invisible: no event of the failed attempt reaches you. After the first
            content, a failure is raised, never retried.
        tool_calls_on_stop: ``"emit"`` or ``"drop"``; see
            :class:`~trio_chatsse.sansio.ChatChunkParser`.
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
        telemetry: Called once per read of the body; see
            :class:`~trio_chatsse.telemetry.StreamTelemetry`.
        limiter: A :class:`~trio_chatsse.Limiter` shared with other streams: each attempt
            waits for its turn (streams in flight, requests and tokens per minute, the
            server's rate-limit headers and ``Retry-After``) and holds it until the stream
            ends; ``stream.stats.limiter_wait`` says how long it waited.
        output_type: A pydantic model class the answer must be JSON of (structured output):
            its JSON schema is sent as ``response_format``, the stream is a
            ``ChatStream[output_type]``, and :meth:`ChatStream.partial_output` and
            :meth:`ChatStream.final_output` give it typed (see the guide's "Structured
            output").
        output_strict: Send the schema in strict mode (``"strict": true``, rewritten to the
            strict subset: every property required, no extra keys). ``False`` sends
            pydantic's schema as it is, for servers that reject strict schemas.
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
    api = wire_api("chat")
    check_opener_keywords(open_chat_stream, api, params)
    output = output_fields(api, output_type, output_strict)
    body = request_body(
        api,
        {"model": model, "messages": message_list(messages), "stream": True},
        tools=tools,
        tool_choice=tool_choice,
        extra={"stream_options": {"include_usage": True}} if include_usage else {},
        params=params,
        extra_body=extra_body,
        output=output,
    )
    settings = StreamOptions(
        idle_timeout, first_byte_timeout, max_retries, headers, max_event_size, telemetry, limiter
    )
    options = ParserOptions(
        stream_tool_arguments=stream_tool_arguments, tool_calls_on_stop=tool_calls_on_stop
    )
    async with open_stream(client, api, body, options, settings, output) as stream:
        yield stream


@asynccontextmanager
async def open_responses_stream(
    client: AsyncClient,
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
    limiter: Limiter | None = None,
    background: bool = False,
    max_resumes: int = 5,
    cancel_on_exit: bool = True,
    output_type: type[OutputT] | None = None,
    output_strict: bool = True,
    **params: object,
) -> AsyncGenerator[ChatStream[OutputT], None]:
    """Stream one Responses API response as the same typed events.

    The Responses API counterpart of :func:`~trio_chatsse.open_chat_stream`, with the same
    reader task, bounded channel, idle timeout, retries before the first content, typed errors
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
        telemetry: Called once per read of the body; see
            :class:`~trio_chatsse.telemetry.StreamTelemetry`.
        limiter: As for :func:`~trio_chatsse.open_chat_stream`.
        background: Run the response in background mode (``"background": true, "store":
            true``): when the connection breaks or goes idle after the response id is known,
            the stream goes on from the last event read (``GET responses/{id}?stream=true&
            starting_after=N``), with no event twice and none missing; ``stream.cursor`` says
            where it stands, for :func:`~trio_chatsse.background.resume_responses_stream` after a
            restart. A server without background mode answers 400.
        max_resumes: How many times a background stream may be resumed (5).
        cancel_on_exit: Cancel a background response that you leave before its end (a
            ``break``, an exception, a cancellation): ``POST responses/{id}/cancel``, shielded
            and bounded in time. It would otherwise keep generating, and billing.
        output_type: As for :func:`~trio_chatsse.open_chat_stream`; the schema is sent as
            ``text.format`` (merged with a ``text`` you pass in ``params``).
        output_strict: As for :func:`~trio_chatsse.open_chat_stream`.
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
    first = {
        "model": model,
        "input": input if isinstance(input, str) else message_list(input, "input"),
    }
    api = wire_api("responses")
    check_opener_keywords(open_responses_stream, api, params)
    output = output_fields(api, output_type, output_strict)
    body = request_body(
        api,
        {**first, "stream": True},
        tools=tools,
        tool_choice=tool_choice,
        extra={} if instructions is None else {"instructions": instructions},
        params={**({"background": True, "store": True} if background else {}), **params},
        extra_body=extra_body,
        output=output,
    )
    settings = StreamOptions(
        idle_timeout, first_byte_timeout, max_retries, headers, max_event_size, telemetry, limiter
    )
    if max_resumes < 0:
        raise ValueError(f"max_resumes must be 0 or more, not {max_resumes!r}")
    options = ParserOptions(stream_tool_arguments=stream_tool_arguments, resumable=background)
    plan = Background(max_resumes, cancel_on_exit) if background else None
    async with open_stream(client, api, body, options, settings, output, plan) as stream:
        yield stream


@asynccontextmanager
async def open_messages_stream(
    client: AsyncClient,
    *,
    model: str,
    messages: Sequence[Mapping[str, object]],
    max_tokens: int,
    system: str | Sequence[Mapping[str, object]] | None = None,
    tools: Sequence[Mapping[str, object]] | None = None,
    tool_choice: str | Mapping[str, object] | None = None,
    thinking: Mapping[str, object] | None = None,
    idle_timeout: float = 300.0,
    first_byte_timeout: float | None = None,
    max_retries: int = 2,
    stream_tool_arguments: bool = False,
    extra_body: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    telemetry: StreamTelemetry | None = None,
    limiter: Limiter | None = None,
    output_type: type[OutputT] | None = None,
    output_strict: bool = True,
    **params: object,
) -> AsyncGenerator[ChatStream[OutputT], None]:
    """Stream one Anthropic Messages API response as the same typed events.

    The Messages API counterpart of :func:`~trio_chatsse.open_chat_stream`, with the same
    reader task, bounded channel, timeouts, retries before the first content, typed errors and
    cleanup on every exit. POSTs ``messages`` (relative to the client's ``base_url``, so
    ``https://api.anthropic.com/v1``) with ``stream: true``, and sends ``anthropic-version:
    2023-06-01`` unless the client or ``headers`` set one. Authentication (``x-api-key``)
    stays on the client. :meth:`ChatStream.assistant_message` gives the Messages form of the
    assistant turn, thinking blocks and their signatures included.

    Example::

        async with open_messages_stream(
            http, model="claude-sonnet-4-5", max_tokens=1024, messages=[...]
        ) as stream:
            async for event in stream:
                ...

    Args:
        client: An ``httpx.AsyncClient`` or an ``httpx2.AsyncClient``, as for
            :func:`~trio_chatsse.open_chat_stream`.
        model: The model name.
        messages: The conversation, as Messages API message objects. A ``system`` message
            (the Chat Completions habit) is sent as ``system``, which the API wants instead.
        max_tokens: The most tokens the model may write (the API requires it); a response
            cut there ends normally with ``finish_reason: "length"``.
        system: The system prompt: a string or a list of text blocks (with ``cache_control``).
        tools: Tool definitions: the Messages form (``name``, ``description``,
            ``input_schema``), or the Chat Completions or Responses form, which is converted.
        tool_choice: ``"auto"``, ``"any"``, ``"none"``, ``"required"`` (sent as ``any``), a
            tool's name, or a ``tool_choice`` object of any of the three APIs.
        thinking: The ``thinking`` of the request (``{"type": "enabled", "budget_tokens":
            N}``).
        idle_timeout: As for :func:`~trio_chatsse.open_chat_stream`.
        first_byte_timeout: As for :func:`~trio_chatsse.open_chat_stream`.
        max_retries: As for :func:`~trio_chatsse.open_chat_stream`; status 529 (overloaded)
            is retried like 503.
        stream_tool_arguments: Tool calls as they stream, as for
            :func:`~trio_chatsse.open_chat_stream` (never sent to the server).
        extra_body: More JSON fields for the request body; they win over everything else.
        headers: More headers for this request (``anthropic-beta``...).
        max_event_size: The largest line or event accepted, in bytes.
        telemetry: Called once per read of the body; see
            :class:`~trio_chatsse.telemetry.StreamTelemetry`.
        limiter: As for :func:`~trio_chatsse.open_chat_stream`.
        output_type: As for :func:`~trio_chatsse.open_chat_stream`; the schema is sent as
            ``output_config.format`` (the generally available form, no beta header).
        output_strict: As for :func:`~trio_chatsse.open_chat_stream` (the API has no strict
            flag; ``False`` sends pydantic's schema unchanged).
        **params: More request fields (``temperature``, ``stop_sequences``, ``metadata``...).

    Yields:
        The :class:`~trio_chatsse.ChatStream` to iterate.

    Raises:
        RateLimitError: HTTP 429, once the retries are spent.
        ContextWindowExceeded: An HTTP error whose body says the prompt is too long.
        HTTPStatusError: Any other 4xx or 5xx status.
        StreamError: As for :func:`~trio_chatsse.open_chat_stream`.
        IdleTimeoutError: As for :func:`~trio_chatsse.open_chat_stream`.
        ValueError: An argument no request can run with.
        TypeError: ``client`` is not a client of either library, or ``messages`` is not a
            list of message objects.
    """
    conversation, system = split_system(message_list(messages), system)
    body: dict[str, object] = {
        "model": model,
        "messages": conversation,
        "max_tokens": max_tokens,
        "stream": True,
    }
    if system is not None:
        body["system"] = system if isinstance(system, str) else list(system)
    if thinking is not None:
        body["thinking"] = dict(thinking)
    api = wire_api("messages")
    check_opener_keywords(open_messages_stream, api, params)
    output = output_fields(api, output_type, output_strict)
    body = request_body(
        api,
        body,
        tools=tools,
        tool_choice=tool_choice,
        extra={},
        params=params,
        extra_body=extra_body,
        output=output,
    )
    settings = StreamOptions(
        idle_timeout, first_byte_timeout, max_retries, headers, max_event_size, telemetry, limiter
    )
    options = ParserOptions(stream_tool_arguments=stream_tool_arguments)
    async with open_stream(client, api, body, options, settings, output) as stream:
        yield stream


def check_opener_keywords(
    opener: Callable[..., object], api: WireAPISpec, params: Mapping[str, object]
) -> None:
    """A typo of an option or of a documented field is a :class:`TypeError` (``_keywords``)."""
    if params:
        check_keywords(opener.__name__, params, _options_of(opener), api.request_fields)


@functools.cache
def _options_of(opener: Callable[..., object]) -> frozenset[str]:
    parameters = inspect.signature(opener).parameters
    return frozenset(name for name in parameters if name not in ("client", "params"))
