"""Layer 2: the Anthropic Messages API event parser. SSE ``data`` in, the same events out.

The third sibling of the chat-chunk and Responses parsers (same verbs: ``feed``, ``end``,
``state``, ``error``), for ``POST /v1/messages`` streams. Pure and synchronous: no trio, no I/O.

Theory of operation
-------------------
Each SSE ``data`` is one JSON event whose ``type`` names it (the ``event:`` line is used only
when the data has none, as some replays send ``data:`` lines only). ``message_start`` gives
the message id and the first usage; then each content block is ``content_block_start`` (with
its ``index``), ``content_block_delta``s and ``content_block_stop``; ``message_delta`` gives
the stop reason and cumulative usage; ``message_stop`` ends it. ``ping`` is a keep-alive.

* Each content block is one item, in the order the blocks start: ``text`` → ``Message``,
  ``thinking`` → ``Reasoning`` (its ``signature_delta`` kept as ``Reasoning.signature``),
  ``redacted_thinking`` → ``Reasoning`` whose ``encrypted_content`` is the block's ``data``,
  ``tool_use`` → ``FunctionCall`` (``call_id`` the block id, ``arguments`` the joined
  ``partial_json``, ``"{}"`` when there was none). Server-tool blocks (``server_tool_use``,
  ``web_search_tool_result``...) are skipped with a DEBUG log, as are ``citations_delta``s.
* Deltas are routed by ``index``, never by "the open block": llama.cpp's server sends every
  ``content_block_stop`` together at the end, so blocks overlap.
* A text block with no text (LiteLLM opens one before a forced tool call) gives no item; a
  ``thinking_delta`` inside a text block (LiteLLM's bridge of an upstream's reasoning) opens a
  reasoning item for that block.
* A ``tool_use`` block whose arguments are not whole JSON when it stops (cut by
  ``max_tokens``) is dropped with a WARNING: a call cut short is never passed off as complete.
* Usage: ``message_delta``'s is cumulative and is the last word over ``message_start``'s.
  ``input_tokens`` counts every prompt token (uncached + cache read + cache creation), as on
  the other APIs, with ``cached_input_tokens`` the cache reads and
  ``cache_creation_input_tokens`` the cache writes.
* ``stop_reason``: ``end_turn``, ``stop_sequence`` → ``stop``; ``tool_use`` → ``tool_calls``;
  ``max_tokens`` → ``length`` (a normal end: the request always sets a limit); ``refusal`` →
  ``content_filter``; ``model_context_window_exceeded`` → ``ContextWindowExceeded``; anything
  else (``pause_turn``) passes through as it is.
* Errors: the ``error`` event, and a bare ``{"error": {...}}`` (LiteLLM when its upstream
  fails), are mapped by type and code (``rate_limit_error`` → ``RateLimitError``, "prompt is
  too long" → ``ContextWindowExceeded``, else ``ProviderError``). A body that ends without
  ``message_stop`` is a ``StreamError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ._errors import ContextWindowExceeded, StreamError
from ._models import (
    Completed,
    Event,
    FunctionCall,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    Message,
    OutputItemAdded,
    OutputItemDone,
    OutputText,
    OutputTextDelta,
    Reasoning,
    ReasoningContentDelta,
    ReasoningText,
    TokenUsage,
    constructor,
)
from ._parsers import ParserCore, ParserState
from ._wire import arguments_are_whole, error_from_object, event_type

__all__ = ["MessagesEventParser"]

logger = logging.getLogger(__name__)

_text_delta = constructor(OutputTextDelta)
_reasoning_delta = constructor(ReasoningContentDelta)
_arguments_delta = constructor(FunctionCallArgumentsDelta)

_STREAMING = ParserState.STREAMING
_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "refusal": "content_filter",
}
#: Block types whose events are skipped: server tools and their results.
_QUIET = frozenset({"ping", "keepalive"})


class _Block:
    """One content block being streamed, and the items it opened."""

    __slots__ = ("added", "arguments", "block_id", "call", "kind", "name", "reasoning", "text")

    def __init__(self, kind: str, block: dict[str, object]) -> None:
        self.kind = kind
        block_id, name = block.get("id"), block.get("name")
        self.block_id = block_id if type(block_id) is str else ""
        self.name = name if type(name) is str else ""
        #: Open items of the block: (output_index, pieces) for text and reasoning.
        self.text: tuple[int, list[str]] | None = None
        self.reasoning: tuple[int, list[str], list[str]] | None = None  # index, text, signature
        #: The output_index of a tool_use block's call.
        self.call: int | None = None
        #: Whether the call's OutputItemAdded went out (live mode only).
        self.added = False
        self.arguments: list[str] = []


class MessagesEventParser(ParserCore):
    """Turns the ``data`` of each SSE event of a Messages API stream into events.

    The same verbs as :class:`~trio_chatsse.sansio.ChatChunkParser`: call :meth:`feed` for each SSE
    event and :meth:`end` at end of input; once :attr:`state` is ``COMPLETED`` or ``FAILED``
    the stream is over (:attr:`error` says why it failed).

    Args:
        stream_tool_arguments: Pass tool calls on as they stream (added event, argument
            deltas, arguments done), as :class:`~trio_chatsse.sansio.ChatChunkParser` does.
    """

    def __init__(self, *, stream_tool_arguments: bool = False) -> None:
        super().__init__()
        self.stream_tool_arguments = stream_tool_arguments
        self._message_id = ""
        self._blocks: dict[int, _Block] = {}
        self._items = 0
        self._calls_out = 0
        self._stop_reason: str | None = None
        self._usage: dict[str, int] = {}
        self._out: list[Event] = []

    # -- public verbs -------------------------------------------------------------------------

    def _on_payload(self, payload: dict[str, object], event: str) -> None:
        kind = payload.get("type")
        if type(kind) is not str:
            kind = event_type(payload, event)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, payload)
        elif kind not in _QUIET:
            logger.debug("skipping a Messages event of type %r", kind[:80])

    def _on_done(self) -> list[Event]:
        return self.end()  # [DONE] before the terminal event: cut short

    def end(self) -> list[Event]:
        """Signal end of input: before ``message_stop`` it sets :attr:`error` to a
        :class:`~trio_chatsse.StreamError` (a stream cut short is never passed off as
        complete)."""
        if self.state is _STREAMING:
            self._fail(StreamError("the stream ended before message_stop"))
        return []

    # -- message ------------------------------------------------------------------------------

    def _on_message_start(self, payload: dict[str, object]) -> None:
        message = payload.get("message")
        if type(message) is dict:
            message_id = message.get("id")
            if type(message_id) is str:
                self._message_id = message_id
            self._take_usage(message.get("usage"))

    def _on_message_delta(self, payload: dict[str, object]) -> None:
        delta = payload.get("delta")
        if type(delta) is dict:
            reason = delta.get("stop_reason")
            if type(reason) is str:
                self._stop_reason = reason
        self._take_usage(payload.get("usage"))

    def _take_usage(self, usage: object) -> None:
        if type(usage) is dict:
            for key, value in usage.items():
                if type(value) is int:
                    self._usage[key] = value  # cumulative: the last word wins

    def _on_message_stop(self, payload: dict[str, object]) -> None:
        reason = self._stop_reason or "end_turn"
        if reason == "model_context_window_exceeded":
            self._fail(
                ContextWindowExceeded(
                    "the model stopped (stop_reason 'model_context_window_exceeded'): "
                    "the context window is full"
                )
            )
            return
        for index in sorted(self._blocks):
            self._close(self._blocks.pop(index))
        finish = _STOP_REASONS.get(reason, reason)
        if finish == "stop" and self._calls_out:
            finish = "tool_calls"
        self._out.append(
            Completed(
                response_id=self._message_id, token_usage=self._token_usage(), finish_reason=finish
            )
        )
        self.state = ParserState.COMPLETED

    def _token_usage(self) -> TokenUsage | None:
        usage = self._usage
        if not usage:
            return None
        cache_read = usage.get("cache_read_input_tokens", 0)
        cache_creation = usage.get("cache_creation_input_tokens", 0)
        input_tokens = usage.get("input_tokens", 0) + cache_read + cache_creation
        output_tokens = usage.get("output_tokens", 0)
        return TokenUsage(
            input_tokens=input_tokens,
            cached_input_tokens=cache_read,
            cache_creation_input_tokens=cache_creation,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )

    # -- blocks -------------------------------------------------------------------------------

    def _on_block_start(self, payload: dict[str, object]) -> None:
        block = payload.get("content_block")
        if type(block) is not dict:
            return
        index = _int(payload.get("index"))
        kind = block.get("type")
        kind = kind if type(kind) is str else ""
        if index in self._blocks:  # the same index again: close the old block first
            self._close(self._blocks.pop(index))
        state = self._blocks[index] = _Block(kind, block)
        if kind == "text":
            self._text(state, block.get("text"))
        elif kind == "thinking":
            self._open_reasoning(state)
            self._thinking(state, block.get("thinking"))
            self._signature(state, block.get("signature"))
        elif kind == "redacted_thinking":
            self._open_reasoning(state)
            data = block.get("data")
            self._signature(state, None)
            state.arguments = [data] if type(data) is str else []
        elif kind == "tool_use":
            state.call = self._allocate()
            if self.stream_tool_arguments and state.name:
                self._add_call(state)
        else:
            logger.debug("skipping a Messages content block of type %r", kind[:80])

    def _on_block_delta(self, payload: dict[str, object]) -> None:
        delta = payload.get("delta")
        state = self._blocks.get(_int(payload.get("index")))
        if type(delta) is not dict or state is None:
            return
        kind = delta.get("type")
        if kind == "text_delta":
            self._text(state, delta.get("text"))
        elif kind == "thinking_delta":
            if state.reasoning is None:
                self._open_reasoning(state)
            self._thinking(state, delta.get("thinking"))
        elif kind == "signature_delta":
            self._signature(state, delta.get("signature"))
        elif kind == "input_json_delta" and state.kind == "tool_use":
            piece = delta.get("partial_json")
            if type(piece) is str and piece:
                state.arguments.append(piece)
                if state.added:
                    self._out.append(self._arguments_delta(state, piece))
        else:
            logger.debug("skipping a Messages delta of type %r", str(kind)[:80])

    def _on_block_stop(self, payload: dict[str, object]) -> None:
        state = self._blocks.pop(_int(payload.get("index")), None)
        if state is not None:
            self._close(state)

    def _text(self, state: _Block, text: object) -> None:
        if type(text) is not str or not text:
            return
        if state.text is None:
            state.text = (self._allocate(), [])
            self._out.append(OutputItemAdded(item=Message(content=[]), output_index=state.text[0]))
        state.text[1].append(text)
        self._out.append(_text_delta({"delta": text}))

    def _open_reasoning(self, state: _Block) -> None:
        state.reasoning = (self._allocate(), [], [])
        self._out.append(OutputItemAdded(item=Reasoning(), output_index=state.reasoning[0]))

    def _thinking(self, state: _Block, text: object) -> None:
        if type(text) is str and text and state.reasoning is not None:
            state.reasoning[1].append(text)
            self._out.append(_reasoning_delta({"delta": text, "content_index": 0}))

    def _signature(self, state: _Block, signature: object) -> None:
        if type(signature) is str and signature and state.reasoning is not None:
            state.reasoning[2].append(signature)

    def _add_call(self, state: _Block) -> None:
        state.added = True
        call = FunctionCall(call_id=state.block_id, name=state.name, arguments="")
        self._out.append(OutputItemAdded(item=call, output_index=state.call))

    @staticmethod
    def _arguments_delta(state: _Block, piece: str) -> FunctionCallArgumentsDelta:
        return _arguments_delta(
            {"delta": piece, "output_index": state.call, "call_id": state.block_id}
        )

    def _allocate(self) -> int:
        index, self._items = self._items, self._items + 1
        return index

    @property
    def partial_text(self) -> str:
        """The text of the text blocks still open, before their done items."""
        blocks = (self._blocks[index].text for index in sorted(self._blocks))
        return "".join("".join(text[1]) for text in blocks if text is not None)

    def _close(self, state: _Block) -> None:
        out = self._out
        if state.reasoning is not None:
            index, text, signature = state.reasoning
            joined = "".join(text)
            data = "".join(state.arguments) if state.kind == "redacted_thinking" else None
            item = Reasoning(
                content=[ReasoningText(text=joined)] if joined else [],
                signature="".join(signature) or None,
                encrypted_content=data,
            )
            out.append(OutputItemDone(item=item, output_index=index))
        if state.text is not None:
            index, pieces = state.text
            message = Message(content=[OutputText(text="".join(pieces))])
            out.append(OutputItemDone(item=message, output_index=index))
        if state.kind == "tool_use":
            self._close_call(state)

    def _close_call(self, state: _Block) -> None:
        arguments = "".join(state.arguments) or "{}"
        if not state.name or not arguments_are_whole(arguments):
            logger.warning(
                "dropping tool call %r (%s): its arguments were cut short or it has no name",
                state.block_id,
                state.name or "no name",
            )
            return
        out = self._out
        if self.stream_tool_arguments:
            if not state.added:  # the name came late: every piece as one delta
                self._add_call(state)
                out.append(self._arguments_delta(state, arguments))
            elif not state.arguments:  # an empty input: "{}" was never streamed
                out.append(self._arguments_delta(state, arguments))
            assert state.call is not None
            out.append(
                FunctionCallArgumentsDone(
                    arguments=arguments,
                    name=state.name,
                    output_index=state.call,
                    call_id=state.block_id,
                )
            )
        call = FunctionCall(call_id=state.block_id, name=state.name, arguments=arguments)
        out.append(OutputItemDone(item=call, output_index=state.call))
        self._calls_out += 1

    # -- errors -------------------------------------------------------------------------------

    def _on_error(self, payload: dict[str, object]) -> None:
        error = payload.get("error")
        self._fail(error_from_object(error if type(error) is dict else payload))


def _int(value: object) -> int:
    return value if type(value) is int else 0


_Handler = Callable[[MessagesEventParser, dict[str, object]], None]
_HANDLERS: dict[str, _Handler] = {
    "content_block_delta": MessagesEventParser._on_block_delta,
    "content_block_start": MessagesEventParser._on_block_start,
    "content_block_stop": MessagesEventParser._on_block_stop,
    "message_start": MessagesEventParser._on_message_start,
    "message_delta": MessagesEventParser._on_message_delta,
    "message_stop": MessagesEventParser._on_message_stop,
    "error": MessagesEventParser._on_error,
}
