"""Layer 2: Gemini's native ``streamGenerateContent?alt=sse`` stream. SSE data in, the same
events out.

A sibling of the other parsers (``feed``, ``end``, ``state``, ``error``). Pure and synchronous.

Theory of operation
-------------------
Each SSE event is a ``GenerateContentResponse``: ``candidates[0].content.parts`` (only
candidate 0 is read), a ``finishReason`` on the candidate, ``usageMetadata``, ``responseId``
(not in old recordings). There is no ``[DONE]``: the end of the body is the end, and a
``finishReason: STOP`` in the middle (a code-execution answer goes on after it) is not.

* A part with ``thought: true`` is reasoning: a :class:`~trio_chatsse.Reasoning` added at the
  first, a reasoning delta each; its ``thoughtSignature`` is kept as the item's ``signature``.
* A text part is the message's: a :class:`~trio_chatsse.Message` added at the first non-empty
  one, a text delta each. The parts sent back next turn are kept, in the order they came, in
  the message's ``provider_fields["gemini_parts"]``: the text joined, each
  ``thoughtSignature`` on the part that carried it (gemini-2.5-pro signs non-empty text;
  Gemini 3 closes an answer with an empty text part that carries one), the calls, a signed
  thought, and the server-side tool parts (``executableCode``, ``codeExecutionResult``...),
  which are skipped as events (a debug log). A turn of calls only has such a message too,
  with no text.
* A ``functionCall`` part is whole: a :class:`~trio_chatsse.FunctionCall` done at once, its
  ``args`` as JSON text (a call without ``args`` has ``{}``), its ``id`` the server's or
  ``gemini_call_N`` (parallel calls come without ids), its signature where the compatible
  route puts it (``extra_content.google.thought_signature``): only the first call of a
  parallel set carries one. Vertex's streamed arguments (``name`` with ``willContinue``, then
  ``partialArgs`` parts, then one without ``willContinue``) are joined
  (``_partial_args.py``): the call is added when it starts (with ``stream_tool_arguments``)
  and done when its last part comes, its arguments whole; it goes back next turn as one
  ``functionCall`` with ``args``, where it started.
* ``finishReason``: ``STOP`` (``tool_calls`` when calls came), ``MAX_TOKENS`` → ``length``,
  ``SAFETY`` / ``RECITATION`` / ``BLOCKLIST`` / ``PROHIBITED_CONTENT`` / ``SPII`` →
  ``content_filter``, ``MALFORMED_FUNCTION_CALL`` → :class:`~trio_chatsse.ProviderError`;
  ``promptFeedback.blockReason`` → ``content_filter`` with no output.
* ``logprobsResult`` (asked with ``generationConfig.responseLogprobs``, and ``logprobs`` for
  the alternatives) goes with the event's text: its tokens on the event's first text delta,
  and all of them on the done message's text; an event with tokens and no text gives an empty
  delta that carries them. A ``logProbability`` left out is 0 (protobuf's JSON omits zeros).
* ``usageMetadata`` comes on every event and only the last with counts is final (Vertex sends
  count-less ones): input ``promptTokenCount``, output ``candidatesTokenCount`` +
  ``thoughtsTokenCount``, reasoning ``thoughtsTokenCount``, cached
  ``cachedContentTokenCount``, total ``totalTokenCount``.
* ``{"error": {...}}`` is mapped by the shared rules (``RESOURCE_EXHAUSTED`` → a rate limit);
  a body that ends with no ``finishReason`` is a :class:`~trio_chatsse.StreamError`.
"""

from __future__ import annotations

import json
import logging

from ._errors import ProviderError, StreamError
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
    TokenLogprob,
    TokenUsage,
)
from ._parsers import ParserCore, ParserState
from ._partial_args import StreamedArguments
from ._response_items import nonempty_str
from ._tool_calls import live_call_events
from ._wire import error_from_object, length_without_limit, token_logprobs

__all__ = ["GENERATED_ID_PREFIX", "GeminiEventParser"]

logger = logging.getLogger(__name__)

#: The prefix of the call ids this library makes for calls the server sent without one.
GENERATED_ID_PREFIX = "gemini_call_"

_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


