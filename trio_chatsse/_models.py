"""Items, content parts, events and usage: immutable pydantic models, no behaviour.

The ``type`` tags follow the OpenAI Responses API, so ``event.model_dump_json()`` prints a
familiar JSON line. All of these names are re-exported from :mod:`trio_chatsse`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal, TypeVar, final

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, field_validator

__all__ = [
    "text_of",
    "Completed",
    "Event",
    "EVENT_ADAPTER",
    "FunctionCall",
    "FunctionCallArgumentsDelta",
    "FunctionCallArgumentsDone",
    "Item",
    "Message",
    "OutputItemAdded",
    "OutputItemDone",
    "OutputText",
    "OutputTextDelta",
    "Reasoning",
    "ReasoningContentDelta",
    "ReasoningDetail",
    "ReasoningSummaryTextDelta",
    "ReasoningText",
    "Refusal",
    "RefusalDelta",
    "SummaryText",
    "TokenLogprob",
    "TokenUsage",
    "TopLogprob",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True, extra="forbid")


def _is_none(value: object) -> bool:
    return value is None


def _is_empty(value: object) -> bool:
    return not value


# Fields added after the first release are left out of a dump while unset, so that the JSON
# of every event that does not use them is exactly what it was (and stays short).
_NONE_OMITTED: Any = Field(default=None, exclude_if=_is_none)


@final
class TokenUsage(_Model):
    """Token counts for one response, from the stream's ``usage`` object."""

    input_tokens: int = 0
    """Prompt tokens (``prompt_tokens``)."""
    cached_input_tokens: int = 0
    """Prompt tokens served from the provider's cache (``prompt_tokens_details.cached_tokens``)."""
    output_tokens: int = 0
    """Completion tokens, reasoning included (``completion_tokens``)."""
    reasoning_output_tokens: int = 0
    """Completion tokens spent on reasoning (``completion_tokens_details.reasoning_tokens``)."""
    total_tokens: int = 0
    """All tokens of the request, as the provider counted them."""
    cache_creation_input_tokens: int = Field(default=0, exclude_if=_is_empty)
    """Prompt tokens written to the provider's cache (the Messages API's
    ``cache_creation_input_tokens``; part of :attr:`input_tokens`)."""


@final
class TopLogprob(_Model):
    """One of the most likely tokens at a position of the text."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True, extra="ignore")

    token: str = ""
    logprob: float | None = None
    """Its log probability (``None`` when the server sent none)."""
    bytes: list[int] | None = None
    """Its UTF-8 bytes (``None`` when the server sent none)."""


@final
class TokenLogprob(_Model):
    """A token the model wrote, with its log probability and the most likely alternatives
    (``top_logprobs`` of the request), as the server reported it."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True, extra="ignore")

    token: str = ""
    logprob: float = math.nan
    """Its log probability (NaN in the rare stream that sent none: every server seen sends
    one, and a float spares each reader a ``None`` check)."""
    bytes: list[int] | None = None
    """Its UTF-8 bytes (``None`` when the server sent none)."""
    top_logprobs: list[TopLogprob] = []

    @field_validator("logprob", mode="before")
    @classmethod
    def _none_is_nan(cls, value: object) -> object:
        return math.nan if value is None else value

    """The most likely tokens at its position, best first (empty unless asked for)."""


@final
class OutputText(_Model):
    """A text part of an assistant :class:`~trio_chatsse.Message`."""

    type: Literal["output_text"] = "output_text"
    text: str
    """The whole text of the part."""
    annotations: list[JsonValue] = Field(default_factory=list, exclude_if=_is_empty)
    """Citations and file references of the text (Responses API), as the server sent them."""
    logprobs: list[TokenLogprob] = Field(default_factory=list, exclude_if=_is_empty)
    """Every token of the text with its log probability, in order, when the request asked
    for them (``logprobs``; the Responses API's ``include``)."""


@final
class Refusal(_Model):
    """A refusal part of an assistant :class:`~trio_chatsse.Message` (from ``delta.refusal``)."""

    type: Literal["refusal"] = "refusal"
    refusal: str
    """The whole refusal text."""
    logprobs: list[TokenLogprob] = Field(default_factory=list, exclude_if=_is_empty)
    """Every token of the refusal with its log probability, when asked for."""


@final
class ReasoningText(_Model):
    """A text part of a :class:`~trio_chatsse.Reasoning` item."""

    type: Literal["reasoning_text"] = "reasoning_text"
    text: str
    """The whole reasoning text of the part."""


