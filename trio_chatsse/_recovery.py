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

import enum
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
    from ._telemetry import StreamStats
    from ._timeouts import FirstByteDeadline

__all__ = [
    "RETRYABLE_ERROR_KINDS",
    "Attempt",
    "AttemptKind",
    "Attempts",
    "resumable_after_content",
    "retryable_before_content",
]

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


def resumable_after_content(error: BaseException) -> bool:
    """Whether a failure may be mended by resuming a background stream where it broke: a cut
    or a silence, not an in-stream error or an over-large event (the server would resend it)."""
    if isinstance(error, EventTooLargeError):
        return False
    return isinstance(error, StreamError | IdleTimeoutError)


class AttemptKind(enum.Enum):
    """Why an attempt's body is read."""

    #: The request as first sent (after the retries before a response it needed).
    FIRST = "first"
    #: The request sent again after a failure before the first content: a new parser.
    RETRY = "retry"
    #: A background response's stream resumed where it broke: the same parser goes on.
    RESUME = "resume"


@dataclass(frozen=True)
class Attempt:
    """A body for the shell to read, and how to read it."""

    #: Why it is read.
    kind: AttemptKind
    #: The body's bytes.
    source: AsyncIterable[bytes]
    #: The parser that reads it: a fresh one, or (a resume) the one that read the body before.
    parser: EventParser
    #: Its HTTP response (headers, status); ``None`` for a body without one.
    response: HTTPResponse | None
    #: Its first-byte deadline, when a first-byte timeout is set.
    first_byte: FirstByteDeadline | None


class Attempts(Protocol):
    """What the shell asks of a request: its attempts, one after another.

    The HTTP layer's :class:`~trio_chatsse._request.Request` is one; ``open_event_stream``
    passes a one-shot one over a body it was given. The shell never sees a client.
    """

    #: Exceptions of the byte source that mean "the transport broke".
    transport_errors: tuple[type[BaseException], ...]
    #: The stream's counts, which the request and the shell fill in.
    stats: StreamStats
    #: Whether a failure may ever be followed by another attempt (else the shell neither
    #: asks nor holds events back for one).
    may_try_again: bool

    async def first(self) -> Attempt:
        """The first attempt, its status checked; an error here is raised to the caller."""
        ...

    async def next(
        self, error: BaseException, parser: EventParser, content_seen: bool
    ) -> Attempt | None:
        """The attempt after ``error`` met by ``parser``: the request sent again (before any
        content) or the response resumed where it broke, after the backoff; ``None`` when
        nothing may be tried (the error is then raised). An error of the new attempt is
        raised."""
        ...
