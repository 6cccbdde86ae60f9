"""Layer 4: one request's life, from the limiter's turn to the last close.

A :class:`Request` holds everything one request needs — the client, the wire API, the body, the
options, a background response's resume plan, the limiter's permit and the stream's stats — and
answers the two questions of the trio shell (:class:`~trio_chatsse._recovery.Attempts`): the
first attempt, and the next one after a failure at a position, with its kind explicit (the
request sent again before any content, or a background response resumed where it broke).

Its methods call down, the way httpx's client composes a send: :meth:`Request.first` and
:meth:`Request.next` → ``_post`` (the limiter's turn, retries before a response) or ``_open``
(a background response's ``GET``) → ``_exchange`` (one request: the first-byte budget,
transport errors, the status) → the client. One backoff policy serves retries and resumes, and
:meth:`Request.finish` ends it all in one place: the limiter settled, the response closed, a
background response left unfinished cancelled.

Background responses: a Responses request sent with ``"background": true, "store": true``
keeps generating on the server whether or not a client reads it, and its events stay
retrievable for a while: ``GET responses/{id}?stream=true&starting_after=N`` streams the events
after ``N``. So a cut or a silence after the response id is known goes on from there (the
parser skips what it already read and fails on a gap), and a consumer that leaves early cancels
the response (``POST responses/{id}/cancel``) so that it stops billing. Sources: OpenAI's
"Background mode" guide and API reference (platform.openai.com/docs/guides/background);
openai-python#2828 (a background response can be streamed again only for a limited time).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import trio

from ._body import body_source
from ._clients import library_of
from ._errors import HTTPStatusError, RateLimitError, ResumeError, StreamError
from ._limiter import PROMPT_FIELDS, estimate_tokens
from ._parsers import ParserState, ResponseCursor
from ._recovery import (
    Attempt,
    AttemptKind,
    resumable_after_content,
    retryable_before_content,
)
from ._status import retry_after_of, status_error
from ._telemetry import StreamStats
from ._timeouts import CLOSE_TIMEOUT, ResponseWait

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ._apis import ParserOptions, WireAPISpec
    from ._chat_stream import ChatStream
    from ._clients import AsyncClient, HTTPClient, HTTPResponse
    from ._limiter import Permit
    from ._options import StreamOptions
    from ._parsers import EventParser

__all__ = ["MAX_RETRY_DELAY", "RETRY_STATUSES", "Background", "Request", "backoff_delay"]

logger = logging.getLogger(__name__)

#: 529 is Anthropic's "overloaded", which it asks clients to treat as 503.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
#: Longest wait between two attempts, in seconds, whatever ``Retry-After`` says.
MAX_RETRY_DELAY = 60.0
_INITIAL_RETRY_DELAY = 0.5
#: Statuses of a resume that mean "this response can no longer be streamed".
_GONE_STATUSES = frozenset({400, 404, 409, 410})


class Background(NamedTuple):
    """A background Responses request's plan: how often it may resume, and whether leaving it
    early cancels it on the server."""

    max_resumes: int
    cancel_on_exit: bool


@dataclass(frozen=True)
class _Refusal:
    """An exchange that gave no response to read: why, and whether sending again may help."""

    error: Exception
    retry_after: float | None = None
    response: HTTPResponse | None = None

    @property
    def status(self) -> int | None:
        return None if self.response is None else self.response.status_code


class Request:
    """One request's life: its attempts, its retries and resumes, its limiter turn, its end.

    Args:
        client: The client of either HTTP library.
        api: The wire API's registry entry.
        body: The JSON body POSTed, or ``None`` for a background response's stream that is
            only resumed (``resume_from``).
        parser_options: What the parsers are told.
        options: The shared stream options.
        background: The plan of a background Responses request.
        resume_from: Open the stream with ``GET responses/{id}`` from this cursor instead of
            POSTing ``body``.

    Raises:
        TypeError: ``client`` is not a client of either library.
    """

    def __init__(
        self,
        client: AsyncClient,
        api: WireAPISpec,
        body: dict[str, object] | None,
        parser_options: ParserOptions,
        options: StreamOptions,
        *,
        background: Background | None = None,
        resume_from: ResponseCursor | None = None,
    ) -> None:
        library = self._library = library_of(client)
        if not client.base_url.scheme:
            raise ValueError(
                "the client has no base_url: make it with one, as in "
                'httpx.AsyncClient(base_url="https://api.openai.com/v1")'
            )
        self._client: HTTPClient = client  # type: ignore[assignment]  # library_of checked it
        self._api, self._options = api, options
        self._path = api.path
        if api.model_in_path and body is not None:
            body = dict(body)
            self._path = api.path.format(model=body.pop("model", ""))
        self._content = None if body is None else json.dumps(body).encode()
        # idle_timeout governs reads of the body; the client's read timeout would race it.
        self._timeout = library.timeout_without_read(client.timeout)
        defaults = {k: v for k, v in api.default_headers.items() if k not in client.headers}
        accept = {"Accept": api.stream_content_type}
        self._headers = {**accept, **defaults, **(options.headers or {})}
        self._post_headers = {
            **accept,
            "Content-Type": "application/json",
            **defaults,
            **(options.headers or {}),
        }
        if resume_from is not None:
            parser_options = dataclasses.replace(parser_options, resume_from=resume_from)
        self._parser_options = parser_options
        self._wait = ResponseWait(options.idle_timeout, options.first_byte_timeout)
        self._background = background
        self._resume_from = resume_from
        #: The last position a parser reported, for cancelling a response left early.
        self._position = resume_from
        self._limiter = options.limiter
        self._estimate = 0
        if self._limiter is not None and body is not None:
            prompt = json.dumps([body.get(key) for key in PROMPT_FIELDS], separators=(",", ":"))
            self._estimate = estimate_tokens(body, len(prompt))
        self._permit: Permit | None = None
        self._response: HTTPResponse | None = None
        self._resumes = 0
        #: Exceptions of the body's source that mean "the transport broke".
        self.transport_errors: tuple[type[BaseException], ...] = library.transport_errors
        #: The stream's counts: retries, resumes and the limiter's wait are counted here, the
        #: reads by the shell.
        self.stats = StreamStats()
        #: Whether a failure of the stream may be followed by another attempt.
        self.may_try_again = bool(options.max_retries) or background is not None

    # -- the shell's questions ------------------------------------------------------------

    async def first(self) -> Attempt:
        """Send the request (retrying what may be retried) and return its body to read."""
        if self._resume_from is not None:
            response = await self._open(self._resume_from)
            source = self._library.body_chunks(response)
        else:
            try:
                response = await self._post()
            except HTTPStatusError as error:
                if self._background is not None and error.status_code == 400:
                    error.add_note(
                        "background=True sends background and store; a server without "
                        "background mode answers 400 to them"
                    )
                raise
            source = await self._body_of(response)
        parser = self._api.new_parser(self._parser_options)
        return Attempt(AttemptKind.FIRST, source, parser, response, self._wait.first_byte)

    async def next(
        self, error: BaseException, parser: EventParser, content_seen: bool
    ) -> Attempt | None:
        """After ``error``: resume a background response where ``parser`` stands; else,
        before any content, send the request again; else ``None``."""
        position = parser.position
        if position is not None:
            self._position = position
        if (
            self._background is not None
            and position is not None
            and parser.state is ParserState.STREAMING  # not failed on its own (a gap)
            and resumable_after_content(error)
        ):
            return await self._resume(error, parser, position)
        if content_seen or self._content is None or not retryable_before_content(error):
            return None
        if self.stats.retries >= self._options.max_retries:
            return None
        await self._close_response()
        await self._settle(None)
        await self._back_off(None, f"{type(error).__name__} before any content")
        response = await self._post()
        source = await self._body_of(response)
        parser = self._api.new_parser(self._parser_options)
        return Attempt(AttemptKind.RETRY, source, parser, response, self._wait.first_byte)

    async def finish(self, stream: ChatStream[Any] | None) -> None:
        """The stream ended (``stream`` is ``None`` when it never began): settle the limiter
        with the tokens used, close the response, and cancel a background response left
        before its end. Each step is shielded and bounded in time."""
        completed = None if stream is None else stream.completed
        usage = None if completed is None else completed.token_usage
        await self._settle(None if usage is None else usage.total_tokens or None)
        await self._close_response()
        background = self._background
        if background is None or not background.cancel_on_exit or stream is None:
            return
        if completed is None:
            cursor = stream.cursor or self._position
            if cursor is not None:
                await self._cancel(cursor.response_id)

    # -- the attempts -----------------------------------------------------------------------

    async def _post(self) -> HTTPResponse:
        """POST the body, retrying transport failures and retried statuses; the response."""
        while True:
            if self._limiter is not None and self._permit is None:
                self._permit = await self._limiter.acquire(self._estimate)
                self.stats.limiter_wait += self._permit.waited
            outcome = await self._exchange("POST", self._path)
            if not isinstance(outcome, _Refusal):
                await self._observe(outcome, None)
                return outcome
            if outcome.response is not None:
                retried = outcome.status in (429, 503)
                await self._observe(outcome.response, outcome.retry_after if retried else None)
            await self._settle(0)  # no answer to stream: the permit goes back, its tokens unused
            status = outcome.status
            if status is not None and status not in RETRY_STATUSES:
                raise outcome.error
            if self.stats.retries >= self._options.max_retries:
                raise outcome.error
            reason = type(outcome.error).__name__ if status is None else f"HTTP {status}"
            await self._back_off(outcome.retry_after, reason)

    async def _resume(
        self, error: BaseException, parser: EventParser, position: ResponseCursor
    ) -> Attempt:
        """Go on with a background response's stream after the last event ``parser`` read."""
        assert self._background is not None
        if self._resumes >= self._background.max_resumes:
            raise ResumeError(
                f"the stream of background response {position.response_id} broke again "
                f"after {self._resumes} resumes (max_resumes): {error}",
                response_id=position.response_id,
                starting_after=position.sequence_number,
            ) from error
        await self._close_response()
        # The first resume goes at once: a cut is usually the network, not the server.
        if self._resumes:
            await trio.sleep(backoff_delay(self._resumes - 1, None))
        self._resumes += 1
        self.stats.resumes += 1
        logger.debug("resuming %s after event %s", *position)
        response = await self._open(position)
        source = self._library.body_chunks(response)
        return Attempt(AttemptKind.RESUME, source, parser, response, self._wait.first_byte)

    async def _open(self, cursor: ResponseCursor) -> HTTPResponse:
        """``GET responses/{id}?stream=true[&starting_after=N]``, its status checked.

        Raises:
            ResumeError: The server no longer streams the response.
            HTTPStatusError: Any other error status.
            StreamError: The server could not be reached.
        """
        response_id, starting_after = cursor
        params = {"stream": "true"}
        if starting_after is not None:
            params["starting_after"] = str(starting_after)
        outcome = await self._exchange("GET", f"responses/{response_id}", params)
        if not isinstance(outcome, _Refusal):
            return outcome
        error = outcome.error
        if isinstance(error, HTTPStatusError) and outcome.status in _GONE_STATUSES:
            raise ResumeError(
                f"the background response {response_id} can no longer be streamed "
                f"({error.message}); fetch it whole with GET responses/{response_id}",
                response_id=response_id,
                starting_after=starting_after,
            ) from error
        raise error

    async def _exchange(
        self, method: str, url: str, params: dict[str, str] | None = None
    ) -> HTTPResponse | _Refusal:
        """Send one request and wait for its response under the first-byte budget: the
        response when its status is good, else why there is none."""
        library = self._library
        content = self._content if method == "POST" else None
        request = self._client.build_request(
            method,
            url,
            params=params,
            content=content,
            headers=self._headers if content is None else self._post_headers,
            timeout=self._timeout,  # type: ignore[arg-type]  # the client's own library's
        )
        if content is not None:
            request.stream = library.request_body(content)  # type: ignore[assignment]  # its class
        logger.debug("%s %s (try %d)", method, request.url.copy_with(query=None), self._tries)
        self._wait.start()
        try:
            with trio.move_on_after(self._wait.remaining()) as waiting:
                response = await self._client.send(request, stream=True)  # type: ignore[arg-type]  # its own
        except library.transport_errors as exc:
            # Nothing reached the caller yet, so any transport failure is safe to retry: a
            # refused connection, or a pooled connection the server had already closed
            # ("Server disconnected without sending a response"), as openai-python does.
            what = "connect to" if isinstance(exc, library.connect_error) else "reach"
            purpose = " to resume" if method == "GET" else ""
            target = request.url
            where = f"{target.host}:{target.port or (443 if target.scheme == 'https' else 80)}"
            failure = StreamError(
                f"could not {what} the server at {where}{purpose}: {type(exc).__name__}"
                f"{f' ({exc})' if str(exc) else ''}"[:400]
            )
            failure.__cause__ = exc
            return _Refusal(failure)
        if waiting.cancelled_caught:  # no headers in time
            return _Refusal(self._wait.error())
        if response.status_code < 400:
            self._response = response
            return response
        error = await status_error(response, library)
        retry_after = (
            error.retry_after if isinstance(error, RateLimitError) else retry_after_of(response)
        )
        return _Refusal(error, retry_after, response)

    async def _body_of(self, response: HTTPResponse) -> AsyncIterator[bytes]:
        return await body_source(response, self._library, self._wait, self._api)

    @property
    def _tries(self) -> int:
        return self.stats.retries + self.stats.resumes + 1

    async def _back_off(self, retry_after: float | None, reason: str) -> None:
        delay = backoff_delay(self.stats.retries, retry_after)
        logger.debug("retrying after %s in %.2f s", reason, delay)
        await trio.sleep(delay)
        self.stats.retries += 1

    # -- the end ----------------------------------------------------------------------------

    async def _observe(self, response: HTTPResponse, retry_after: float | None) -> None:
        if self._limiter is not None and self._permit is not None:
            await self._limiter.hear(self._permit, response.headers, retry_after)

    async def _settle(self, used_tokens: int | None) -> None:
        """Give the limiter its permit back (``used_tokens`` ``None``: the estimate stands)."""
        permit, self._permit = self._permit, None
        if permit is not None and self._limiter is not None:
            await self._limiter.settle(permit, used_tokens)

    async def _close_response(self) -> None:
        """Close the current response (shielded, bounded in time)."""
        response, self._response = self._response, None
        if response is not None:
            with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
                await response.aclose()

    async def _cancel(self, response_id: str) -> None:
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


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before attempt number ``attempt + 1`` of the same kind: the server's
    ``Retry-After`` when it gave a sane one, else exponential backoff with jitter."""
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_DELAY:
        return retry_after
    delay: float = min(_INITIAL_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * random.random())  # jitter, as openai-python does
