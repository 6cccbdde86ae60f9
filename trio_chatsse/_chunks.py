"""Layer 2: the chat-chunk state machine. SSE ``data`` in, Responses-style events out.

Rule 1: everything about how Chat Completions chunks accumulate into items lives here and
only here. The module is pure and synchronous: no trio, no httpx, no I/O.

Theory of operation
-------------------
Each SSE ``data`` payload is one JSON chunk (``chat.completion.chunk``), ``[DONE]``, or junk.
Only ``choices[]`` entries with ``index`` 0 (or no index) feed the items; a chunk with
``"choices": []`` may still carry ``usage`` (OpenAI's final chunk, Azure's filter results).

* Reasoning and text fragments open their item on first sight (``OutputItemAdded``), then
  become ``ReasoningContentDelta`` / ``OutputTextDelta`` events. The fragments are kept in
  lists and joined once, when the item is done. The provider state an agent loop must send
  back rides along: which field the reasoning came in, OpenRouter's ``reasoning_details``
  (merged from their pieces), Gemini's ``extra_content`` on a delta.
* Tool-call fragments go to the :class:`~trio_chatsse._tool_calls.ToolCallAssembler`, which
  matches them to calls and, with ``stream_tool_arguments``, makes their live events.
* ``finish_reason`` closes the items: reasoning, then the tool calls in order of first
  appearance, then the message. ``Completed`` waits for ``[DONE]`` (or end of input) so that
  a ``usage`` chunk sent after the finish still reaches it.
* With ``stream_tool_arguments`` each item event carries its ``output_index``, counted in the
  order of the added events, as in the Responses API; without it the events are exactly the
  reference's and ``output_index`` stays ``None``.
* An error (an ``{"error": ...}`` chunk, ``finish_reason: "error"``, a context overflow) ends
  the stream: it is stored in :attr:`ChatChunkParser.error` after the events returned before
  it, and every later input is ignored.
"""

from __future__ import annotations

import logging

from pydantic import JsonValue

from ._errors import ProviderError, StreamError
from ._models import (
    Completed,
    Event,
    Message,
    OutputItemAdded,
    OutputItemDone,
    OutputText,
    OutputTextDelta,
    Reasoning,
    ReasoningContentDelta,
    ReasoningText,
    Refusal,
    RefusalDelta,
    TokenLogprob,
    TokenUsage,
    constructor,
)
from ._parsers import ParserCore, ParserState
from ._reasoning_details import DetailBuilder, merge_details
from ._tool_calls import ToolCallAssembler, ToolCallsOnStop
from ._wire import (
    THINKING_PARTS,
    error_from_object,
    length_without_limit,
    reasoning_text,
    thinking_text,
    token_logprobs,
    usage_from_object,
)

__all__ = ["ChatChunkParser", "ParserState", "ToolCallsOnStop"]

logger = logging.getLogger(__name__)

_text_delta = constructor(OutputTextDelta)
_reasoning_delta = constructor(ReasoningContentDelta)
_refusal_delta = constructor(RefusalDelta)
_KNOWN_FINISHES = frozenset(
    {"stop", "tool_calls", "function_call", "length", "content_filter", "error", "end_turn"}
)
_REASONING_KEYS = frozenset({"reasoning", "reasoning_content", "reasoning_details"})


