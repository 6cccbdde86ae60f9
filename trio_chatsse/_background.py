"""Background Responses streams: resume one after a cut, and cancel one left early.

A Responses request sent with ``"background": true, "store": true`` keeps generating on the
server whether or not a client reads it, and its events stay retrievable for a while:
``GET responses/{id}?stream=true&starting_after=N`` streams the events after ``N``. So when the
connection breaks or goes idle after the response id is known, the stream goes on from there,
de-duplicated by ``sequence_number`` (the parser skips what it already read and fails on a gap),
and a consumer that leaves early cancels the response (``POST responses/{id}/cancel``) so that
it stops billing. Sources: OpenAI's "Background mode" guide and API reference
(platform.openai.com/docs/guides/background); openai-python#2828 (a background response can be
streamed again only for a limited time).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio

from ._apis import wire_api
from ._chat_stream import ChatStream
from ._clients import library_of
from ._errors import EventTooLargeError, IdleTimeoutError, ResumeError, StreamError
from ._parsers import ParserState
from ._recovery import Attempt
from ._responses import ResponsesEventParser
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._status import status_error
from ._stream import require_trio, run_stream
from ._telemetry import StreamTelemetry
from ._timeouts import CLOSE_TIMEOUT, ResponseWait, check_stream_args

if TYPE_CHECKING:
    import httpx  # noqa: ASYNC127  # for the type of a client passed in, never imported
    import httpx2

    from ._clients import ClientLibrary, HTTPClient, HTTPResponse
    from ._parsers import EventParser

__all__ = ["Resumer", "resume_responses_stream"]

logger = logging.getLogger(__name__)


class Resumer:
    """Opens, resumes and cancels the stream of one background response."""

    def __init__(
        self,
        client: HTTPClient,
        library: ClientLibrary,
        headers: Mapping[str, str],
        wait: ResponseWait,
        max_resumes: int,
    ) -> None:
        self._client, self._library = client, library
        self._headers = {"Accept": "text/event-stream", **headers}
        self._timeout = library.timeout_without_read(client.timeout)
        self._wait = wait
        self._max_resumes = max_resumes
        #: Resumes made so far.
        self.resumes = 0
        self._response: HTTPResponse | None = None

    async def open(self, response_id: str, starting_after: int | None) -> HTTPResponse:
        """``GET responses/{id}?stream=true[&starting_after=N]``, its status checked.

        Raises:
            ResumeError: The server no longer streams the response (404, or a 4xx saying so).
            HTTPStatusError: Any other error status.
        """
        params = {"stream": "true"}
        if starting_after is not None:
            params["starting_after"] = str(starting_after)
        request = self._client.build_request(
            "GET",
            f"responses/{response_id}",
            params=params,
            headers=self._headers,
            timeout=self._timeout,  # type: ignore[arg-type]  # the client's own library's
        )
        self._wait.start()
        try:
            with trio.move_on_after(self._wait.remaining()) as waiting:
                response = await self._client.send(request, stream=True)  # type: ignore[arg-type]  # its own
        except self._library.transport_errors as exc:
            raise StreamError(f"could not reach the server to resume: {exc!r:.300}") from exc
        if waiting.cancelled_caught:
            self._wait.expired()
        if response.status_code >= 400:
            error = await status_error(response, self._library)
            if response.status_code in (404, 400, 409, 410):
                raise ResumeError(
                    f"the background response {response_id} can no longer be streamed "
                    f"({error.message}); fetch it whole with GET responses/{response_id}",
                    response_id=response_id,
                    starting_after=starting_after,
                ) from error
            raise error
        self._response = response
        return response

    async def restart(
        self, error: BaseException, parser: EventParser, content_seen: bool
    ) -> Attempt | None:
        """Resume after a cut or a silence, once the response id is known; ``None`` for an
        error that a resume would not mend (an in-stream error, an over-large event)."""
        if not isinstance(parser, ResponsesEventParser) or not parser.response_id:
            return None
        if parser.state is not ParserState.STREAMING:  # it failed on its own (a gap)
            return None
        if isinstance(error, EventTooLargeError) or not isinstance(
            error, StreamError | IdleTimeoutError
        ):
            return None
        response_id, starting_after = parser.response_id, parser.sequence_number
        if self.resumes >= self._max_resumes:
            raise ResumeError(
                f"the stream of background response {response_id} broke again after "
                f"{self.resumes} resumes (max_resumes): {error}",
                response_id=response_id,
                starting_after=starting_after,
            ) from error
        await self.close()
        # The first resume goes at once (a cut is usually the network, not the server).
        await trio.sleep(0 if not self.resumes else min(0.25 * 2 ** (self.resumes - 1), 8.0))
        self.resumes += 1
        logger.debug("resuming %s after event %s", response_id, starting_after)
        response = await self.open(response_id, starting_after)
        return Attempt(self._library.body_chunks(response), parser, response, self._wait.first_byte)

    async def cancel(self, response_id: str) -> None:
        """``POST responses/{id}/cancel``: shielded, bounded in time, never raising."""
        with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
            try:
                response = await self._client.post(
                    f"responses/{response_id}/cancel",
                    headers=self._headers,
                    timeout=self._timeout,  # type: ignore[arg-type]  # the client's own library's
                )
            except Exception as exc:  # the consumer's own outcome matters more
                logger.warning("could not cancel background response %s: %r", response_id, exc)
                return
            status = response.status_code
            logger.debug("cancelled background response %s: HTTP %s", response_id, status)

    async def close(self) -> None:
        """Close the current resumed response (shielded, bounded in time)."""
        response, self._response = self._response, None
        if response is not None:
            with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
                await response.aclose()


@asynccontextmanager
async def resume_responses_stream(
    client: httpx.AsyncClient | httpx2.AsyncClient,
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
        telemetry: Called once per read of the body; see :class:`~trio_chatsse.StreamTelemetry`.

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
    library = library_of(client)
    check_stream_args(idle_timeout, max_event_size, first_byte_timeout)
    if max_resumes < 0:
        raise ValueError(f"max_resumes must be 0 or more, not {max_resumes!r}")
    wait = ResponseWait(idle_timeout, first_byte_timeout)
    resumer = Resumer(client, library, headers or {}, wait, max_resumes)
    parser = ResponsesEventParser(
        stream_tool_arguments=stream_tool_arguments,
        resumable=True,
        starting_after=starting_after,
        response_id=response_id,
    )
    stream: ChatStream | None = None
    try:
        response = await resumer.open(response_id, starting_after)
        async with run_stream(
            library.body_chunks(response),
            response=response,
            idle_timeout=idle_timeout,
            api=wire_api("responses"),
            parser=parser,
            max_event_size=max_event_size,
            telemetry=telemetry,
            transport_errors=library.transport_errors,
            first_byte=wait.first_byte,
            restart=resumer.restart,
        ) as stream:
            yield stream
    finally:
        # Each of these shields itself, with a timeout (CLOSE_TIMEOUT).
        await resumer.close()  # noqa: ASYNC102
        if cancel_on_exit and stream is not None and stream.completed is None:
            await resumer.cancel(response_id)  # noqa: ASYNC102