@final
class SummaryText(_Model):
    """A part of a :class:`~trio_chatsse.Reasoning` item's summary (Responses API)."""

    type: Literal["summary_text"] = "summary_text"
    text: str
    """The whole text of the summary part."""


@final
class Message(_Model):
    """The assistant's message. Empty when added; whole (one joined part each) when done."""

    type: Literal["message"] = "message"
    id: str | None = None
    """The item's id on a Responses API stream; ``None`` on a Chat Completions one."""
    role: Literal["assistant"] = "assistant"
    content: list[Annotated[OutputText | Refusal, Field(discriminator="type")]] = []
    """The text (and any refusal) of the message."""
    phase: str | None = _NONE_OMITTED
    """``commentary`` or ``final_answer`` when a Responses API model says which this message
    is (a response can hold both)."""
    provider_fields: dict[str, JsonValue] = Field(default_factory=dict, exclude_if=_is_empty)
    """Opaque state the server sent beside the text, such as Gemini's ``extra_content`` (a
    thought signature) on a delta, to be sent back as it came. Left out of the JSON when
    empty."""


@final
class ReasoningDetail(BaseModel):
    """One entry of OpenRouter's ``reasoning_details``, merged from its streamed pieces.

    OpenRouter streams each entry in pieces that share its ``type`` and ``index`` (the text in
    fragments, a ``signature`` on a late one) and asks for the merged entries back unmodified
    so that reasoning survives tool calls (Anthropic and Gemini models behind it need it).
    Keys not listed here are kept too. Unset fields are left out of the JSON.
    """

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True, extra="allow")

    type: str
    """``reasoning.text``, ``reasoning.summary`` or ``reasoning.encrypted``."""
    text: str | None = _NONE_OMITTED
    """The reasoning text (``reasoning.text``)."""
    summary: str | None = _NONE_OMITTED
    """The summary text (``reasoning.summary``)."""
    data: str | None = _NONE_OMITTED
    """Encrypted reasoning, opaque (``reasoning.encrypted``)."""
    signature: str | None = _NONE_OMITTED
    """A signature that the provider checks when the entry comes back."""
    format: str | None = _NONE_OMITTED
    """The provider's format of the entry (``anthropic-claude-v1``, ``google-gemini-v1``...)."""
    index: int | None = _NONE_OMITTED
    """The entry's position; the streamed pieces of one entry share it."""
    id: str | None = _NONE_OMITTED
    """The entry's id, when the provider gives one."""


@final
class Reasoning(_Model):
    """The model's reasoning ("thinking"). Empty when added; whole when done.

    Besides the text it keeps the provider state that the next request of an agent loop may
    have to carry back (see :func:`~trio_chatsse.assistant_message`).
    """

    type: Literal["reasoning"] = "reasoning"
    id: str | None = None
    """The item's id on a Responses API stream; ``None`` where the server gives none (Chat
    Completions and Messages API streams), as for the other items."""
    summary: list[SummaryText] = []
    """The reasoning summary, one entry per part (Responses API; Chat Completions streams send
    none)."""
    content: list[ReasoningText] = []
    """The reasoning text, as one joined part on a Chat Completions stream, and as the parts
    sent on a Responses API stream (gpt-oss servers, LM Studio)."""
    encrypted_content: str | None = _NONE_OMITTED
    """The reasoning in encrypted form, when a Responses API request asked for it
    (``include=["reasoning.encrypted_content"]``): what a stateless multi-turn loop sends back.
    On a Messages API stream, the opaque ``data`` of a ``redacted_thinking`` block."""
    signature: str | None = _NONE_OMITTED
    """The signature of a Messages API ``thinking`` block, which must go back unchanged with
    the block in the next request."""
    text_field: str | None = _NONE_OMITTED
    """The delta field the text came in (``reasoning_content`` from DeepSeek, vLLM and
    llama.cpp; ``reasoning`` from OpenRouter, Groq and Ollama), which is where the next request
    must put it back: Groq rejects ``reasoning_content``, Ollama and vLLM read ``reasoning``."""
    details: list[ReasoningDetail] = Field(default_factory=list, exclude_if=_is_empty)
    """OpenRouter's ``reasoning_details``, each entry merged from its pieces."""


