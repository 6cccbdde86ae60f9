"""Sending one request, and again within ``max_retries``: one budget and one backoff for the
failures before a response (transport, retried statuses) and, through :meth:`Sender.restart`,
the failures before the first content that the trio shell notices (``_recovery.py``)."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING

import trio

from ._body import body_source
from ._errors import RateLimitError, StreamError
from ._limiter import PROMPT_FIELDS, Limiter, Permit, estimate_tokens
from ._recovery import Attempt, retryable_before_content
from ._status import retry_after_of, status_error
from ._timeouts import CLOSE_TIMEOUT, ResponseWait

if TYPE_CHECKING:
    from ._apis import ParserOptions, WireAPISpec
    from ._background import Resumer
    from ._clients import ClientLibrary, HTTPClient, HTTPResponse
    from ._models import TokenUsage
    from ._parsers import EventParser

__all__ = ["MAX_RETRY_DELAY", "RETRY_STATUSES", "Sender"]

logger = logging.getLogger(__name__)

#: 529 is Anthropic's "overloaded", which it asks clients to treat as 503.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
#: Longest wait between two attempts, in seconds, whatever ``Retry-After`` says.
MAX_RETRY_DELAY = 60.0
_INITIAL_RETRY_DELAY = 0.5


class Sender:
    """Sends one request, and again within ``max_retries``: before a response (transport
    failures, retried statuses) and, through :meth:`restart`, after a failure before the first
    content. One budget of retries and one backoff for both."""

    def __init__(
        self,
        client: HTTPClient,
        library: ClientLibrary,
        api: WireAPISpec,
        body: dict[str, object],
        headers: Mapping[str, str],
        max_retries: int,
        wait: ResponseWait,
        options: ParserOptions,
    ) -> None:
        self._client, self._library, self._api = client, library, api
        self._content = json.dumps(body).encode()
        # idle_timeout governs reads of the body; the client's read timeout would race it.
        self._timeout = library.timeout_without_read(client.timeout)
        self._headers = {
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
            **headers,
        }
        self._max_retries = max_retries
        self._wait = wait
        self._options = options
        #: The shared limiter, the request's estimated tokens, and the permit it holds.
        self.limiter: Limiter | None = None
        self._estimate = 0
        self.permit: Permit | None = None
        #: Retries made so far.
        self.retries = 0
        #: Seconds spent waiting for the limiter's turns.
        self.limiter_wait = 0.0
        #: Resumes a background response's stream, when the request made one.
        self.resumer: Resumer | None = None
        self._response: HTTPResponse | None = None

    def share_limits(self, limiter: Limiter, body: Mapping[str, object]) -> None:
        """Wait for ``limiter`` before each attempt, this request counted as ``body`` says."""
        self.limiter = limiter
        prompt = json.dumps([body.get(key) for key in PROMPT_FIELDS], separators=(",", ":"))
        self._estimate = estimate_tokens(body, len(prompt))

    def finish(self, usage: TokenUsage | None) -> None:
        """The stream ended: give the permit back with the tokens the usage reports."""
        permit, self.permit = self.permit, None
        if permit is not None and self.limiter is not None:
            self.limiter.release(permit, None if usage is None else usage.total_tokens or None)

    async def send(self) -> HTTPResponse:
        """Send the request, retrying what may be retried; the response with a good status."""
        library, wait = self._library, self._wait
        while True:
            if self.limiter is not None and self.permit is None:
                self.permit = await self.limiter.acquire(self._estimate)
                self.limiter_wait += self.permit.waited
            request = self._client.build_request(
                "POST",
                self._api.path,
                content=self._content,
                headers=self._headers,
                timeout=self._timeout,  # type: ignore[arg-type]  # the client's own library's
            )
            request.stream = library.request_body(self._content)  # type: ignore[assignment]  # its class
            logger.debug("POST %s (try %d)", request.url.copy_with(query=None), self.retries + 1)
            wait.start()
            try:
                with trio.move_on_after(wait.remaining()) as waiting:
                    response = await self._client.send(request, stream=True)  # type: ignore[arg-type]  # its own
            except library.transport_errors as exc:
                # Nothing reached the caller yet, so any transport failure is safe to retry: a
                # refused connection, or a pooled connection the server had already closed
                # ("Server disconnected without sending a response"), as openai-python does.
                self._give_back()
                if self.retries == self._max_retries:
                    what = "connect to" if isinstance(exc, library.connect_error) else "reach"
                    raise StreamError(f"could not {what} the server: {exc!r:.300}") from exc
                await self._back_off(None, type(exc).__name__)
                continue
            if waiting.cancelled_caught:  # no headers in time
                self._give_back()
                if self.retries == self._max_retries:
                    wait.expired()
                await self._back_off(None, "no response in time")
                continue
            if response.status_code < 400:
                self._observe(response, None)
                self._response = response
                return response
            error = await status_error(response, library)
            retry_after = (
                error.retry_after if isinstance(error, RateLimitError) else retry_after_of(response)
            )
            self._observe(response, retry_after if response.status_code in (429, 503) else None)
            self._give_back()
            if response.status_code not in RETRY_STATUSES or self.retries == self._max_retries:
                raise error
            await self._back_off(retry_after, f"HTTP {response.status_code}")

    def _observe(self, response: HTTPResponse, retry_after: float | None) -> None:
        if self.limiter is not None and self.permit is not None:
            self.limiter.observe(self.permit, response.headers, retry_after)

    def _give_back(self) -> None:
        """An attempt that got no answer to stream: its permit goes back, its tokens unused."""
        permit, self.permit = self.permit, None
        if permit is not None and self.limiter is not None:
            self.limiter.release(permit, 0)

    async def restart(
        self, error: BaseException, parser: EventParser, content_seen: bool
    ) -> Attempt | None:
        """The shell's :class:`~trio_chatsse._recovery.Restart`: resume a background response
        where it broke; else, before any content, close the response that failed, back off
        and send the request again."""
        if self.resumer is not None:
            attempt = await self.resumer.restart(error, parser, content_seen)
            if attempt is not None:
                return attempt
        if content_seen or self.retries >= self._max_retries:
            return None
        if not retryable_before_content(error):
            return None
        await self.close()
        self.finish(None)
        await self._back_off(None, f"{type(error).__name__} before any content")
        response = await self.send()
        source = await body_source(
            response, self._library, self._wait, self._api.whole_answer_as_sse
        )
        parser = self._api.new_parser(self._options)
        return Attempt(source, parser, response, self._wait.first_byte)

    async def _back_off(self, retry_after: float | None, reason: str) -> None:
        await sleep_before_retry(self.retries, retry_after, reason=reason)
        self.retries += 1

    async def close(self) -> None:
        """Close the current response (shielded, bounded in time)."""
        response, self._response = self._response, None
        if response is not None:
            with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
                await response.aclose()


async def sleep_before_retry(attempt: int, retry_after: float | None, *, reason: str) -> None:
    """Wait before retry number ``attempt + 1``: ``Retry-After`` when the server gave a sane
    one, else exponential backoff with jitter."""
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_DELAY:
        delay = retry_after
    else:
        delay = min(_INITIAL_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY)
        delay *= 1 - 0.25 * random.random()  # jitter, as openai-python does
    logger.debug("retrying after %s in %.2f s", reason, delay)
    await trio.sleep(delay)
