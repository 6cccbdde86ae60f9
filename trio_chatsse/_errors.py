"""The exception hierarchy (re-exported from :mod:`trio_chatsse`).

Every documented error derives from :class:`ChatSSEError` and means the server, the network
or the provider did it. Mistakes of the caller raise :class:`TypeError`, :class:`ValueError`
or :class:`RuntimeError` instead, as in h11's split between remote and local errors.

A rate limit and a full context window can be reported two ways: by an HTTP status before the
stream starts, or inside the stream (which has no status of its own). :class:`RateLimitError`
and :class:`ContextWindowExceeded` catch both ways; the ones that came with an HTTP status are
also :class:`HTTPStatusError` (private ``HTTPRateLimitError``, ``HTTPContextWindowExceeded``),
so that ``except HTTPStatusError`` catches every error status, a 429 included, as
openai-python's ``APIStatusError`` does, and always finds a ``status_code``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ChatSSEError",
    "ContextWindowExceeded",
    "EventTooLargeError",
    "FirstByteTimeoutError",
    "HTTPContextWindowExceeded",
    "HTTPRateLimitError",
    "HTTPStatusError",
    "IdleTimeoutError",
    "LimiterUnavailableError",
    "OutputRefusedError",
    "OutputValidationError",
    "ProviderError",
    "RateLimitError",
    "ResumeError",
    "StreamError",
]

#: At most this many characters of a server's body are quoted in an error.
BODY_QUOTE_LIMIT = 2000


def quote_body(body: str) -> str:
    """Return ``body`` cut to :data:`BODY_QUOTE_LIMIT` characters, marking the cut."""
    if len(body) <= BODY_QUOTE_LIMIT:
        return body
    return body[:BODY_QUOTE_LIMIT] + f"... [{len(body) - BODY_QUOTE_LIMIT} more characters]"


class ChatSSEError(Exception):
    """Base class of every error the server, the network or the provider can cause.

    It is abstract: only its subclasses are raised. Catch it to handle every documented
    failure of a stream in one place.

    Attributes:
        message: A one-line description, safe to show to a user (it never holds an API key
            or a header).
    """

    def __init__(self, message: str) -> None:
        if type(self) is ChatSSEError:
            raise TypeError("ChatSSEError is abstract; raise one of its subclasses")
        super().__init__(message)
        self.message = message


#: The headers a server or gateway names its request id in, in the order they are looked for:
#: OpenAI, vLLM and most servers; Anthropic-style servers; LiteLLM; Azure API Management;
#: Azure; AWS (Bedrock gateways); Google; OpenRouter; Cloudflare's ray id, the last resort.
REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-litellm-call-id",
    "apim-request-id",
    "x-ms-request-id",
    "x-amzn-requestid",
    "x-goog-request-id",
    "x-generation-id",
    "cf-ray",
)


class HTTPStatusError(ChatSSEError):
    """The server answered the request with an HTTP error status (4xx or 5xx).

    Raised from the ``async with open_chat_stream(...)`` line, before any event. A 429 is
    also a :class:`RateLimitError` and a context-length refusal also a
    :class:`ContextWindowExceeded`: catch whichever you mean.

    Attributes:
        status_code: The HTTP status.
        body: The start of the response body (at most 2000 characters).
        error: The parsed ``{"error": {...}}`` object of the body, when it had one.
        request_id: The request's id as the server or a gateway on the way named it, for a
            provider ticket: the first present of the headers the API reference lists.
        request_id_header: Which header :attr:`request_id` came from.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str = "",
        error: dict[str, object] | None = None,
        request_id: str | None = None,
        request_id_header: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = quote_body(body)
        self.error = error
        self.request_id = request_id
        self.request_id_header = request_id_header


class RateLimitError(ChatSSEError):
    """The provider refused for a rate or quota limit: HTTP 429 (then also an
    :class:`HTTPStatusError`), or such an error inside the stream.

    Attributes:
        retry_after: Seconds the server asked to wait (``Retry-After`` or ``retry-after-ms``),
            or ``None`` when it did not say.
        status_code: 429 when the HTTP status said so; ``None`` for an in-stream error.
        code: The provider's error code, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status_code: int | None = None,
        code: str | int | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status_code = status_code
        self.code = code


class ContextWindowExceeded(ChatSSEError):
    """The conversation no longer fits the model's context window.

    Raised for an HTTP error (then also an :class:`HTTPStatusError`) or an in-stream error
    whose code or message names the context length, and for ``finish_reason: "length"`` when
    the request set no token limit of its own (with a limit, ``length`` is a normal end: see
    :class:`~trio_chatsse.Completed`).

    Attributes:
        status_code: The HTTP status when it came from one, else ``None``.
        code: The provider's error code, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | int | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code


