"""OpenTelemetry for trio_chatsse streams, in the GenAI semantic conventions.

Optional: ``pip install "trio-chatsse[otel]"`` adds ``opentelemetry-api``; nothing else in the
package imports it, so streams opened without this module pay nothing. Configure the
OpenTelemetry SDK (or pass providers) as usual, then open streams through a
:class:`GenAITelemetry`::

    telemetry = GenAITelemetry()  # the global tracer and meter providers
    async with telemetry.open_chat_stream(http, model="m", messages=messages) as stream:
        async for event in stream:
            ...

Each stream is one ``CLIENT`` span named ``chat {model}`` with ``gen_ai.operation.name``,
``gen_ai.provider.name``, ``gen_ai.request.model`` (and the request's ``max_tokens``,
``temperature``, ``top_p`` when set), ``server.address`` and ``server.port``; at the end
``gen_ai.response.id``, ``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens`` and
``gen_ai.usage.output_tokens``, ``gen_ai.response.time_to_first_chunk``, or ``error.type``
and an error status when it failed (an HTTP status, a provider error, a timeout, your own
exception, a cancellation). The metrics are the GenAI client histograms:
``gen_ai.client.operation.duration``, ``gen_ai.client.token.usage`` (by
``gen_ai.token.type``), ``gen_ai.client.operation.time_to_first_chunk`` and
``gen_ai.client.operation.time_per_output_chunk`` (a chunk is one read of the body). Content
(prompts, answers) is never recorded.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Concatenate, ParamSpec

import trio
from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ._background import resume_responses_stream as _resume_responses_stream
from ._chat_stream import ChatStream
from ._event_stream import open_event_stream as _open_event_stream
from ._http import open_chat_stream as _open_chat_stream
from ._http import open_messages_stream as _open_messages_stream
from ._http import open_responses_stream as _open_responses_stream
from ._open_gemini import open_gemini_stream as _open_gemini_stream
from ._open_ollama import open_ollama_stream as _open_ollama_stream
from ._telemetry import ReadOutcome, StreamTelemetry

if TYPE_CHECKING:
    pass

__all__ = ["GenAITelemetry"]

#: The instrumentation scope's name.
SCOPE = "trio_chatsse"
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]
_SECONDS_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48]
_CHUNK_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5]
#: Request fields recorded, by their attribute.
_REQUEST_FIELDS = {
    "gen_ai.request.max_tokens": ("max_tokens", "max_completion_tokens", "max_output_tokens"),
    "gen_ai.request.temperature": ("temperature",),
    "gen_ai.request.top_p": ("top_p",),
}

Attributes = dict[str, str | int | float | Sequence[str]]


_P = ParamSpec("_P")


def _traced_entry(
    opener: Callable[_P, AbstractAsyncContextManager[ChatStream]],
    provider: str = "openai",
    positional: int = 1,
) -> Callable[Concatenate[GenAITelemetry, _P], AbstractAsyncContextManager[ChatStream]]:
    """A method of :class:`GenAITelemetry` that opens a stream as ``opener`` does, traced.

    Typed with ``opener``'s own parameters, so every option keeps its type. ``provider`` is
    the ``gen_ai.provider.name`` of the API's shape, unless the telemetry names one."""

    def entry(
        self: GenAITelemetry, /, *args: _P.args, **options: _P.kwargs
    ) -> AbstractAsyncContextManager[ChatStream]:
        if len(args) > positional:
            raise TypeError(f"{opener.__name__}() takes its options by keyword only")
        return self._traced(opener, tuple(args), dict(options), self.provider_name or provider)

    entry.__name__ = entry.__qualname__ = opener.__name__
    home = "background." if opener.__name__ == "resume_responses_stream" else ""
    entry.__doc__ = f":func:`~trio_chatsse.{home}{opener.__name__}`, traced; the same arguments."
    return entry


