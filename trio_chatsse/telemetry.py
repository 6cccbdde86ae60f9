"""Per-read telemetry of a stream (``telemetry=`` on every opener); ``trio_chatsse.otel``
builds OpenTelemetry spans and metrics on it."""

from __future__ import annotations

from ._public import publish
from ._telemetry import ReadOutcome, StreamTelemetry

__all__ = ["ReadOutcome", "StreamTelemetry"]

publish(globals())