class GeminiEventParser(ParserCore):
    """Turns the SSE ``data`` of a Gemini ``streamGenerateContent?alt=sse`` stream into events.

    Args:
        token_limit_set: Whether the request set ``maxOutputTokens``: then ``MAX_TOKENS`` ends
            the stream normally (``length``), else it is
            :class:`~trio_chatsse.ContextWindowExceeded`.
        stream_tool_arguments: Also give each call's added event, its arguments as one delta
            and arguments-done, before its done item.
    """

    def __init__(
        self, *, token_limit_set: bool = False, stream_tool_arguments: bool = False
    ) -> None:
        super().__init__()
        self.token_limit_set = token_limit_set
        self.stream_tool_arguments = stream_tool_arguments
        self._response_id = ""
        self._thinking: list[str] | None = None
        self._signature: str | None = None
        self._text: list[str] | None = None
        self._parts: list[dict[str, object]] = []
        self._thinking_index = self._text_index = -1
        self._next_index = 0
        self._calls = 0
        self._finish: str | None = None
        self._usage: TokenUsage | None = None
        #: A call whose arguments Vertex is streaming: its item, arguments, index and part.
        self._streamed: tuple[FunctionCall, StreamedArguments, int, dict[str, object]] | None
        self._streamed = None
        self._logprobs: list[TokenLogprob] = []

    @property
    def partial_text(self) -> str:
        """The message's text so far, before its done item."""
        return "".join(self._text or ())

    def _on_payload(self, payload: dict[str, object], event: str) -> None:
        error = payload.get("error")
        if type(error) is dict:
            self._fail(error_from_object(error))
            return
        response_id = nonempty_str(payload.get("responseId"))
        if response_id:
            self._response_id = response_id
        usage = payload.get("usageMetadata")
        if type(usage) is dict and "totalTokenCount" in usage:
            self._usage = _usage(usage)
        feedback = payload.get("promptFeedback")
        if type(feedback) is dict and feedback.get("blockReason"):
            self._finish = "content_filter"
        candidates = payload.get("candidates")
        if type(candidates) is not list or not candidates or type(candidates[0]) is not dict:
            return
        candidate = candidates[0]
        content = candidate.get("content")
        parts = content.get("parts") if type(content) is dict else None
        first = len(self._out)
        for part in parts if type(parts) is list else ():
            if type(part) is dict:
                self._on_part(part)
        tokens = _logprobs(candidate.get("logprobsResult"))
        if tokens:
            self._on_logprobs(tokens, first)
        finish = candidate.get("finishReason")
        if type(finish) is str and finish:
            self._on_finish(finish)

    def _on_part(self, part: dict[str, object]) -> None:
        signature = nonempty_str(part.get("thoughtSignature"))
        text = part.get("text")
        call = part.get("functionCall")
        if type(text) is str and part.get("thought") is True:
            self._on_thought(text, signature)
        elif type(text) is str:
            self._on_text(text, signature)
        elif type(call) is dict:
            self._on_call(call, signature)
        else:
            # A server-side tool's part (code execution, grounding...): sent back next turn.
            logger.debug("keeping a %s part for the next turn", next(iter(part), "?"))
            self._parts.append(part)

    def _on_thought(self, text: str, signature: str | None) -> None:
        if signature:
            self._signature = signature
            self._parts.append({"text": text, "thought": True, "thoughtSignature": signature})
        if not text:
            return
        if self._thinking is None:
            self._thinking, self._thinking_index = [], self._allocate()
            self._out.append(OutputItemAdded(item=Reasoning(), output_index=self._thinking_index))
        self._thinking.append(text)
        self._out.append(ReasoningContentDelta(delta=text, output_index=self._thinking_index))

    def _on_text(self, text: str, signature: str | None) -> None:
        last = self._parts[-1] if self._parts else None
        if last is not None and "text" in last and "thoughtSignature" not in last:
            last["text"] = str(last["text"]) + text
            if signature:
                last["thoughtSignature"] = signature
        else:
            self._parts.append(
                {"text": text, **({"thoughtSignature": signature} if signature else {})}
            )
        if not text:
            return
        if self._text is None:
            self._text, self._text_index = [], self._allocate()
            self._out.append(OutputItemAdded(item=Message(), output_index=self._text_index))
        self._text.append(text)
        self._out.append(OutputTextDelta(delta=text, output_index=self._text_index))

    def _on_logprobs(self, tokens: list[TokenLogprob], first: int) -> None:
        """An event's tokens, onto its first text delta (from ``first`` on in the output)."""
        for position in range(first, len(self._out)):
            delta = self._out[position]
            if isinstance(delta, OutputTextDelta):
                self._out[position] = delta.model_copy(update={"logprobs": tokens})
                break
        else:
            if self._text is None:
                logger.debug("dropping %d logprobs that came before any text", len(tokens))
                return
            self._out.append(
                OutputTextDelta(delta="", output_index=self._text_index, logprobs=tokens)
            )
        self._logprobs += tokens

    def _on_call(self, call: dict[str, object], signature: str | None) -> None:
        if self._streamed is not None:
            self._streamed[1].add(call.get("partialArgs"))
            if call.get("willContinue") is not True:
                self._end_streamed_call()
            return
        name = call.get("name")
        if type(name) is not str or not name:
            return  # a call without a name is never passed on as one
        self._calls += 1
        part: dict[str, object] = {"functionCall": call}
        if signature:
            part["thoughtSignature"] = signature
        self._parts.append(part)
        call_id = nonempty_str(call.get("id")) or f"{GENERATED_ID_PREFIX}{self._calls}"
        fields: dict[str, object] = {}
        if signature:
            fields["extra_content"] = {"google": {"thought_signature": signature}}
        item = FunctionCall(
            call_id=call_id,
            name=name,
            arguments=json.dumps(call.get("args") or {}),
            provider_fields=fields,
        )
        index = self._allocate()
        if call.get("willContinue") is True:
            arguments = StreamedArguments(call.get("args"))
            arguments.add(call.get("partialArgs"))
            self._streamed = (item, arguments, index, part)
            if self.stream_tool_arguments:
                self._out += live_call_events(item, index)[:1]
            return
        if self.stream_tool_arguments:
            self._out += live_call_events(item, index)
        self._out.append(OutputItemDone(item=item, output_index=index))

    def _end_streamed_call(self) -> None:
        """The last part of a call whose arguments were streamed: the call, done."""
        assert self._streamed is not None
        item, arguments, index, part = self._streamed
        self._streamed = None
        if arguments.skipped:
            logger.warning(
                "%d streamed arguments of call %s could not be placed", arguments.skipped, item.name
            )
        started = part["functionCall"]
        assert isinstance(started, dict)
        whole = {k: v for k, v in started.items() if k in ("name", "id")}
        part["functionCall"] = {**whole, "args": arguments.value}
        item = item.model_copy(update={"arguments": json.dumps(arguments.value)})
        if self.stream_tool_arguments:
            self._out += live_call_events(item, index)[1:]
        self._out.append(OutputItemDone(item=item, output_index=index))

    def _on_finish(self, finish: str) -> None:
        if finish == "MALFORMED_FUNCTION_CALL":
            self._fail(
                ProviderError(
                    "the model wrote a malformed function call (finishReason "
                    "MALFORMED_FUNCTION_CALL)",
                    code=finish,
                )
            )
            return
        if self._streamed is not None:  # a last part never came: the call ends with the answer
            self._end_streamed_call()
        if finish == "MAX_TOKENS":
            overflow = length_without_limit(self.token_limit_set, "finishReason: MAX_TOKENS")
            if overflow is not None:
                self._fail(overflow)
                return
        self._finish = _FINISH.get(finish, finish.lower())

    def _allocate(self) -> int:
        index, self._next_index = self._next_index, self._next_index + 1
        return index

    def _on_done(self) -> list[Event]:
        return []  # no [DONE] in this API; a body that sends one goes on to its end

    def end(self) -> list[Event]:
        """The end of the body is the end of the answer: the items done, then ``Completed``;
        without any ``finishReason`` the stream was cut short."""
        if self.state is not ParserState.STREAMING:
            return []
        if self._finish is None:
            self._fail(StreamError("the stream ended before the model finished (no finishReason)"))
            return []
        out: list[Event] = []
        if self._thinking is not None:
            thought = Reasoning(
                content=[ReasoningText(text="".join(self._thinking))], signature=self._signature
            )
            out.append(OutputItemDone(item=thought, output_index=self._thinking_index))
        if self._parts:
            index = self._text_index if self._text is not None else self._allocate()
            content = []
            if self._text is not None:
                content = [OutputText(text="".join(self._text), logprobs=self._logprobs)]
            fields = {"gemini_parts": self._parts}
            message = Message(content=content, provider_fields=fields)
            out.append(OutputItemDone(item=message, output_index=index))
        finish = self._finish
        if finish == "stop" and self._calls:
            finish = "tool_calls"
        out.append(
            Completed(response_id=self._response_id, token_usage=self._usage, finish_reason=finish)
        )
        self.state = ParserState.COMPLETED
        return out


