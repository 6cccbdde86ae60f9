"""Items, content parts, events and usage: immutable pydantic models, no behaviour.

The ``type`` tags follow the OpenAI Responses API, so ``event.model_dump_json()`` prints a
familiar JSON line. All of these names are re-exported from :mod:`trio_chatsse`.
"""

from __future__ import annotations

from typing import Annotated, Literal, final

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "Completed",
    "Event",
    "EVENT_ADAPTER",
    "FunctionCall",
    "Item",
    "Message",
    "OutputItemAdded",
    "OutputItemDone",
    "OutputText",
    "OutputTextDelta",
    "Reasoning",
    "ReasoningContentDelta",
    "ReasoningText",
    "Refusal",
    "RefusalDelta",
    "TokenUsage",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True, extra="forbid")


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


@final
class OutputText(_Model):
    """A text part of an assistant :class:`Message`."""

    type: Literal["output_text"] = "output_text"
    text: str
    """The whole text of the part."""


@final
class Refusal(_Model):
    """A refusal part of an assistant :class:`Message` (from ``delta.refusal``)."""

    type: Literal["refusal"] = "refusal"
    refusal: str
    """The whole refusal text."""


@final
class ReasoningText(_Model):
    """A text part of a :class:`Reasoning` item."""

    type: Literal["reasoning_text"] = "reasoning_text"
    text: str
    """The whole reasoning text of the part."""


@final
class Message(_Model):
    """The assistant's message. Empty when added; whole (one joined part each) when done."""

    type: Literal["message"] = "message"
    id: str | None = None
    """Unused by Chat Completions; kept for the Responses API shape."""
    role: Literal["assistant"] = "assistant"
    content: list[Annotated[OutputText | Refusal, Field(discriminator="type")]] = []
    """The text (and any refusal) of the message."""


@final
class Reasoning(_Model):
    """The model's reasoning ("thinking") text. Empty when added; whole when done."""

    type: Literal["reasoning"] = "reasoning"
    id: str = ""
    """Unused by Chat Completions; kept for the Responses API shape."""
    summary: list[ReasoningText] = []
    """Always empty, as Chat Completions streams send no summaries."""
    content: list[ReasoningText] = []
    """The reasoning text, as one joined part."""


@final
class FunctionCall(_Model):
    """A complete tool call: a function name and its JSON arguments, as text."""

    type: Literal["function_call"] = "function_call"
    id: str | None = None
    """Unused by Chat Completions; kept for the Responses API shape."""
    call_id: str
    """The call's id from the stream, or a generated one when the server sent none."""
    name: str
    """The function to call."""
    arguments: str
    """The arguments as the model wrote them, as JSON text (not parsed)."""


Item = Annotated[Message | Reasoning | FunctionCall, Field(discriminator="type")]
"""Any output item: a :class:`Message`, a :class:`Reasoning` or a :class:`FunctionCall`."""


@final
class OutputItemAdded(_Model):
    """A message or reasoning item has started; its deltas follow."""

    type: Literal["response.output_item.added"] = "response.output_item.added"
    item: Item
    """The new item, still empty."""


@final
class OutputTextDelta(_Model):
    """A fragment of the assistant's text."""

    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    delta: str
    """The new text."""


@final
class RefusalDelta(_Model):
    """A fragment of a refusal (``delta.refusal``)."""

    type: Literal["response.refusal.delta"] = "response.refusal.delta"
    delta: str
    """The new refusal text."""


@final
class ReasoningContentDelta(_Model):
    """A fragment of the model's reasoning text."""

    type: Literal["response.reasoning_text.delta"] = "response.reasoning_text.delta"
    delta: str
    """The new reasoning text."""
    content_index: int = 0
    """The index of the content part it extends, always 0 (the text is one part)."""


@final
class OutputItemDone(_Model):
    """An item is complete: a whole message, a whole reasoning, or a tool call."""

    type: Literal["response.output_item.done"] = "response.output_item.done"
    item: Item
    """The complete item."""


@final
class Completed(_Model):
    """The response ended normally. Always the last event, exactly once."""

    type: Literal["response.completed"] = "response.completed"
    response_id: str = ""
    """The ``id`` of the stream's chunks (empty when the server sent none)."""
    token_usage: TokenUsage | None = None
    """Token counts, when the server sent a ``usage`` object."""
    finish_reason: str | None = None
    """Why the model stopped, as the server said (``stop``, ``tool_calls``, ``length`` for the
    request's own token limit, ``content_filter``, ...), except that it is ``tool_calls``
    whenever tool calls came out, even when the server said ``stop``; ``None`` when the stream
    ended with ``[DONE]`` but no finish reason."""


Event = Annotated[
    OutputItemAdded
    | OutputTextDelta
    | RefusalDelta
    | ReasoningContentDelta
    | OutputItemDone
    | Completed,
    Field(discriminator="type"),
]
"""Any event of a stream, discriminated by ``type``."""

#: Validates an event from its JSON or dict form (for example a logged ``model_dump_json()``).
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
