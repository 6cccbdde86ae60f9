"""Retry until the first content: which failures a new request may hide, and the contract
between the trio shell, which notices them, and the HTTP layer, which sends the request again.

Until the stream has produced content (anything but an ``OutputItemAdded``: a text, reasoning
or refusal delta, a tool-call fragment, a done item, ``Completed``), nothing the consumer acted
on can be lost, so a failure of these kinds is retried, invisibly, within ``max_retries``:

* the connection broke, or the body ended before the answer did (``StreamError``, but not
  ``EventTooLargeError``: the same request would give the same event);
* the idle or first-byte timeout fired (``IdleTimeoutError``, ``FirstByteTimeoutError``);
* the server sent an in-stream error that says "try again": a type or code of
  :data:`RETRYABLE_ERROR_KINDS` (OpenAI's ``server_error``, Anthropic's ``overloaded_error`` and
  ``api_error``...), a 5xx or 429 status code, a rate limit, or a message saying to retry.

After content, every error is raised as before: no server can continue a Chat Completions or
Messages stream half-way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ._errors import (
    EventTooLargeError,
    IdleTimeoutError,
    ProviderError,
    RateLimitError,
    StreamError,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterable

    from ._clients import HTTPResponse
    from ._parsers import EventParser
    from ._timeouts import FirstByteDeadline

__all__ = ["RETRYABLE_ERROR_KINDS", "Attempt", "Restart", "retryable_before_content"]

#: In-stream error types and codes that mean "the server failed; the same request may work".
RETRYABLE_ERROR_KINDS = frozenset(
    {
        "server_error",
        "internal_error",
        "internal_server_error",
        "api_error",
        "overloaded",
        "overloaded_error",
        "service_unavailable",
        "unavailable",
        "timeout",
        "bad_gateway",
    }
)
_RETRY_WORDS = ("try again", "retry your request", "temporarily unavailable")


def retryable_before_content(error: BaseException) -> bool:
    """Whether a failure before the first content may be hidden by sending the request again."""
    if isinstance(error, EventTooLargeError):
        return False
    if isinstance(error, StreamError | IdleTimeoutError | RateLimitError):
        return True
    if not isinstance(error, ProviderError):
        return False
    kinds = {str(error.code).lower(), str(error.error_type).lower()}
    if kinds & RETRYABLE_ERROR_KINDS:
        return True
    if any(kind.isdigit() and (kind.startswith("5") or kind == "429") for kind in kinds):
        return True
    return any(words in error.message.lower() for words in _RETRY_WORDS)


@dataclass
class Attempt:
    """A new request's body, ready for the shell to read."""

    #: The body's bytes.
    source: AsyncIterable[bytes]
    #: A fresh parser for it.
    parser: EventParser
    #: Its HTTP response (headers, status).
    response: HTTPResponse
    #: Its first-byte deadline, when a first-byte timeout is set.
    first_byte: FirstByteDeadline | None


class Restart(Protocol):
    """The HTTP layer's answer to a failure the shell met: a new attempt, or ``None``."""

    async def __call__(
        self, error: BaseException, parser: EventParser, content_seen: bool
    ) -> Attempt | None:
        """Wait the backoff and return a new attempt: the request sent again (with a new
        parser) for a failure before the first content, or the same response resumed (with
        ``parser`` itself, which goes on). ``None`` when nothing may be tried (the error is
        then raised); an error of the new attempt is raised."""
        ...