class ProviderError(ChatSSEError):
    """The provider reported an error inside the stream (``{"error": {...}}``,
    ``finish_reason: "error"``, or an SSE ``event: error``).

    Attributes:
        code: The provider's error code (a string or a number), when it sent one.
        error_type: The provider's error ``type``, when it sent one.
        error: The whole error object as sent.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None = None,
        error_type: str | None = None,
        error: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.error_type = error_type
        self.error = error


class HTTPRateLimitError(RateLimitError, HTTPStatusError):
    """HTTP 429: a :class:`RateLimitError` that is also an :class:`HTTPStatusError`, with the
    attributes of both (``status_code`` is always set)."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        retry_after: float | None = None,
        code: str | int | None = None,
        body: str = "",
        error: dict[str, object] | None = None,
        request_id: str | None = None,
        request_id_header: str | None = None,
    ) -> None:
        HTTPStatusError.__init__(
            self,
            message,
            status_code=status_code,
            body=body,
            error=error,
            request_id=request_id,
            request_id_header=request_id_header,
        )
        self.retry_after = retry_after
        self.code = code


class HTTPContextWindowExceeded(ContextWindowExceeded, HTTPStatusError):
    """An HTTP error status whose body names the context length: a
    :class:`ContextWindowExceeded` that is also an :class:`HTTPStatusError`."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | int | None = None,
        body: str = "",
        error: dict[str, object] | None = None,
        request_id: str | None = None,
        request_id_header: str | None = None,
    ) -> None:
        HTTPStatusError.__init__(
            self,
            message,
            status_code=status_code,
            body=body,
            error=error,
            request_id=request_id,
            request_id_header=request_id_header,
        )
        self.code = code


class StreamError(ChatSSEError):
    """The stream broke: the transport failed, or the body ended before any finish."""


class ResumeError(StreamError):
    """A background response's stream broke and could not be resumed: the server no longer
    streams it (a 404, or "can no longer be streamed"), or ``max_resumes`` was spent.

    Attributes:
        response_id: The response's id: it may still be fetched whole (``GET responses/{id}``).
        starting_after: The ``sequence_number`` the resume asked to start after.
    """

    def __init__(self, message: str, *, response_id: str, starting_after: int | None) -> None:
        super().__init__(message)
        self.response_id = response_id
        self.starting_after = starting_after


class EventTooLargeError(StreamError):
    """One line or event of the stream grew past the configured ``max_event_size``.

    Attributes:
        limit: The configured limit, in bytes.
    """

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class LimiterUnavailableError(ChatSSEError):
    """A :class:`~trio_chatsse.Limiter` shared in Redis could not reach Redis (in time), so
    the request was not sent: without the shared state, its limits could not be kept. Raised
    before anything is sent, as the ``async with`` of the stream's opener; give the limiter
    ``when_unreachable="local"`` to go on under each process's own limits instead."""


class IdleTimeoutError(ChatSSEError):
    """No byte arrived for ``idle_timeout`` seconds.

    Attributes:
        idle_timeout: The limit that passed, in seconds.
    """

    def __init__(self, message: str, *, idle_timeout: float) -> None:
        super().__init__(message)
        self.idle_timeout = idle_timeout


class FirstByteTimeoutError(IdleTimeoutError):
    """Nothing came back, not even the response's headers or the first byte of its body,
    for ``first_byte_timeout`` seconds after the request was sent.

    An :class:`IdleTimeoutError`, so that one ``except`` catches every silence;
    ``idle_timeout`` holds the first-byte limit that passed.
    """


class OutputValidationError(ChatSSEError):
    """The answer of a stream with ``output_type`` is not a valid instance of that type: not
    JSON, JSON that fails validation, cut at the token limit, or no text at all.

    Raised by :meth:`~trio_chatsse.ChatStream.final_output`, after every event of the stream.

    Attributes:
        text: The answer's text, whole.
        errors: pydantic's errors (``ValidationError.errors()``), empty when the text was cut
            or missing.
        truncated: The answer ended at the token limit (``finish_reason: "length"``).
    """

    def __init__(
        self,
        text: str,
        errors: list[Any],
        *,
        truncated: bool = False,
        tool_calls: int = 0,
    ) -> None:
        if truncated:
            why = "the answer was cut at the token limit (finish_reason 'length')"
        elif not text:
            why = f"the answer has no text ({tool_calls} tool call(s) instead)"
        else:
            first = errors[0] if errors else {}
            where = ".".join(str(p) for p in first.get("loc", ())) or "the root"
            why = f"{len(errors)} validation error(s); first at {where}: {first.get('msg', '')}"
        super().__init__(f"the structured output is not valid: {why}")
        self.text = text
        self.errors = errors
        self.truncated = truncated


class OutputRefusedError(ChatSSEError):
    """The model refused to write the structured output (a ``refusal`` part, or a stop for
    refusal or a content filter).

    Attributes:
        refusal: The refusal's text (possibly empty).
    """

    def __init__(self, refusal: str) -> None:
        super().__init__(f"the model refused: {quote_body(refusal) or '(no reason given)'}")
        self.refusal = refusal