@final
class FunctionCall(_Model):
    """A complete tool call: a function name and its JSON arguments, as text."""

    type: Literal["function_call"] = "function_call"
    id: str | None = None
    """The item's id on a Responses API stream (``fc_...``); ``None`` on a Chat Completions
    one."""
    call_id: str
    """The call's id from the stream, or a generated one when the server sent none."""
    name: str
    """The function to call."""
    arguments: str
    """The arguments as the model wrote them, as JSON text (not parsed)."""
    provider_fields: dict[str, JsonValue] = Field(default_factory=dict, exclude_if=_is_empty)
    """The keys of the server's tool call beside ``id``, ``type`` and ``function``, kept to be
    sent back as they came: Gemini's ``extra_content`` with its thought signature, which
    Gemini 3 requires on the next request. Left out of the JSON when empty."""

    @property
    def thought_signature(self) -> str | None:
        """Gemini's ``extra_content.google.thought_signature``, when the call has one."""
        extra = self.provider_fields.get("extra_content")
        google = extra.get("google") if isinstance(extra, dict) else None
        signature = google.get("thought_signature") if isinstance(google, dict) else None
        return signature if isinstance(signature, str) else None


Item = Annotated[Message | Reasoning | FunctionCall, Field(discriminator="type")]


def text_of(items: Iterable[Item]) -> str:
    """The assistant's text in ``items``: their messages' text parts, joined."""
    return "".join(
        part.text
        for item in items
        if isinstance(item, Message)
        for part in item.content
        if isinstance(part, OutputText)
    )


"""Any output item: a :class:`Message`, a :class:`Reasoning` or a :class:`FunctionCall`."""


@final
class OutputItemAdded(_Model):
    """An item has started: a message or a reasoning, whose deltas follow, or (with
    ``stream_tool_arguments=True``) a tool call, whose argument deltas follow."""

    type: Literal["response.output_item.added"] = "response.output_item.added"
    item: Item
    """The new item, still empty (a tool call has its name and call id, no arguments)."""
    output_index: int | None = _NONE_OMITTED
    """The item's position in the response's output, in order of the added events, as in the
    Responses API; ``None`` (and left out of the JSON) on a Chat Completions stream read
    without ``stream_tool_arguments``, whose events stay the reference's."""
    choice: int | None = _NONE_OMITTED
    """Which choice of a Chat Completions stream with ``n`` > 1 it belongs to (``choices[].
    index``); ``None`` (and left out of the JSON) on a stream of one answer."""


@final
class OutputTextDelta(_Model):
    """A fragment of the assistant's text."""

    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    delta: str
    """The new text."""
    output_index: int | None = _NONE_OMITTED
    """The message's position in the output, on a Responses API stream (which can hold
    several messages); ``None`` on a Chat Completions stream, which has one."""
    logprobs: list[TokenLogprob] | None = _NONE_OMITTED
    """The tokens of this piece with their log probabilities, when the request asked for
    them; ``None`` otherwise. A piece may carry tokens and no text (a server that sent them
    on a chunk of their own)."""
    choice: int | None = _NONE_OMITTED
    """Which choice of a Chat Completions stream with ``n`` > 1 it belongs to (``choices[].
    index``); ``None`` (and left out of the JSON) on a stream of one answer."""


@final
class RefusalDelta(_Model):
    """A fragment of a refusal (``delta.refusal``)."""

    type: Literal["response.refusal.delta"] = "response.refusal.delta"
    delta: str
    """The new refusal text."""
    output_index: int | None = _NONE_OMITTED
    """The message's position in the output, on a Responses API stream."""
    logprobs: list[TokenLogprob] | None = _NONE_OMITTED
    """The tokens of this piece with their log probabilities, when asked for."""
    choice: int | None = _NONE_OMITTED
    """Which choice of a Chat Completions stream with ``n`` > 1 it belongs to (``choices[].
    index``); ``None`` (and left out of the JSON) on a stream of one answer."""


@final
class ReasoningContentDelta(_Model):
    """A fragment of the model's reasoning text."""

    type: Literal["response.reasoning_text.delta"] = "response.reasoning_text.delta"
    delta: str
    """The new reasoning text."""
    content_index: int = 0
    """The index of the content part it extends (always 0 on a Chat Completions stream, whose
    reasoning is one part)."""
    output_index: int | None = _NONE_OMITTED
    """The reasoning item's position in the output, on a Responses API stream."""
    choice: int | None = _NONE_OMITTED
    """Which choice of a Chat Completions stream with ``n`` > 1 it belongs to (``choices[].
    index``); ``None`` (and left out of the JSON) on a stream of one answer."""


@final
class ReasoningSummaryTextDelta(_Model):
    """A fragment of a reasoning summary (Responses API streams only).

    A summary is what a Responses API model shows of its reasoning when the request asked for
    one (``reasoning={"summary": "auto"}``); the done :class:`Reasoning` item holds the
    whole parts in ``summary``.
    """

    type: Literal["response.reasoning_summary_text.delta"] = "response.reasoning_summary_text.delta"
    delta: str
    """The new summary text."""
    summary_index: int = 0
    """The summary part it extends."""
    output_index: int | None = _NONE_OMITTED
    """The reasoning item's position in the output."""


