"""``resume_responses_stream``: go on with a background Responses stream from a saved cursor.

The request object (``_request.py``) does the work, as it does for a background stream that
breaks: here its first attempt is the resume itself.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from ._apis import ParserOptions, wire_api
from ._chat_stream import ChatStream
from ._options import StreamOptions
from ._parsers import ResponseCursor
from ._request import Background, Request
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._stream import require_trio, run_stream
from ._telemetry import StreamTelemetry

if TYPE_CHECKING:
    from ._clients import AsyncClient
__all__ = ["resume_responses_stream"]


@asynccontextmanager
async def resume_responses_stream(
    client: AsyncClient,
    response_id: str,
    *,
    starting_after: int | None = None,
    idle_timeout: float = 300.0,
    first_byte_timeout: float | None = None,
    max_resumes: int = 5,
    stream_tool_arguments: bool = False,
    cancel_on_exit: bool = True,
    headers: Mapping[str, str] | None = None,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    telemetry: StreamTelemetry | None = None,
) -> AsyncGenerator[ChatStream, None]:
    """Go on with a background response's stream: after a restart, from a saved cursor.

    Opens ``GET responses/{response_id}?stream=true[&starting_after=N]`` and yields the same
    events as :func:`~trio_chatsse.open_responses_stream`, from the event after ``N``: when it
    starts inside an item, that item's remaining deltas (after an
    :class:`~trio_chatsse.OutputItemAdded`) and its done item, which is the truth; items done
    before ``N`` are not sent again. It resumes again after a cut, as a background stream does.

    Example::

        cursor = stream.cursor  # saved before the restart
        async with resume_responses_stream(
            http, cursor.response_id, starting_after=cursor.sequence_number
        ) as stream:
            async for event in stream:
                ...

    Args:
        client: An ``httpx.AsyncClient`` or an ``httpx2.AsyncClient``.
        response_id: The background response's id (``stream.cursor.response_id``).
        starting_after: The ``sequence_number`` of the last event read
            (``stream.cursor.sequence_number``); ``None`` streams it from the start.
        idle_timeout: As for :func:`~trio_chatsse.open_chat_stream`.
        first_byte_timeout: As for :func:`~trio_chatsse.open_chat_stream`.
        max_resumes: How many times a cut may be resumed.
        stream_tool_arguments: As for :func:`~trio_chatsse.open_responses_stream`.
        cancel_on_exit: Cancel the response when you leave before its end.
        headers: More headers for the requests.
        max_event_size: The largest line or event accepted, in bytes.
        telemetry: Called once per read of the body; see
            :class:`~trio_chatsse.telemetry.StreamTelemetry`.

    Yields:
        The :class:`~trio_chatsse.ChatStream` to iterate.

    Raises:
        ResumeError: The server no longer streams the response (it answered 404, or that it
            can no longer be streamed); it may still be fetched whole.
        HTTPStatusError: Any other error status.
        ValueError: An argument no stream can run with.
        TypeError: ``client`` is not a client of either library.
    """
    require_trio("resume_responses_stream")
    options = StreamOptions(
        idle_timeout,
        first_byte_timeout,
        max_retries=0,
        headers=headers,
        max_event_size=max_event_size,
        telemetry=telemetry,
    )
    if max_resumes < 0:
        raise ValueError(f"max_resumes must be 0 or more, not {max_resumes!r}")
    api = wire_api("responses")
    request = Request(
        client,
        api,
        None,
        ParserOptions(stream_tool_arguments=stream_tool_arguments, resumable=True),
        options,
        background=Background(max_resumes, cancel_on_exit),
        resume_from=ResponseCursor(response_id, starting_after),
    )
    stream: ChatStream | None = None
    try:
        async with run_stream(
            request,
            api=api,
            idle_timeout=idle_timeout,
            max_event_size=max_event_size,
            telemetry=telemetry,
        ) as stream:
            yield stream
    finally:
        await request.finish(stream)  # noqa: ASYNC102  # shielded, with a timeout, inside