class ChatChunkParser(ParserCore):
    """Turns the ``data`` of each SSE event of a Chat Completions stream into events.

    Call :meth:`feed` for each SSE event, then :meth:`end` at end of input. Read
    :attr:`state` and :attr:`error` after each call: once the state is
    :attr:`ParserState.COMPLETED` or :attr:`ParserState.FAILED` the stream is over.

    Args:
        tool_calls_on_stop: What to do with tool calls when the server ends with
            ``finish_reason: "stop"``. ``"emit"`` (the default) passes complete calls on (a
            name and arguments that parse as JSON; Gemini's OpenAI layer and older Ollama end
            real calls this way) and drops partial ones; ``"drop"`` drops them all, as the
            reference implementation does, logging each complete-looking one at WARNING.
        token_limit_set: Whether the request set ``max_tokens`` / ``max_completion_tokens``.
            Then ``finish_reason: "length"`` is a normal end; otherwise it means the context
            window overflowed and raises :class:`~trio_chatsse.ContextWindowExceeded`.
        stream_tool_arguments: Make each tool call's events live: an ``OutputItemAdded``
            once it has a name, a ``FunctionCallArgumentsDelta`` per piece of its arguments,
            and a ``FunctionCallArgumentsDone`` before its ``OutputItemDone``; every item event
            then carries its ``output_index``. Off by default: tool calls come out only as
            done items, as in the reference.
        choices: The request's ``n``. With more than one, every choice is read as an answer
            of its own (its items, deltas and finish reason), each event carries its
            ``choice``, and ``Completed.finish_reasons`` lists each choice's; with one (the
            default) only choice 0 is read.
    """

    def __init__(
        self,
        *,
        tool_calls_on_stop: ToolCallsOnStop = "emit",
        token_limit_set: bool = False,
        stream_tool_arguments: bool = False,
        choices: int = 1,
    ) -> None:
        if tool_calls_on_stop not in ("emit", "drop"):
            raise ValueError(
                f"tool_calls_on_stop must be 'emit' or 'drop', not {tool_calls_on_stop!r}"
            )
        self.tool_calls_on_stop = tool_calls_on_stop
        self.token_limit_set = token_limit_set
        self.stream_tool_arguments = stream_tool_arguments
        super().__init__()
        self._response_id = ""
        self._usage: TokenUsage | None = None
        self._finish_reason: str | None = None
        self._text: list[str] | None = None
        self._refusal: list[str] | None = None
        #: Token logprobs: the current chunk's, not yet passed on, and every one passed on.
        self._pending_text_logprobs: list[TokenLogprob] | None = None
        self._pending_refusal_logprobs: list[TokenLogprob] | None = None
        self._text_logprobs: list[TokenLogprob] = []
        self._refusal_logprobs: list[TokenLogprob] = []
        self._reasoning: list[str] | None = None
        self._reasoning_field: str | None = None
        self._details: list[DetailBuilder] = []
        self._message_fields: dict[str, JsonValue] = {}
        self._saw_tool_calls = False
        self._next_index = 0
        self._message_index: int | None = None
        self._reasoning_index: int | None = None
        self._tools = ToolCallAssembler(
            live=stream_tool_arguments,
            tool_calls_on_stop=tool_calls_on_stop,
            allocate=self._allocate,
        )
        self._out: list[Event] = []
        #: With ``n`` > 1: the other choices, each read by a parser of its own, by index.
        self.choices = choices
        self._others: dict[int, ChatChunkParser] = {}

    # -- public verbs -------------------------------------------------------------------------

    def _on_payload(self, chunk: dict[str, object], event: str) -> None:
        if event == "error" or chunk.get("error") is not None or chunk.get("object") == "error":
            self._on_error(chunk)
        else:
            self._on_chunk(chunk)

    def _on_done(self) -> list[Event]:
        return self._complete()

    def end(self) -> list[Event]:
        """Signal end of input.

        After a finish (with no ``[DONE]``) this completes the stream normally. With no
        finish at all it sets :attr:`error` to a :class:`~trio_chatsse.StreamError`: a
        stream cut short is never passed off as complete.
        """
        if self.state is ParserState.FINISHED:
            return self._complete()
        if self.state is ParserState.STREAMING:
            self._fail(
                StreamError(
                    "the stream ended before the model finished (no finish_reason, no [DONE])"
                )
            )
        return []

    # -- chunks -------------------------------------------------------------------------------

    def _on_chunk(self, chunk: dict[str, object]) -> None:
        if not self._response_id:
            response_id = chunk.get("id")
            if type(response_id) is str:
                self._response_id = response_id
        choices = chunk.get("choices")
        usage = chunk.get("usage")
        if usage is None:
            x_groq = chunk.get("x_groq")  # Groq sends usage under x_groq
            if type(x_groq) is dict:
                usage = x_groq.get("usage")
        if type(choices) is list:
            for choice in choices:
                if type(choice) is not dict:
                    continue
                index = choice.get("index", 0)
                if index in (0, None):
                    if usage is None:
                        usage = choice.get("usage")  # some servers put it inside the choice
                    if self.choices == 1:
                        self._on_choice(choice)
                    else:
                        start = len(self._out)
                        self._on_choice(choice)
                        _tag(self._out, start, 0)
                elif self.choices > 1 and type(index) is int and index > 0:
                    self._on_other_choice(index, choice)
        if type(usage) is dict:
            self._on_usage(usage)

    def _on_other_choice(self, index: int, choice: dict[str, object]) -> None:
        """A choice other than 0 of an ``n`` > 1 stream, read by its own parser."""
        other = self._others.get(index)
        if other is None:
            other = self._others[index] = ChatChunkParser(
                tool_calls_on_stop=self.tool_calls_on_stop,
                token_limit_set=self.token_limit_set,
                stream_tool_arguments=self.stream_tool_arguments,
            )
            other._response_id = self._response_id
        other._on_choice(choice)
        self._take_from(other, index)

    def _take_from(self, other: ChatChunkParser, index: int) -> None:
        start = len(self._out)
        self._out += other._out
        other._out = []
        _tag(self._out, start, index)
        if other.error is not None:
            self._fail(other.error)

    def _on_choice(self, choice: dict[str, object]) -> None:
        if self.state is not ParserState.STREAMING:
            # Items are done; a late fragment cannot reopen them.
            return
        delta = choice.get("delta")
        logprobs = choice.get("logprobs")
        if logprobs:  # absent or null unless the request asked for them
            self._on_logprobs(delta if type(delta) is dict else {}, logprobs)
        elif type(delta) is dict:
            content = delta.get("content")
            if content and len(delta) == 1:
                self._on_content(content)  # most deltas: skip the other lookups
            else:
                self._on_delta(delta, content)
        message = choice.get("message")
        if type(message) is dict:
            self._on_reasoning(message, only_reasoning=True)
        finish_reason = choice.get("finish_reason")
        if finish_reason is not None:
            self._on_finish(finish_reason)

    def _on_logprobs(self, delta: dict[str, object], logprobs: object) -> None:
        """A delta whose tokens came with their log probabilities: each text or refusal delta
        carries the tokens of its chunk; tokens on a chunk with no text (vLLM sends some) come
        as a delta with empty text, so that none is lost."""
        if type(logprobs) is dict:
            self._pending_text_logprobs = token_logprobs(logprobs.get("content"))
            self._pending_refusal_logprobs = token_logprobs(logprobs.get("refusal"))
        self._on_delta(delta, delta.get("content"))
        if self._pending_text_logprobs is not None:
            self._on_content("")
        if self._pending_refusal_logprobs is not None:
            self._on_refusal("")

    def _on_delta(self, delta: dict[str, object], content: object) -> None:
        """A delta with more than text, in order: reasoning, text, refusal, tool calls."""
        if not _REASONING_KEYS.isdisjoint(delta):
            self._on_reasoning(delta)
        if content:
            self._on_content(content)
        refusal = delta.get("refusal")
        if refusal and type(refusal) is str:
            self._on_refusal(refusal)
        tool_calls = delta.get("tool_calls")
        if tool_calls and type(tool_calls) is list:
            self._saw_tool_calls = True
            for fragment in tool_calls:
                if type(fragment) is dict:
                    self._tools.feed(fragment, self._out, self._response_id)
        elif not self._saw_tool_calls:
            function_call = delta.get("function_call")
            if type(function_call) is dict:
                # The legacy single-call form; ignored beside tool_calls (llama.cpp sends
                # both with the same pieces).
                fragment = {"index": -1, "function": function_call}
                self._tools.feed(fragment, self._out, self._response_id)
        extra_content = delta.get("extra_content")
        if extra_content is not None:
            # Gemini's thought signature on a text delta; it goes back on the message.
            self._message_fields["extra_content"] = extra_content  # type: ignore[assignment]  # parsed JSON

    def _on_reasoning(self, holder: dict[str, object], *, only_reasoning: bool = False) -> None:
        # One field per delta, the first that holds text: OpenRouter repeats the same text in
        # "reasoning" and "reasoning_details", which must not be doubled.
        field: str | None = "reasoning"
        text = reasoning_text(holder.get("reasoning"))
        details = None if only_reasoning else holder.get("reasoning_details")
        if type(details) is not list:
            details = None
        if not text and not only_reasoning:
            field = "reasoning_content"
            text = reasoning_text(holder.get("reasoning_content"))
            if not text and details:
                field = None  # sent back as the details themselves
                text = "".join(
                    d["text"] for d in details if type(d) is dict and type(d.get("text")) is str
                )
        if not text and not details:
            return
        if details:
            self._open_reasoning()
            merge_details(self._details, details)
        if text:
            self._add_reasoning(text, field)

    def _open_reasoning(self) -> None:
        if self._reasoning is None:
            self._reasoning = []
            self._reasoning_index = self._allocate_if_live()
            self._out.append(OutputItemAdded(item=Reasoning(), output_index=self._reasoning_index))

    def _add_reasoning(self, text: str, field: str | None) -> None:
        self._open_reasoning()
        if self._reasoning_field is None:
            self._reasoning_field = field
        self._reasoning.append(text)  # type: ignore[union-attr]  # opened above
        self._out.append(_reasoning_delta({"delta": text}))

    def _on_content(self, content: object) -> None:
        if type(content) is str:
            text = content
        elif type(content) is list:
            text = self._content_parts(content)
            if not text:
                return
        else:
            return
        if self._text is None:
            self._text = []
            if self._refusal is None:
                self._open_message()
        self._text.append(text)
        logprobs = self._pending_text_logprobs
        if logprobs is None:
            self._out.append(_text_delta({"delta": text}))
        else:
            self._pending_text_logprobs = None
            self._text_logprobs.extend(logprobs)
            self._out.append(_text_delta({"delta": text, "logprobs": logprobs}))

    def _content_parts(self, parts: list[object]) -> str:
        """The text of a list of content parts; Mistral's ``thinking`` parts (Magistral
        streams its reasoning as ``{"type": "thinking", "thinking": [{"type": "text",
        "text": ...}]}``) go to the reasoning, in their order among the text parts."""
        text: list[str] = []
        for part in parts:
            if type(part) is not dict:
                continue
            if part.get("type") == "thinking":
                if text:  # text before a thinking part (not seen in practice) stays first
                    self._on_content("".join(text))
                    text = []
                thought = thinking_text(part.get("thinking"))
                if thought:
                    self._add_reasoning(thought, THINKING_PARTS)
            elif type(part.get("text")) is str:
                text.append(part["text"])
        return "".join(text)

    def _on_refusal(self, refusal: str) -> None:
        if self._refusal is None:
            self._refusal = []
            if self._text is None:
                self._open_message()
        self._refusal.append(refusal)
        logprobs = self._pending_refusal_logprobs
        if logprobs is None:
            self._out.append(_refusal_delta({"delta": refusal}))
        else:
            self._pending_refusal_logprobs = None
            self._refusal_logprobs.extend(logprobs)
            self._out.append(_refusal_delta({"delta": refusal, "logprobs": logprobs}))

    def _open_message(self) -> None:
        self._message_index = self._allocate_if_live()
        self._out.append(OutputItemAdded(item=Message(), output_index=self._message_index))

    def _allocate(self) -> int:
        """The next ``output_index``, in order of the added events."""
        index = self._next_index
        self._next_index += 1
        return index

    def _allocate_if_live(self) -> int | None:
        return self._allocate() if self.stream_tool_arguments else None

    # -- usage, finish, errors ----------------------------------------------------------------

    def _on_usage(self, usage: dict[str, object]) -> None:
        self._usage = usage_from_object(usage)

    def _on_finish(self, finish_reason: object) -> None:
        reason = finish_reason if type(finish_reason) is str else ""
        if reason == "error":
            self._fail(ProviderError("the provider ended the stream with finish_reason 'error'"))
            return
        if reason == "length":
            overflow = length_without_limit(self.token_limit_set, "finish_reason 'length'")
            if overflow is not None:
                self._fail(overflow)
                return
        if reason not in _KNOWN_FINISHES:
            logger.debug("treating unknown finish_reason %r as 'stop'", reason[:40])
        self._finish(reason or "stop")

    def _finish(self, reason: str) -> None:
        out = self._out
        if self._reasoning is not None:
            out.append(
                OutputItemDone(item=self._reasoning_item(), output_index=self._reasoning_index)
            )
        calls, unnamed = self._tools.finish(reason, out, self._response_id)
        has_message = self._text is not None or self._refusal is not None
        if has_message:
            content: list[OutputText | Refusal] = []
            if self._text is not None:
                content.append(OutputText(text="".join(self._text), logprobs=self._text_logprobs))
            if self._refusal is not None:
                refusal = "".join(self._refusal)
                content.append(Refusal(refusal=refusal, logprobs=self._refusal_logprobs))
            message = Message(content=content, provider_fields=self._message_fields)
            out.append(OutputItemDone(item=message, output_index=self._message_index))
        self._reasoning = self._text = self._refusal = None
        if unnamed and not calls and not has_message and reason in ("tool_calls", "function_call"):
            self._fail(
                StreamError(
                    f"the server sent {unnamed} tool call(s) without a function name and "
                    "nothing else: no usable answer"
                )
            )
            return
        self._finish_reason = "tool_calls" if calls else reason
        self.state = ParserState.FINISHED

    @property
    def partial_text(self) -> str:
        """The text of the message being written (choice 0's), before its done item."""
        return "".join(self._text or ())

    def _reasoning_item(self) -> Reasoning:
        text = "".join(self._reasoning or ())
        return Reasoning(
            content=[ReasoningText(text=text)] if text else [],
            text_field=self._reasoning_field,
            details=[detail.build() for detail in self._details],
        )

    def _complete(self) -> list[Event]:
        out = self._out = []
        if self.state is ParserState.STREAMING:
            # [DONE] with no finish_reason: the server ended the stream on purpose.
            self._finish("stop")
            if self._finish_reason == "stop":
                self._finish_reason = None
        finish_reasons = None
        if self.choices > 1:
            _tag(out, 0, 0)
            finish_reasons = [self._finish_reason]
            for index in sorted(self._others):
                other = self._others[index]
                if other.state is ParserState.STREAMING:
                    other._finish("stop")
                    if other._finish_reason == "stop":
                        other._finish_reason = None
                self._take_from(other, index)
                finish_reasons += [None] * (index - len(finish_reasons)) + [other._finish_reason]
            if self.state is ParserState.FAILED:
                return out
        out.append(
            Completed(
                response_id=self._response_id,
                token_usage=self._usage,
                finish_reason=self._finish_reason,
                finish_reasons=finish_reasons,
            )
        )
        self.state = ParserState.COMPLETED
        return out

    def _on_error(self, chunk: dict[str, object]) -> None:
        # Text sent in the same chunk as the error (OpenRouter does) still comes out first.
        choices = chunk.get("choices")
        if type(choices) is list and self.state is ParserState.STREAMING:
            for choice in choices:
                if type(choice) is dict and choice.get("index", 0) in (0, None):
                    delta = choice.get("delta")
                    if type(delta) is dict:
                        self._on_delta(delta, delta.get("content"))
        error = chunk.get("error", chunk)
        if type(error) is dict:
            self._fail(error_from_object(error))
        else:
            self._fail(error_from_object({"message": str(error)}))


def _tag(events: list[Event], start: int, choice: int) -> None:
    """Mark ``events[start:]`` as the events of ``choice``."""
    for position in range(start, len(events)):
        events[position] = events[position].model_copy(update={"choice": choice})