@final
class FunctionCallArgumentsDelta(_Model):
    """New text of a tool call's arguments (only with ``stream_tool_arguments=True``).

    The deltas of one call, joined, are its whole arguments. They are JSON only once whole;
    :func:`~trio_chatsse.sansio.parse_partial_json` reads a prefix for live display.
    """

    type: Literal["response.function_call_arguments.delta"] = (
        "response.function_call_arguments.delta"
    )
    delta: str
    """The new text of the arguments."""
    output_index: int
    """The call's position in the output (its :class:`OutputItemAdded` has the same)."""
    call_id: str
    """The call's id, as in its :class:`OutputItemAdded`."""
    item_id: str | None = _NONE_OMITTED
    """The item's id, on a Responses API stream."""
    choice: int | None = _NONE_OMITTED
    """Which choice of a Chat Completions stream with ``n`` > 1 it belongs to (``choices[].
    index``); ``None`` (and left out of the JSON) on a stream of one answer."""


@final
class FunctionCallArgumentsDone(_Model):
    """A tool call's arguments are complete (only with ``stream_tool_arguments=True``);
    its :class:`OutputItemDone` follows."""

    type: Literal["response.function_call_arguments.done"] = "response.function_call_arguments.done"
    arguments: str
    """The whole arguments, as JSON text."""
    name: str
    """The function's name."""
    output_index: int
    """The call's position in the output."""
    call_id: str
    """The call's id."""
    item_id: str | None = _NONE_OMITTED
    """The item's id, on a Responses API stream."""
    choice: int | None = _NONE_OMITTED
    """Which choice of a Chat Completions stream with ``n`` > 1 it belongs to (``choices[].
    index``); ``None`` (and left out of the JSON) on a stream of one answer."""


@final
class OutputItemDone(_Model):
    """An item is complete: a whole message, a whole reasoning, or a tool call."""

    type: Literal["response.output_item.done"] = "response.output_item.done"
    item: Item
    """The complete item."""
    output_index: int | None = _NONE_OMITTED
    """The item's position in the output, as in its :class:`OutputItemAdded`; ``None`` (and
    left out of the JSON) on a Chat Completions stream read without ``stream_tool_arguments``."""
    choice: int | None = _NONE_OMITTED
    """Which choice of a Chat Completions stream with ``n`` > 1 it belongs to (``choices[].
    index``); ``None`` (and left out of the JSON) on a stream of one answer."""


@final
class Completed(_Model):
    """The response ended normally. Always the last event, exactly once."""

    type: Literal["response.completed"] = "response.completed"
    response_id: str = ""
    """The ``id`` of the stream's chunks, or of the Responses API response (empty when the
    server sent none)."""
    token_usage: TokenUsage | None = None
    """Token counts, when the server sent a ``usage`` object."""
    finish_reason: str | None = None
    """Why the model stopped, as the server said (``stop``, ``tool_calls``, ``length`` for the
    request's own token limit, ``content_filter``, ...), except that it is ``tool_calls``
    whenever tool calls came out, even when the server said ``stop``; ``None`` when the stream
    ended with ``[DONE]`` but no finish reason. With ``n`` > 1, choice 0's."""
    finish_reasons: list[str | None] | None = _NONE_OMITTED
    """With ``n`` > 1, each choice's finish reason, by its index (under the same rules as
    :attr:`finish_reason`); ``None`` (and left out of the JSON) on a stream of one answer."""


Event = Annotated[
    OutputItemAdded
    | OutputTextDelta
    | RefusalDelta
    | ReasoningContentDelta
    | ReasoningSummaryTextDelta
    | FunctionCallArgumentsDelta
    | FunctionCallArgumentsDone
    | OutputItemDone
    | Completed,
    Field(discriminator="type"),
]
"""Any event of a stream, discriminated by ``type``."""

#: Validates an event from its JSON or dict form (for example a logged ``model_dump_json()``).
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


_M = TypeVar("_M", bound=BaseModel)


def constructor(model: type[_M]) -> Callable[[dict[str, Any]], _M]:
    """``model(**fields)`` for the hot path: the validator ``BaseModel.__init__`` calls,
    without its Python frame. The same validation and the same instance, for less per event
    (figures: ``docs/design.rst``, "Measured costs")."""
    return model.__pydantic_validator__.validate_python
