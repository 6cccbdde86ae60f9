"""The tables of the Responses API parser: an output item being streamed, the events with
nothing to add, and the small readers of event fields it uses. Pure: no trio, no I/O."""

from __future__ import annotations

from typing import Literal

from ._models import (
    Event,
    FunctionCall,
    OutputText,
    OutputTextDelta,
    ReasoningContentDelta,
    ReasoningSummaryTextDelta,
    Refusal,
    RefusalDelta,
    TokenLogprob,
)
from ._wire import token_logprobs

__all__ = [
    "KINDS",
    "QUIET_EVENTS",
    "Kind",
    "StreamedItem",
    "calls_in",
    "delta_with_logprobs",
    "done_part",
    "index_of",
    "nonempty_str",
    "part_delta",
    "parts_of",
    "streamed_part",
]

Kind = Literal["message", "reasoning", "function_call", "skipped"]
KINDS: frozenset[str] = frozenset({"message", "reasoning", "function_call"})


class StreamedItem:
    """An output item being streamed."""

    __slots__ = (
        "added",
        "arguments",
        "arguments_done",
        "call_id",
        "deltas_sent",
        "fields",
        "index",
        "item_id",
        "kind",
        "logprobs",
        "name",
        "parts",
        "started_before",
    )

    def __init__(self, kind: Kind, index: int, fields: dict[str, object]) -> None:
        self.kind = kind
        #: Our output_index: its place among the items passed on.
        self.index = index
        #: The item as the added event gave it.
        self.fields = fields
        item_id = fields.get("id")
        self.item_id = item_id if type(item_id) is str else None
        call_id, name = fields.get("call_id"), fields.get("name")
        self.call_id = call_id if type(call_id) is str else ""
        self.name = name if type(name) is str else ""
        #: Text by part: ("text" | "refusal" | "reasoning" | "summary", part index) -> pieces.
        self.parts: dict[tuple[str, int], list[str]] = {}
        #: Token logprobs by part, as the deltas carried them.
        self.logprobs: dict[tuple[str, int], list[TokenLogprob]] = {}
        self.arguments: list[str] = []
        self.arguments_done: str | None = None
        #: Whether an OutputItemAdded went out for it (a function call's only in live mode).
        self.added = False
        #: Whether any delta event went out for it.
        self.deltas_sent = False
        #: Whether it began before a resumed stream's starting point (its earlier text went
        #: out before, so none is caught up from its done item).
        self.started_before = False

    def text(self) -> str:
        """The text parts' pieces so far, joined."""
        parts = sorted(self.parts.items())
        return "".join("".join(pieces) for (kind, _), pieces in parts if kind == "text")

    def function_call(self, arguments: str) -> FunctionCall:
        """The done call, with ``arguments``."""
        call_id = self.call_id or self.item_id or ""
        return FunctionCall(id=self.item_id, call_id=call_id, name=self.name, arguments=arguments)


def parts_of(value: object) -> list[dict[str, object]]:
    return [part for part in value if type(part) is dict] if type(value) is list else []


def index_of(payload: dict[str, object], key: str) -> int:
    value = payload.get(key)
    return value if type(value) is int else 0


def nonempty_str(value: object) -> str | None:
    return value if type(value) is str and value else None


#: Events with nothing to add to what the deltas and done items carry.
QUIET_EVENTS = frozenset(
    {
        "response.content_part.added",
        "response.content_part.done",
        "response.output_text.done",
        "response.refusal.done",
        "response.reasoning_text.done",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_part.done",
        "response.reasoning_summary_text.done",
        "keepalive",
    }
)


def calls_in(response: object) -> bool:
    """Whether a whole response's output holds a function call (a resumed stream may have
    started after the calls went out)."""
    output = response.get("output") if type(response) is dict else None
    return any(item.get("type") == "function_call" for item in parts_of(output))


def part_delta(part: tuple[str, int], text: str, output_index: int) -> Event:
    """The delta event of a part's text: ``part`` is (``text`` | ``refusal`` | ``summary`` |
    ``reasoning``, its index in the item)."""
    kind, index = part
    if kind == "text":
        return OutputTextDelta(delta=text, output_index=output_index)
    if kind == "refusal":
        return RefusalDelta(delta=text, output_index=output_index)
    if kind == "summary":
        return ReasoningSummaryTextDelta(delta=text, summary_index=index, output_index=output_index)
    return ReasoningContentDelta(delta=text, content_index=index, output_index=output_index)


def delta_with_logprobs(
    item: StreamedItem, part: tuple[str, int], delta: str, raw: object
) -> OutputTextDelta | RefusalDelta:
    """A text or refusal delta with its tokens, which its message's part also keeps."""
    tokens = token_logprobs(raw)
    if tokens:
        item.logprobs.setdefault(part, []).extend(tokens)
    if part[0] == "refusal":
        return RefusalDelta(delta=delta, output_index=item.index, logprobs=tokens)
    return OutputTextDelta(delta=delta, output_index=item.index, logprobs=tokens)


def done_part(
    part: dict[str, object], index: int, item: StreamedItem
) -> OutputText | Refusal | None:
    """A message's content part from its done form (the truth), its tokens from the done
    part or else from its deltas; ``None`` for a part with no text."""
    kind, text = part.get("type"), part.get("text", part.get("refusal"))
    if type(text) is not str:
        return None
    key = ("refusal" if kind == "refusal" else "text", index)
    logprobs = token_logprobs(part.get("logprobs")) or item.logprobs.get(key, [])
    if kind == "refusal":
        return Refusal(refusal=text, logprobs=logprobs)
    annotations = part.get("annotations")
    return OutputText(
        text=text, annotations=annotations if type(annotations) is list else [], logprobs=logprobs
    )


def streamed_part(
    key: tuple[str, int], pieces: list[str], item: StreamedItem
) -> OutputText | Refusal:
    """A message's content part from its deltas alone (a done item that left it out)."""
    logprobs = item.logprobs.get(key, [])
    if key[0] == "refusal":
        return Refusal(refusal="".join(pieces), logprobs=logprobs)
    return OutputText(text="".join(pieces), logprobs=logprobs)
