"""What a stream measures: its counts (``stream.stats``), and the per-read hook
(``telemetry=`` on every opener) that ``trio_chatsse.otel`` builds OpenTelemetry spans and
metrics on."""

from __future__ import annotations

from ._public import publish
from ._telemetry import ReadOutcome, StreamStats, StreamTelemetry

__all__ = ["ReadOutcome", "StreamStats", "StreamTelemetry"]

publish(globals())