def _logprobs(result: object) -> list[TokenLogprob]:
    """The tokens of a ``logprobsResult``: each chosen token, with the top candidates of its
    step."""
    if type(result) is not dict or type(chosen := result.get("chosenCandidates")) is not list:
        return []
    steps = result.get("topCandidates")
    steps = steps if type(steps) is list else []

    def entry(candidate: dict[str, object]) -> dict[str, object]:
        return {
            "token": candidate.get("token", ""),
            "logprob": candidate.get("logProbability", 0.0),
        }

    entries = []
    for position, candidate in enumerate(chosen):
        if type(candidate) is not dict:
            continue
        step = steps[position] if position < len(steps) else None
        top = step.get("candidates") if type(step) is dict else None
        alternatives = [entry(c) for c in top if type(c) is dict] if type(top) is list else []
        entries.append({**entry(candidate), "top_logprobs": alternatives})
    return token_logprobs(entries) or []


def _usage(usage: dict[str, object]) -> TokenUsage:
    def count(key: str) -> int:
        value = usage.get(key)
        return value if type(value) is int else 0

    thoughts = count("thoughtsTokenCount")
    return TokenUsage(
        input_tokens=count("promptTokenCount"),
        cached_input_tokens=count("cachedContentTokenCount"),
        output_tokens=count("candidatesTokenCount") + thoughts,
        reasoning_output_tokens=thoughts,
        total_tokens=count("totalTokenCount"),
    )
