"""trio_chatsse.otel: spans and metrics in the GenAI semantic conventions, checked in memory."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from trio_chatsse import HTTPStatusError, ProviderError
from trio_chatsse.otel import GenAITelemetry
from trio_chatsse.telemetry import ReadOutcome
from trio_chatsse.testing import ChatServer, Reply

from .helpers import HTTPClient

MESSAGES = [{"role": "user", "content": "hi"}]


class Exporters:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.telemetry = GenAITelemetry(
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[self.metrics]),
        )

    def points(self) -> dict[str, list[tuple[dict[str, object], float]]]:
        """Histogram data points by metric name: (attributes, sum)."""
        out: dict[str, list[tuple[dict[str, object], float]]] = {}
        data = self.metrics.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        out.setdefault(metric.name, []).append(
                            (dict(point.attributes or {}), point.sum)  # type: ignore[union-attr]  # histograms
                        )
        return out


@pytest.fixture
def otel() -> Exporters:
    return Exporters()


async def test_a_span_and_metrics_per_stream(
    otel: Exporters, chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(text="Hello there, this is a longer answer.", fragment_size=4))
    async with otel.telemetry.open_chat_stream(
        http, model="m1", messages=MESSAGES, max_tokens=50, temperature=0.2
    ) as stream:
        await stream.final()
    (span,) = otel.spans.get_finished_spans()
    assert span.name == "chat m1"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "m1"
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == chat_server.port
    assert attributes["gen_ai.response.id"] == "chatcmpl-1"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == stream.usage.output_tokens  # type: ignore[union-attr]  # usage came
    assert isinstance(attributes["gen_ai.response.time_to_first_chunk"], float)
    assert span.status.status_code is StatusCode.UNSET
    points = otel.points()
    assert len(points["gen_ai.client.operation.duration"]) == 1
    tokens = {a["gen_ai.token.type"]: total for a, total in points["gen_ai.client.token.usage"]}
    assert tokens == {"input": 12, "output": stream.usage.output_tokens}  # type: ignore[union-attr]  # usage came
    assert len(points["gen_ai.client.operation.time_to_first_chunk"]) == 1
    assert "gen_ai.client.operation.time_per_output_chunk" in points
    (duration_attributes, _), *_ = points["gen_ai.client.operation.duration"]
    assert "error.type" not in duration_attributes


async def test_every_opener_is_traced(
    otel: Exporters, chat_server: ChatServer, http: HTTPClient
) -> None:
    """Messages, a resumed background response and a given body: one span each, ended."""
    async with otel.telemetry.open_messages_stream(
        http, model="claude", messages=MESSAGES, max_tokens=64
    ) as stream:
        await stream.final()
    async with otel.telemetry.open_responses_stream(
        http, model="bg", input="hi", background=True
    ) as stream:
        await stream.final()
        response_id = stream.completed.response_id  # type: ignore[union-attr]  # it completed
    async with otel.telemetry.resume_responses_stream(http, response_id) as resumed:
        await resumed.final()
    body = b'data: {"choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n'

    async def chunks() -> AsyncIterator[bytes]:
        yield body + b"data: [DONE]\n\n"

    async with otel.telemetry.open_event_stream(chunks()) as given:
        await given.final()
    contents = [{"role": "user", "parts": [{"text": "hi"}]}]
    async with otel.telemetry.open_gemini_stream(http, model="g", contents=contents) as gemini:
        await gemini.final()
    async with otel.telemetry.open_ollama_stream(http, model="o", messages=MESSAGES) as ollama:
        await ollama.final()
    spans = otel.spans.get_finished_spans()
    names = ["chat claude", "chat bg", "chat", "chat", "chat g", "chat o"]
    assert [span.name for span in spans] == names
    providers = [dict(span.attributes or {})["gen_ai.provider.name"] for span in spans]
    assert providers == ["anthropic", "openai", "openai", "openai", "gcp.gemini", "ollama"]
    resumed_attributes = dict(spans[2].attributes or {})
    assert resumed_attributes["gen_ai.response.id"] == response_id
    with pytest.raises(TypeError, match="keyword only"):
        otel.telemetry.open_messages_stream(http, "claude")  # type: ignore[call-arg]


async def test_responses_streams_are_traced_too(
    otel: Exporters, chat_server: ChatServer, http: HTTPClient
) -> None:
    async with otel.telemetry.open_responses_stream(http, model="m2", input="hi") as stream:
        await stream.final()
    (span,) = otel.spans.get_finished_spans()
    assert span.name == "chat m2"
    assert dict(span.attributes or {})["gen_ai.response.id"] == "resp-1"


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply(status=429, retry_after=0), "HTTPRateLimitError"),
        (Reply(status=400, error={"message": "bad"}), "HTTPStatusError"),
        (Reply(text="partial", error={"message": "boom"}, error_after=2), "ProviderError"),
    ],
)
async def test_a_failed_stream_has_an_error_type(
    otel: Exporters, chat_server: ChatServer, http: HTTPClient, reply: Reply, kind: str
) -> None:
    chat_server.push(reply)
    with pytest.raises((HTTPStatusError, ProviderError)):
        async with otel.telemetry.open_chat_stream(
            http, model="m", messages=MESSAGES, max_retries=0
        ) as stream:
            await stream.final()
    (span,) = otel.spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == kind
    ((attributes, _),) = otel.points()["gen_ai.client.operation.duration"]
    assert attributes["error.type"] == kind


async def test_the_callers_own_telemetry_still_runs(
    otel: Exporters, chat_server: ChatServer, http: HTTPClient
) -> None:
    outcomes: list[ReadOutcome] = []

    class Mine:
        def on_read(self, outcome: ReadOutcome, size: int, waited: float) -> None:
            outcomes.append(outcome)

    async with otel.telemetry.open_chat_stream(
        http, model="m", messages=MESSAGES, telemetry=Mine()
    ) as stream:
        await stream.final()
    assert ReadOutcome.DATA in outcomes


def test_the_package_does_not_import_opentelemetry() -> None:
    program = "import sys, trio_chatsse; print('opentelemetry' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
