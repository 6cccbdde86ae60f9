"""Layer 2: the Responses API event parser. SSE ``data`` in, the same events out.

The sibling of the chat-chunk parser (same verbs: ``feed``, ``end``, ``state``, ``error``),
for ``POST /responses`` streams. Where the chat parser accumulates fragments into items, this
one maps events whose shape is already close to ours. Pure and synchronous: no trio, no I/O.

Theory of operation
-------------------
Each SSE ``data`` is one JSON event whose ``type`` names it (the ``event:`` line, which some
replays leave out, is used only when the data has no ``type``). Real streams bend the
specification, and the parser is written for what they send (recordings of OpenAI, LM Studio,
xAI, llama.cpp's server, a Copilot proxy and LiteLLM's bridge):

* Items are message, reasoning and function_call; other kinds (``web_search_call``,
  ``mcp_approval_request``, ``tool_search_call``...) are skipped, with their events.
  ``output_index`` here counts the items passed on, in order of their added events.
* An event finds its item by the server's ``output_index``, else its ``item_id``, else as the
  last open item of its kind: llama.cpp sends neither, and a proxy may change item ids on every
  event. A delta or a done item for an item never added opens one first, so every item is
  added before it is done.
* The done item is the truth (a proxy may re-cut or re-number what came before): text that
  came only in the done item (LiteLLM sends a message's whole text there and no deltas) comes
  out as one delta before the done event, so a consumer that prints deltas prints all of it.
* Function calls follow the chat rule: by default only their done item; with
  ``stream_tool_arguments`` their added event, argument deltas (one delta of the whole text
  when the server sent none) and arguments-done too.
* ``response.completed`` gives ``Completed`` once and last, with the completed response's id
  and usage (those of ``created`` may differ behind a proxy); the body may stay open after it.
  ``response.incomplete`` is a ``length`` or ``content_filter`` finish, handled as the chat
  parser handles them. ``error`` (nested or flat), ``response.failed`` and a Chat-style
  ``{"error": {...}}`` with no ``type`` (LiteLLM's bridge when the upstream fails) are mapped
  by code. A body that ends without ``response.completed`` is a ``StreamError``.
* ``sequence_number`` is checked when present (``_sequence.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ._errors import ProviderError, StreamError
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
    ReasoningSummaryTextDelta,
    ReasoningText,
    Refusal,
    SummaryText,
    TokenUsage,
    constructor,
)
from ._parsers import ParserState
from ._response_items import (
    KINDS,
    QUIET_EVENTS,
    Kind,
    StreamedItem,
    calls_in,
    delta_with_logprobs,
    done_part,
    index_of,
    nonempty_str,
    part_delta,
    parts_of,
    streamed_part,
)
from ._sequence import SequencedCore
from ._wire import (
    arguments_are_whole,
    error_from_object,
    event_type,
    length_without_limit,
    usage_from_object,
)

__all__ = ["ResponsesEventParser"]

logger = logging.getLogger(__name__)

_text_delta = constructor(OutputTextDelta)
_reasoning_delta = constructor(ReasoningContentDelta)
_arguments_delta = constructor(FunctionCallArgumentsDelta)

_STREAMING = ParserState.STREAMING


class ResponsesEventParser(SequencedCore):
    """Turns the ``data`` of each SSE event of a Responses API stream into events.

    The same verbs as :class:`~trio_chatsse.sansio.ChatChunkParser`: call :meth:`feed` for each SSE
    event and :meth:`end` at end of input; once :attr:`state` is ``COMPLETED`` or ``FAILED``
    the stream is over (:attr:`error` says why it failed).

    Args:
        token_limit_set: Whether the request set ``max_output_tokens``. Then a response left
            ``incomplete`` for that reason ends normally (``finish_reason: "length"``);
            otherwise it raises :class:`~trio_chatsse.ContextWindowExceeded`, as a chat
            stream's ``length`` finish does.
        stream_tool_arguments: Pass function calls on as they stream (added event, argument
            deltas, arguments done), as :class:`~trio_chatsse.sansio.ChatChunkParser` does.
        resumable: Read a stream that may be resumed (a background response's): an event whose
            ``sequence_number`` was already read is skipped, and a gap is a
            :class:`~trio_chatsse.StreamError` rather than a log line.
        starting_after: With ``resumable``, the ``sequence_number`` the input starts after
            (a stream resumed with ``starting_after=N``).
        response_id: The response's id, when the input may not say it (a resumed stream).
    """

    def __init__(
        self,
        *,
        token_limit_set: bool = False,
        stream_tool_arguments: bool = False,
        resumable: bool = False,
        starting_after: int | None = None,
        response_id: str = "",
    ):
        self.token_limit_set = token_limit_set
        self.stream_tool_arguments = stream_tool_arguments
        super().__init__(resumable, starting_after, response_id)
        self._items: list[StreamedItem] = []
        self._open: list[StreamedItem] = []
        self._by_server_index: dict[int, StreamedItem] = {}
        self._by_id: dict[str, StreamedItem] = {}
        self._calls_out = 0
        #: A stream resumed from a cursor: items it did not see begin began before it.
        self._resumed_midway = starting_after is not None

    # -- public verbs -------------------------------------------------------------------------

    def _on_payload(self, payload: dict[str, object], event: str) -> None:
        kind = payload.get("type")
        if type(kind) is not str:
            kind = event_type(payload, event)
        number = payload.get("sequence_number")
        if type(number) is int:
            last = self._last_sequence
            if last is not None and number != last + 1 and self._out_of_order(last, number):
                return
            self._last_sequence = number
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, payload)
        elif kind not in QUIET_EVENTS:
            logger.debug("skipping a Responses event of type %r", kind[:80])

    def _on_done(self) -> list[Event]:
        return self.end()  # [DONE] before the terminal event: cut short

    def end(self) -> list[Event]:
        """Signal end of input: before ``response.completed`` it sets :attr:`error` to a
        :class:`~trio_chatsse.StreamError` (a stream cut short is never passed off as
        complete)."""
        if self.state is ParserState.STREAMING:
            self._fail(StreamError("the stream ended before response.completed"))
        return []

    # -- items --------------------------------------------------------------------------------

    @property
    def partial_text(self) -> str:
        """The text of the messages still open, before their done items."""
        return "".join(item.text() for item in self._open if item.kind == "message")

    def _on_item_added(self, payload: dict[str, object]) -> None:
        fields = payload.get("item")
        if type(fields) is not dict:
            return
        self._open_item(fields, payload)

    def _open_item(self, fields: dict[str, object], payload: dict[str, object]) -> StreamedItem:
        kind = fields.get("type")
        if kind in KINDS:
            item = StreamedItem(kind, len(self._items), fields)  # type: ignore[arg-type]  # checked
            self._items.append(item)
            self._open.append(item)
        else:
            logger.debug("skipping an output item of type %r", str(kind)[:80])
            item = StreamedItem("skipped", -1, fields)
        server_index = payload.get("output_index")
        if type(server_index) is int:
            self._by_server_index[server_index] = item
        if item.item_id is not None:
            self._by_id[item.item_id] = item
        if item.kind == "message":
            phase = fields.get("phase")
            message = Message(id=item.item_id, phase=phase if type(phase) is str else None)
            self._add(item, message)
        elif item.kind == "reasoning":
            self._add(item, Reasoning(id=item.item_id))
        elif item.kind == "function_call" and self.stream_tool_arguments and item.name:
            self._add(item, item.function_call(""))
        return item

    def _add(self, item: StreamedItem, model: Message | Reasoning | FunctionCall) -> None:
        item.added = True
        self._out.append(OutputItemAdded(item=model, output_index=item.index))

    def _find(
        self, payload: dict[str, object], kind: Kind, fields: dict[str, object] | None = None
    ) -> StreamedItem | None:
        """The item an event belongs to (``None`` for a skipped one), opened if unknown.

        ``fields`` is the item of a done event (its id is ``fields["id"]``, not ``item_id``).
        """
        server_index = payload.get("output_index")
        item = self._by_server_index.get(server_index) if type(server_index) is int else None
        if item is not None and item.kind == kind:
            return item  # nearly every event: its item, found by its output_index
        item_id = (fields or payload).get("id" if fields is not None else "item_id")
        if item is None and type(item_id) is str:
            item = self._by_id.get(item_id)
        if item is None or (item.kind != kind and item.kind != "skipped"):
            item = next((i for i in reversed(self._open) if i.kind == kind), None)
        if item is None:
            opened = dict(fields) if fields is not None else {"type": kind, "id": item_id}
            item = self._open_item(opened, payload)
            item.started_before = self._resumed_midway
        return None if item.kind == "skipped" else item

    def _on_item_done(self, payload: dict[str, object]) -> None:
        fields = payload.get("item")
        if type(fields) is not dict:
            return
        kind = fields.get("type")
        if kind not in KINDS:
            return
        item = self._find(payload, kind, fields)
        if item is None or item not in self._open:
            return  # done twice, or a skipped item
        self._close(item, fields)

    def _close(self, item: StreamedItem, fields: dict[str, object]) -> None:
        """End an item from its done fields (the truth) and what streamed before them."""
        self._open.remove(item)
        if item.kind == "message":
            self._close_message(item, fields)
        elif item.kind == "reasoning":
            self._close_reasoning(item, fields)
        else:
            self._close_call(item, fields)

    def _close_message(self, item: StreamedItem, fields: dict[str, object]) -> None:
        content: list[OutputText | Refusal] = []
        for index, part in enumerate(parts_of(fields.get("content"))):
            done = done_part(part, index, item)
            if done is not None:
                content.append(done)
                text = done.refusal if isinstance(done, Refusal) else done.text
                self._catch_up(item, (done.type.removeprefix("output_"), index), text)
        if not content:  # the done item left its content out: what streamed is the answer
            content = [streamed_part(key, pieces, item) for key, pieces in item.parts.items()]
        phase = fields.get("phase", item.fields.get("phase"))
        message = Message(
            id=nonempty_str(fields.get("id")) or item.item_id,
            content=content,
            phase=phase if type(phase) is str else None,
        )
        self._out.append(OutputItemDone(item=message, output_index=item.index))

    def _close_reasoning(self, item: StreamedItem, fields: dict[str, object]) -> None:
        summary = [
            SummaryText(text=p["text"])
            for p in parts_of(fields.get("summary"))
            if type(p.get("text")) is str
        ]
        content = [
            ReasoningText(text=p["text"])
            for p in parts_of(fields.get("content"))
            if type(p.get("text")) is str
        ]
        for index, part in enumerate(summary):
            self._catch_up(item, ("summary", index), part.text)
        for index, text_part in enumerate(content):
            self._catch_up(item, ("reasoning", index), text_part.text)
        if not summary and not content:
            summary = [
                SummaryText(text="".join(p)) for (k, _), p in item.parts.items() if k == "summary"
            ]
            content = [
                ReasoningText(text="".join(p))
                for (k, _), p in item.parts.items()
                if k == "reasoning"
            ]
        encrypted = fields.get("encrypted_content")
        reasoning = Reasoning(
            id=nonempty_str(fields.get("id")) or item.item_id,
            summary=summary,
            content=content,
            encrypted_content=encrypted if type(encrypted) is str else None,
        )
        self._out.append(OutputItemDone(item=reasoning, output_index=item.index))

    def _close_call(
        self, item: StreamedItem, fields: dict[str, object], *, complete_only: bool = False
    ) -> None:
        item.name = nonempty_str(fields.get("name")) or item.name
        item.call_id = nonempty_str(fields.get("call_id")) or item.call_id
        arguments = fields.get("arguments")
        if type(arguments) is not str or not arguments:
            arguments = item.arguments_done or "".join(item.arguments)
        if not item.name:
            logger.warning(
                "dropping a function call that never received a name (call id %r)",
                item.call_id[:80],
            )
            return
        if complete_only and not arguments_are_whole(arguments):
            logger.debug("dropping a function call cut short (%r)", item.name)
            return
        if self.stream_tool_arguments:
            if not item.added:
                self._add(item, item.function_call(""))
            if not item.deltas_sent and arguments:
                self._out.append(self._arguments_delta(item, arguments))
            self._out.append(
                FunctionCallArgumentsDone(
                    arguments=arguments,
                    name=item.name,
                    output_index=item.index,
                    call_id=item.call_id,
                    item_id=item.item_id,
                )
            )
        if item.item_id is None:
            item.item_id = nonempty_str(fields.get("id"))
        call = item.function_call(arguments)
        self._out.append(OutputItemDone(item=call, output_index=item.index))
        self._calls_out += 1

    def _catch_up(self, item: StreamedItem, part: tuple[str, int], text: str) -> None:
        """Text a done item holds that no delta carried comes out as one delta first."""
        if not text or part in item.parts or item.started_before:
            return
        self._out.append(part_delta(part, text, item.index))
        item.parts[part] = [text]

    # -- deltas -------------------------------------------------------------------------------

    def _on_text_delta(self, payload: dict[str, object]) -> None:
        delta, item = self._delta(payload, "message", "text", "content_index")
        if item is not None:
            logprobs = payload.get("logprobs")  # [] unless the request asked for them
            if not logprobs:
                self._out.append(_text_delta({"delta": delta, "output_index": item.index}))
            else:
                part = ("text", index_of(payload, "content_index"))
                self._out.append(delta_with_logprobs(item, part, delta, logprobs))

    def _on_refusal_delta(self, payload: dict[str, object]) -> None:
        delta, item = self._delta(payload, "message", "refusal", "content_index")
        if item is not None:
            part = ("refusal", index_of(payload, "content_index"))
            self._out.append(delta_with_logprobs(item, part, delta, payload.get("logprobs")))

    def _on_reasoning_delta(self, payload: dict[str, object]) -> None:
        delta, item = self._delta(payload, "reasoning", "reasoning", "content_index")
        if item is not None:
            index = index_of(payload, "content_index")
            self._out.append(
                _reasoning_delta(
                    {"delta": delta, "content_index": index, "output_index": item.index}
                )
            )

    def _on_summary_delta(self, payload: dict[str, object]) -> None:
        delta, item = self._delta(payload, "reasoning", "summary", "summary_index")
        if item is not None:
            index = index_of(payload, "summary_index")
            self._out.append(
                ReasoningSummaryTextDelta(delta=delta, summary_index=index, output_index=item.index)
            )

    def _delta(
        self, payload: dict[str, object], kind: Kind, part: str, part_key: str
    ) -> tuple[str, StreamedItem | None]:
        """The delta's text and its item, its text kept; ``None`` when there is nothing to pass."""
        delta = payload.get("delta")
        if type(delta) is not str or not delta:
            return "", None
        # Nearly every delta names its item by output_index: found here without _find's call.
        server_index = payload.get("output_index")
        item = self._by_server_index.get(server_index) if type(server_index) is int else None
        if item is None or item.kind != kind:
            item = self._find(payload, kind)
            if item is None:
                return delta, None
        index = payload.get(part_key)
        key = (part, index if type(index) is int else 0)
        pieces = item.parts.get(key)
        if pieces is None:
            item.parts[key] = [delta]
        else:
            pieces.append(delta)
        item.deltas_sent = True
        return delta, item

    def _on_arguments_delta(self, payload: dict[str, object]) -> None:
        delta = payload.get("delta")
        if type(delta) is not str or not delta:
            return
        item = self._find(payload, "function_call")
        if item is None:
            return
        item.arguments.append(delta)
        if self.stream_tool_arguments and item.added:
            item.deltas_sent = True
            self._out.append(self._arguments_delta(item, delta))

    def _arguments_delta(self, item: StreamedItem, delta: str) -> FunctionCallArgumentsDelta:
        item.deltas_sent = True
        return _arguments_delta(
            {
                "delta": delta,
                "output_index": item.index,
                "call_id": item.call_id,
                "item_id": item.item_id,
            }
        )

    def _on_arguments_done(self, payload: dict[str, object]) -> None:
        arguments = payload.get("arguments")
        item = self._find(payload, "function_call")
        if item is not None and type(arguments) is str:
            item.arguments_done = arguments

    # -- the response -------------------------------------------------------------------------

    def _on_response_started(self, payload: dict[str, object]) -> None:
        response = payload.get("response")
        if type(response) is dict and not self._response_id:
            self._response_id = nonempty_str(response.get("id")) or ""

    def _on_completed(self, payload: dict[str, object]) -> None:
        self._finish(payload.get("response"), "stop")

    def _on_incomplete(self, payload: dict[str, object]) -> None:
        response = payload.get("response")
        details = response.get("incomplete_details") if type(response) is dict else None
        reason = details.get("reason") if type(details) is dict else None
        if reason == "max_output_tokens":
            overflow = length_without_limit(
                self.token_limit_set, "response incomplete: max_output_tokens"
            )
            if overflow is not None:
                self._fail(overflow)
                return
        reason = "length" if reason == "max_output_tokens" else nonempty_str(reason) or "length"
        self._finish(response, reason)

    def _finish(self, response: object, reason: str) -> None:
        """Close what is still open, then ``Completed``, once and last. A function call never
        done comes out only if its arguments are whole JSON, as at a chat stream's finish."""
        for item in list(self._open):
            self._open.remove(item)
            if item.kind == "function_call":
                self._close_call(item, {}, complete_only=True)
            elif item.kind == "message":
                self._close_message(item, {})
            else:
                self._close_reasoning(item, {})
        usage: TokenUsage | None = None
        if type(response) is dict:
            self._response_id = nonempty_str(response.get("id")) or self._response_id
            raw_usage = response.get("usage")
            if type(raw_usage) is dict:
                usage = usage_from_object(raw_usage)
        calls = self._calls_out or (self._resumed_midway and calls_in(response))
        finish = "tool_calls" if calls else reason
        self._out.append(
            Completed(response_id=self._response_id, token_usage=usage, finish_reason=finish)
        )
        self.state = ParserState.COMPLETED

    def _on_failed(self, payload: dict[str, object]) -> None:
        response = payload.get("response")
        error = response.get("error") if type(response) is dict else None
        if type(error) is dict:
            self._fail(error_from_object(error))
        else:
            self._fail(ProviderError("the response failed, and the server said no more"))

    def _on_error(self, payload: dict[str, object]) -> None:
        # The "error" event nests {type, code, message, param} under "error" in practice and
        # is flat in the documentation; a Chat-style error object has only "error".
        error = payload.get("error")
        self._fail(error_from_object(error if type(error) is dict else payload))


_Handler = Callable[[ResponsesEventParser, dict[str, object]], None]
_HANDLERS: dict[str, _Handler] = {
    "response.output_text.delta": ResponsesEventParser._on_text_delta,
    "response.function_call_arguments.delta": ResponsesEventParser._on_arguments_delta,
    "response.reasoning_summary_text.delta": ResponsesEventParser._on_summary_delta,
    "response.reasoning_text.delta": ResponsesEventParser._on_reasoning_delta,
    "response.refusal.delta": ResponsesEventParser._on_refusal_delta,
    "response.output_item.added": ResponsesEventParser._on_item_added,
    "response.output_item.done": ResponsesEventParser._on_item_done,
    "response.function_call_arguments.done": ResponsesEventParser._on_arguments_done,
    "response.created": ResponsesEventParser._on_response_started,
    "response.in_progress": ResponsesEventParser._on_response_started,
    "response.queued": ResponsesEventParser._on_response_started,
    "response.completed": ResponsesEventParser._on_completed,
    "response.incomplete": ResponsesEventParser._on_incomplete,
    "response.failed": ResponsesEventParser._on_failed,
    "error": ResponsesEventParser._on_error,
}
