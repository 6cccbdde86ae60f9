"""``trio-chatsse``'s output: a stream for a person, or as JSON lines."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, TextIO

from ._models import (
    Completed,
    Event,
    FunctionCall,
    FunctionCallArgumentsDelta,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningContentDelta,
    ReasoningSummaryTextDelta,
    RefusalDelta,
    TokenUsage,
)
from ._tool_loop import ToolApprovalRequest, ToolResult

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ._errors import ChatSSEError

__all__ = ["Printer"]


class Printer:
    """Writes a stream for a person (text live, reasoning dimmed on stderr) or as JSON lines."""

    def __init__(self, out: TextIO, err: TextIO, *, jsonl: bool, reasoning: bool) -> None:
        self.out, self.err = out, err
        self.jsonl = jsonl
        self.reasoning = reasoning
        self._dim = err.isatty() and "NO_COLOR" not in os.environ
        self._in_reasoning = False
        self._at_line_start = True

    def event(self, event: Event | ToolResult | ToolApprovalRequest) -> None:
        if self.jsonl:
            self.out.write(event.model_dump_json() + "\n")
            self.out.flush()
            return
        if isinstance(event, ReasoningContentDelta | ReasoningSummaryTextDelta):
            if self.reasoning:
                self._reasoning(event.delta)
        elif isinstance(event, (OutputTextDelta, RefusalDelta)):
            self._end_reasoning()
            self._text(event.delta)
        elif isinstance(event, OutputItemAdded) and isinstance(event.item, FunctionCall):
            # stream_tool_arguments: the call's name now, its arguments as they come.
            self._end_reasoning()
            self._newline()
            self._text(f"tool call {event.item.name} ({event.item.call_id}): ")
        elif isinstance(event, FunctionCallArgumentsDelta):
            self._text(event.delta)
        elif isinstance(event, OutputItemDone) and isinstance(event.item, FunctionCall):
            self._end_reasoning()
            if event.output_index is None:
                self._tool_call(event.item)
            else:
                self._newline()
        elif isinstance(event, Completed):
            self._end_reasoning()
            self._newline()
            self._usage(event.token_usage)
        elif isinstance(event, ToolResult):
            self._newline()
            took = f"{event.duration:.2f} s"
            self.out.write(f"tool result {event.name} ({event.call_id}, {took}): {event.output}\n")
            self.out.flush()

    def _reasoning(self, text: str) -> None:
        if not self._in_reasoning:
            self._in_reasoning = True
            self.err.write("\x1b[2m" if self._dim else "[reasoning] ")
        self.err.write(text)
        self.err.flush()

    def _end_reasoning(self) -> None:
        if self._in_reasoning:
            self._in_reasoning = False
            self.err.write("\x1b[0m\n" if self._dim else "\n")
            self.err.flush()

    def _text(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        self._at_line_start = text.endswith("\n")

    def _newline(self) -> None:
        if not self._at_line_start:
            self.out.write("\n")
            self.out.flush()
            self._at_line_start = True

    def _tool_call(self, call: FunctionCall) -> None:
        self._newline()
        try:
            arguments = json.dumps(json.loads(call.arguments), indent=2, ensure_ascii=False)
        except ValueError:
            arguments = call.arguments
        self.out.write(f"tool call {call.name} ({call.call_id}):\n{arguments}\n")
        self.out.flush()

    def _usage(self, usage: TokenUsage | None) -> None:
        if usage is None:
            return
        reasoning = (
            f" (reasoning {usage.reasoning_output_tokens})" if usage.reasoning_output_tokens else ""
        )
        self.err.write(
            f"[usage] input {usage.input_tokens}, output {usage.output_tokens}{reasoning}, "
            f"total {usage.total_tokens}\n"
        )
        self.err.flush()

    def output(self, value: BaseModel) -> None:
        """The validated structured output: a last JSON line (the text showed it already)."""
        if self.jsonl:
            record = {"type": "output", "output": value.model_dump(mode="json")}
            self.out.write(json.dumps(record, separators=(",", ":")) + "\n")
            self.out.flush()

    def note(self, text: str) -> None:
        if not self.jsonl:
            self.err.write(text + "\n")
            self.err.flush()

    def error(self, exc: ChatSSEError, line: str | None = None) -> None:
        """Report a stream's error: a record among the JSON lines too, and on standard error
        a line of its own (``line``, or the error's name and message), never glued to the
        partial text before it."""
        if self.jsonl:
            record = {"type": "error", "error": type(exc).__name__, "message": exc.message}
            self.out.write(json.dumps(record, separators=(",", ":")) + "\n")  # as events are
            self.out.flush()
        self._end_reasoning()
        self._newline()
        self.err.write((line or f"trio-chatsse: {type(exc).__name__}: {exc.message}") + "\n")
        self.err.flush()
