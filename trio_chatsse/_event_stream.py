"""``open_event_stream``: the trio shell over a body you already have, without a request.

A one-shot :class:`~trio_chatsse._recovery.Attempts` hands the shell the body once and never
another attempt; the parser comes from the wire-API registry, as for the HTTP openers.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from ._apis import ParserOptions, WireAPI, wire_api
from ._parsers import EventParser
from ._recovery import Attempt, AttemptKind
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._stream import require_trio, run_stream
from ._structured import OutputT, output_spec
from ._telemetry import StreamStats, StreamTelemetry
from ._timeouts import FirstByteDeadline, check_stream_args
from ._tool_calls import ToolCallsOnStop

if TYPE_CHECKING:
    from ._chat_stream import ChatStream

__all__ = ["open_event_stream"]


class _OneBody:
    """The attempts of a body that is given: that one, and no other."""

    transport_errors: tuple[type[BaseException], ...] = ()
    may_try_again = False

    def __init__(
        self, source: AsyncIterable[bytes], parser: EventParser, first_byte_timeout: float | None
    ) -> None:
        self._source, self._parser = source, parser
        self._first_byte_timeout = first_byte_timeout
        self.stats = StreamStats()

    async def first(self) -> Attempt:
        first_byte = FirstByteDeadline.starting_now(self._first_byte_timeout)
        return Attempt(AttemptKind.FIRST, self._source, self._parser, None, first_byte)

    async def next(
        self, error: BaseException, parser: EventParser, content_seen: bool
    ) -> Attempt | None:
        return None


@asynccontextmanager
async def open_event_stream(
    byte_chunks: AsyncIterable[bytes],
    *,
    api: WireAPI = "chat",
    idle_timeout: float = 300.0,
    first_byte_timeout: float | None = None,
    tool_calls_on_stop: ToolCallsOnStop = "emit",
    token_limit_set: bool = False,
    stream_tool_arguments: bool = False,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    telemetry: StreamTelemetry | None = None,
    output_type: type[OutputT] | None = None,
    choices: int = 1,
) -> AsyncGenerator[ChatStream[OutputT], None]:
    """Run the event stream over any source of body bytes.

    This is :func:`~trio_chatsse.open_chat_stream` without the HTTP request: use it with
    your own transport, or to replay a recorded body. The source is read by a reader task
    (closed with ``aclose()`` on exit when it has one); on every exit of the block, normal,
    by exception or by cancellation, the reader is cancelled and awaited and both ends of
    the event channel are closed.

    Args:
        byte_chunks: The body of a ``text/event-stream`` response, chunk by chunk.
        api: Which stream the body is: ``"chat"`` (Chat Completions chunks, the default),
            ``"responses"`` (Responses API events) or ``"messages"`` (Anthropic Messages API
            events).
        idle_timeout: Seconds without a byte (a keep-alive comment counts) before the
            stream fails with :class:`~trio_chatsse.IdleTimeoutError`.
        first_byte_timeout: Seconds the first byte may take, counted from the start of the
            stream, before :class:`~trio_chatsse.FirstByteTimeoutError`; ``None`` (the
            default) gives the first byte ``idle_timeout`` like any other.
        tool_calls_on_stop: ``"emit"`` passes complete tool calls on when the server ends
            with ``finish_reason: "stop"``; ``"drop"`` drops them, as the reference does.
        token_limit_set: Whether the request set ``max_tokens`` (``max_output_tokens`` for
            the Responses API); then a ``length`` finish ends the stream normally instead of
            raising :class:`~trio_chatsse.ContextWindowExceeded`.
        stream_tool_arguments: Tool calls as they stream: see
            :func:`~trio_chatsse.open_chat_stream`.
        max_event_size: The largest line or event accepted, in bytes.
        telemetry: Called once per read of the body; see
            :class:`~trio_chatsse.telemetry.StreamTelemetry`.
        output_type: A pydantic model class the answer's text is JSON of, for
            :meth:`ChatStream.partial_output` and :meth:`ChatStream.final_output` (a recorded
            structured-output stream).
        choices: The request's ``n``, for a Chat Completions body with several choices:
            each is then read as an answer of its own (see
            :meth:`ChatStream.output_of`); with 1 (the default) only choice 0 is read.

    Yields:
        The :class:`~trio_chatsse.ChatStream` to iterate.

    Raises:
        ValueError: ``idle_timeout`` or ``max_event_size`` is not positive, or ``api`` is
            not one of the wire APIs (``"chat"``, ``"responses"``, ``"messages"``).
        TypeError: ``output_type`` is not a pydantic model class.
    """
    require_trio("open_event_stream")
    check_stream_args(idle_timeout, max_event_size, first_byte_timeout)
    output = None if output_type is None else output_spec(output_type, strict=False)
    spec = wire_api(api)
    parser = spec.new_parser(
        ParserOptions(
            token_limit_set=token_limit_set,
            stream_tool_arguments=stream_tool_arguments,
            tool_calls_on_stop=tool_calls_on_stop,
            choices=choices,
        )
    )
    async with run_stream(
        _OneBody(byte_chunks, parser, first_byte_timeout),
        api=spec,
        idle_timeout=idle_timeout,
        max_event_size=max_event_size,
        telemetry=telemetry,
        output=output,
    ) as stream:
        yield stream
