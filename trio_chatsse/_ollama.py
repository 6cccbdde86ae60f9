"""Layer 2: Ollama's native ``/api/chat`` stream. NDJSON lines in, the same events out.

The sibling of the other parsers (``feed``, ``end``, ``state``, ``error``), fed one NDJSON
line at a time by the NDJSON framing. Pure and synchronous: no trio, no I/O.

Theory of operation
-------------------
Each line is a chunk ``{"model", "created_at", "message": {"role": "assistant", "content",
"thinking", "tool_calls"}, "done": false}``; the last one says ``"done": true`` with
``done_reason`` and the counts (Ollama's API reference, ``docs/api.md``, "Generate a chat
completion"). The mapping:

* ``message.thinking`` pieces are reasoning: a :class:`~trio_chatsse.Reasoning` item added at
  the first, a reasoning delta each;
* ``message.content`` pieces are text: a :class:`~trio_chatsse.Message` added at the first, a
  text delta each;
* ``message.tool_calls`` come whole, in one line, arguments as an object: each is a
  :class:`~trio_chatsse.FunctionCall` at once (a call is complete when it arrives, so a tool
  loop can start it), its ``id`` the server's when it sends one, else ``call_N``; with
  ``stream_tool_arguments`` also its added event, its arguments as one delta, and done;
* ``done: true`` closes the reasoning and the message and gives :class:`~trio_chatsse.Completed`
  with ``done_reason`` (``stop`` becomes ``tool_calls`` when calls came, as Ollama ends tool
  calls with ``stop``; ``length`` and others pass through) and the usage from
  ``prompt_eval_count`` and ``eval_count`` (the server leaves a zero count out);
* a line with neither ``message`` nor ``done`` (a gateway's ``{"detail": ...}``) is a
  :class:`~trio_chatsse.StreamError` quoting it;
* ``{"error": "..."}`` (a line of its own) is a :class:`~trio_chatsse.ProviderError` (a
  rate-limit or context error by the shared rules); a body
  that ends with no ``done: true`` is a :class:`~trio_chatsse.StreamError`.

The order of ``done`` and ``done_reason`` in the line changed between 2025 and 2026 builds,
and neither is relied on: ``done`` is read as a field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ._errors import StreamError
from ._models import (
    Completed,
    Event,
    FunctionCall,
    Message,
    OutputItemAdded,
    OutputItemDone,
    OutputText,
    OutputTextDelta,
    Reasoning,
    ReasoningContentDelta,
    ReasoningText,
    TokenUsage,
)
from ._parsers import ParserCore, ParserState
from ._tool_calls import live_call_events
from ._wire import error_from_object

__all__ = ["OllamaChatParser"]


class OllamaChatParser(ParserCore):
    """Turns the lines of an Ollama ``/api/chat`` stream into events.

    The same verbs as :class:`~trio_chatsse.sansio.ChatChunkParser`: call :meth:`feed` for each
    line (the NDJSON framing's frames) and :meth:`end` at end of input.

    Args:
        stream_tool_arguments: Also give each call's added event, its arguments as one delta
            and arguments-done, before its done item.
    """

    def __init__(self, *, stream_tool_arguments: bool = False) -> None:
        super().__init__()
        self.stream_tool_arguments = stream_tool_arguments
        self._thinking: list[str] | None = None
        self._text: list[str] | None = None
        self._thinking_index = self._text_index = 0
        self._next_index = 0
        self._calls = 0
        self._model = ""

    @property
    def partial_text(self) -> str:
        """The text of the message being written, before its done item."""
        return "".join(self._text or ())

    def _on_payload(self, payload: dict[str, object], event: str) -> None:
        error = payload.get("error")
        if error is not None:
            # Ollama says a string; a proxy in front of it may say an OpenAI-style object.
            self._fail(error_from_object(error if type(error) is dict else {"message": str(error)}))
            return
        message = payload.get("message")
        done = payload.get("done")
        if type(message) is not dict and done is None:
            quoted = json.dumps(payload)[:300]
            self._fail(StreamError(f"a line that is not of an Ollama chat stream: {quoted}"))
            return
        if type(message) is dict:
            self._on_message(message)
        if done is True:
            self._on_done_line(payload)

    def _on_message(self, message: dict[str, object]) -> None:
        thinking = message.get("thinking")
        if type(thinking) is str and thinking:
            if self._thinking is None:
                self._thinking, self._thinking_index = [], self._allocate()
                self._out.append(
                    OutputItemAdded(item=Reasoning(), output_index=self._thinking_index)
                )
            self._thinking.append(thinking)
            self._out.append(
                ReasoningContentDelta(delta=thinking, output_index=self._thinking_index)
            )
        content = message.get("content")
        if type(content) is str and content:
            if self._text is None:
                self._text, self._text_index = [], self._allocate()
                self._out.append(OutputItemAdded(item=Message(), output_index=self._text_index))
            self._text.append(content)
            self._out.append(OutputTextDelta(delta=content, output_index=self._text_index))
        calls = message.get("tool_calls")
        if type(calls) is list:
            for call in calls:
                if type(call) is dict:
                    self._on_call(call)

    def _on_call(self, call: dict[str, object]) -> None:
        function = call.get("function")
        function = function if type(function) is dict else {}
        name = function.get("name")
        if type(name) is not str or not name:
            return  # a call without a name is never passed on as one
        arguments = function.get("arguments")
        text = arguments if type(arguments) is str else json.dumps(arguments or {})
        call_id = call.get("id")
        self._calls += 1
        item = FunctionCall(
            call_id=call_id if type(call_id) is str and call_id else f"call_{self._calls}",
            name=name,
            arguments=text,
        )
        index = self._allocate()
        if self.stream_tool_arguments:
            self._out += live_call_events(item, index)
        self._out.append(OutputItemDone(item=item, output_index=index))

    def _allocate(self) -> int:
        index, self._next_index = self._next_index, self._next_index + 1
        return index

    def _on_done_line(self, payload: dict[str, object]) -> None:
        out = self._out
        if self._thinking is not None:
            text = "".join(self._thinking)
            reasoning = Reasoning(content=[ReasoningText(text=text)], text_field="thinking")
            out.append(OutputItemDone(item=reasoning, output_index=self._thinking_index))
        if self._text is not None:
            message = Message(content=[OutputText(text="".join(self._text))])
            out.append(OutputItemDone(item=message, output_index=self._text_index))
        self._thinking = self._text = None
        reason = payload.get("done_reason")
        finish = reason if type(reason) is str and reason else "stop"
        if finish == "stop" and self._calls:
            finish = "tool_calls"
        out.append(
            Completed(
                response_id="",  # Ollama names no response
                token_usage=_usage(payload),
                finish_reason=finish,
            )
        )
        self.state = ParserState.COMPLETED

    def _on_done(self) -> list[Event]:
        return []  # no [DONE] marker in this API: a line that says it is skipped

    def end(self) -> list[Event]:
        """Signal end of input: a body that ended before ``done: true`` is cut short."""
        if self.state is ParserState.STREAMING:
            self._fail(StreamError("the stream ended before the model finished (no done line)"))
        return []


def _usage(payload: dict[str, object]) -> TokenUsage | None:
    counts: Sequence[object] = (payload.get("prompt_eval_count"), payload.get("eval_count"))
    if all(count is None for count in counts):
        return None
    prompt, generated = (count if type(count) is int else 0 for count in counts)
    return TokenUsage(input_tokens=prompt, output_tokens=generated, total_tokens=prompt + generated)
