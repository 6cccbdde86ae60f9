"""The options every opener takes alike, in one place: their defaults, their checks, their docs.

The openers keep them as keywords (so an IDE and ``mypy --strict`` see each one) and hand them
to the request as one :class:`StreamOptions`; the API reference documents them once, here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, TypedDict

from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._timeouts import check_stream_args

if TYPE_CHECKING:
    from ._limiter import Limiter
    from ._telemetry import StreamTelemetry

__all__ = ["StreamKwargs", "StreamOptions", "stream_options"]


@dataclass(frozen=True)
class StreamOptions:
    """How one stream is read and its request sent, whichever wire API it speaks.

    Checked when made: a value no stream can run with is a :class:`ValueError` before any
    request.
    """

    #: Seconds without a byte of the body before :class:`~trio_chatsse.IdleTimeoutError`.
    #: The client's own read timeout is turned off for the request; its connect, write and
    #: pool timeouts still apply.
    idle_timeout: float = 300.0
    #: Seconds the server may take, from sending the request, to send its headers and the
    #: first byte of the body, before :class:`~trio_chatsse.FirstByteTimeoutError` (a model may
    #: think for minutes before it speaks); ``None`` gives that wait ``idle_timeout`` too.
    first_byte_timeout: float | None = None
    #: Retries of failures before the first content, with backoff (see the guide's "Retries").
    max_retries: int = 2
    #: More headers for the request.
    headers: Mapping[str, str] | None = None
    #: The largest line or event accepted, in bytes.
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE
    #: Called once per read of the body; see :class:`~trio_chatsse.telemetry.StreamTelemetry`.
    telemetry: StreamTelemetry | None = None
    #: A :class:`~trio_chatsse.Limiter` shared with other streams.
    limiter: Limiter | None = None

    def __post_init__(self) -> None:
        _check_type("idle_timeout", self.idle_timeout, "a number of seconds")
        if self.first_byte_timeout is not None:
            _check_type("first_byte_timeout", self.first_byte_timeout, "a number of seconds")
        _check_type("max_retries", self.max_retries, "a whole number", int)
        _check_type("max_event_size", self.max_event_size, "a number of bytes", int)
        if self.headers is not None and not isinstance(self.headers, Mapping):
            raise TypeError(f"headers must be a mapping, not {type(self.headers).__name__}")
        check_stream_args(self.idle_timeout, self.max_event_size, self.first_byte_timeout)
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {self.max_retries!r}")


def _check_type(
    name: str, value: object, what: str, kind: type | tuple[type, ...] = (int, float)
) -> None:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {what}, not {type(value).__name__} {value!r:.40}")


class StreamKwargs(TypedDict, total=False):
    """The shared options as keywords (``**options: Unpack[StreamKwargs]``), for the openers
    whose API has no free-form request fields to take through ``**params`` (Gemini's, Ollama's):
    one typed signature instead of a copy per opener. Each is :class:`StreamOptions`'s."""

    idle_timeout: float
    first_byte_timeout: float | None
    max_retries: int
    headers: Mapping[str, str] | None
    max_event_size: int
    telemetry: StreamTelemetry | None
    limiter: Limiter | None


def stream_options(
    opener: str, options: Mapping[str, object], explicit: Iterable[str]
) -> StreamOptions:
    """``options`` as :class:`StreamOptions`; a keyword that is none of them is a
    :class:`TypeError` naming the one meant when it is a near miss of it or of ``explicit``
    (the opener's other parameters)."""
    known = [field.name for field in fields(StreamOptions)]
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(key, [*known, *explicit], n=1, cutoff=0.8)
            hint = f": did you mean {close[0]!r}?" if close else ""
            raise TypeError(
                f"{opener}() got an unexpected keyword argument {key!r}{hint} (a request "
                "field goes in extra_body=)"
            )
    return StreamOptions(**options)  # type: ignore[arg-type]  # checked by their types inside
