"""Trace and measure streams with OpenTelemetry.

Needs ``pip install "trio-chatsse[otel]" opentelemetry-sdk``: the extra brings the
OpenTelemetry API, which the library uses; the SDK is your application's choice of exporter.
"""

from __future__ import annotations

import httpx
import trio
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from trio_chatsse.otel import GenAITelemetry
from trio_chatsse.testing import Reply, open_chat_server


async def main() -> None:
    # Your application configures the SDK once (here: in memory, to print what was recorded;
    # in production an OTLP exporter), or sets the global providers and calls GenAITelemetry().
    spans, metrics = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry = GenAITelemetry(
        tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[metrics])
    )
    async with open_chat_server(Reply(text="Traced and measured.")) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            messages = [{"role": "user", "content": "hi"}]
            async with telemetry.open_chat_stream(http, model="any", messages=messages) as stream:
                await stream.final()
    (span,) = spans.get_finished_spans()
    attributes = span.attributes or {}
    print(
        span.name,
        attributes["gen_ai.response.finish_reasons"],
        attributes["gen_ai.usage.output_tokens"],
    )
    data = metrics.get_metrics_data()
    assert data is not None
    print(sorted(m.name for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics))


if __name__ == "__main__":
    trio.run(main)