class GenAITelemetry:
    """Opens streams as every opener does (:func:`~trio_chatsse.open_chat_stream`,
    :func:`~trio_chatsse.open_responses_stream`, :func:`~trio_chatsse.open_messages_stream`,
    :func:`~trio_chatsse.open_gemini_stream`, :func:`~trio_chatsse.open_ollama_stream`,
    :func:`~trio_chatsse.background.resume_responses_stream` and
    :func:`~trio_chatsse.open_event_stream`), each traced and measured.

    Args:
        tracer_provider: Where spans go; the global provider by default.
        meter_provider: Where metrics go; the global provider by default.
        provider_name: ``gen_ai.provider.name``: the API's shape (``openai``, or
            ``anthropic`` for the Messages API) unless you say which provider the client
            talks to (``azure.ai.openai``, ``gcp.gemini``,
            ``groq``, ``deepseek``, ``mistral_ai``...).
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        provider_name: str | None = None,
    ) -> None:
        self.provider_name = provider_name
        self._tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, meter_provider=meter_provider)
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self._first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time from the request to the first chunk of the response",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self._per_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_per_output_chunk",
            unit="s",
            description="Time between consecutive chunks of the response",
            explicit_bucket_boundaries_advisory=_CHUNK_BUCKETS,
        )

    open_chat_stream = _traced_entry(_open_chat_stream)
    open_responses_stream = _traced_entry(_open_responses_stream)
    open_messages_stream = _traced_entry(_open_messages_stream, "anthropic")
    open_gemini_stream = _traced_entry(_open_gemini_stream, "gcp.gemini")
    open_ollama_stream = _traced_entry(_open_ollama_stream, "ollama")
    resume_responses_stream = _traced_entry(_resume_responses_stream, positional=2)
    open_event_stream = _traced_entry(_open_event_stream)

    @asynccontextmanager
    async def _traced(
        self,
        opener: Callable[..., AbstractAsyncContextManager[ChatStream]],
        args: tuple[object, ...],
        options: dict[str, object],
        provider: str,
    ) -> AsyncGenerator[ChatStream, None]:
        client = args[0] if args else options.get("client")
        model = str(options.get("model", ""))
        common: Attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
        }
        url = getattr(client, "base_url", None)  # a client of either library; checked by opener
        if url is not None and url.host:
            common["server.address"] = url.host
            common["server.port"] = url.port or (443 if url.scheme == "https" else 80)
        attributes = {**common, **_request_attributes(options)}
        clock = _ChunkClock(self, common, options.get("telemetry"))
        name = f"chat {model}" if model else "chat"
        span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        stream: ChatStream | None = None
        error: BaseException | None = None
        try:
            with trace.use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                traced = {**options, "telemetry": clock}
                async with opener(*args, **traced) as stream:
                    yield stream
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._end(span, common, clock, stream, error)

    def _end(
        self,
        span: trace.Span,
        common: Attributes,
        clock: _ChunkClock,
        stream: ChatStream | None,
        error: BaseException | None,
    ) -> None:
        completed = None if stream is None else stream.completed
        if completed is not None:
            span.set_attribute("gen_ai.response.id", completed.response_id)
            if completed.finish_reason is not None:
                span.set_attribute("gen_ai.response.finish_reasons", [completed.finish_reason])
            usage = completed.token_usage
            if usage is not None:
                span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
                for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens)):
                    self._tokens.record(count, {**common, "gen_ai.token.type": kind})
        if clock.first_chunk is not None:
            span.set_attribute("gen_ai.response.time_to_first_chunk", clock.first_chunk)
        if stream is not None and stream.stats.limiter_wait:
            span.set_attribute("trio_chatsse.limiter.wait", stream.stats.limiter_wait)
        duration_attributes = dict(common)
        if error is not None:
            error_type = f"{type(error).__module__}.{type(error).__qualname__}"
            if type(error).__module__.startswith("trio_chatsse"):
                error_type = type(error).__qualname__
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, str(error)[:300]))
            duration_attributes["error.type"] = error_type
        self._duration.record(trio.current_time() - clock.started, duration_attributes)
        span.end()


class _ChunkClock:
    """The per-read hook of one stream: time to the first chunk, and between chunks."""

    def __init__(self, telemetry: GenAITelemetry, common: Attributes, chained: object) -> None:
        self._telemetry = telemetry
        self._common = common
        self._chained: StreamTelemetry | None = chained  # type: ignore[assignment]  # the caller's own, if any
        self.started = trio.current_time()
        self.first_chunk: float | None = None

    def on_read(self, outcome: ReadOutcome, size: int, waited: float) -> None:
        if outcome is ReadOutcome.DATA:
            if self.first_chunk is None:
                self.first_chunk = trio.current_time() - self.started
                self._telemetry._first_chunk.record(self.first_chunk, self._common)
            else:
                self._telemetry._per_chunk.record(waited, self._common)
        if self._chained is not None:
            self._chained.on_read(outcome, size, waited)


def _request_attributes(options: Mapping[str, object]) -> Attributes:
    """The request fields the conventions name, from the arguments or ``extra_body``."""
    extra = options.get("extra_body")
    fields = {**(extra if isinstance(extra, Mapping) else {}), **options}
    attributes: Attributes = {}
    for attribute, names in _REQUEST_FIELDS.items():
        for name in names:
            value = fields.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attributes[attribute] = value
                break
    return attributes
