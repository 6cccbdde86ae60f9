"""The item table of the Responses API parser: an output item being streamed, and the small
readers of event fields it uses. Pure: no trio, no I/O."""

from __future__ import annotations

from typing import Literal

__all__ = ["KINDS", "Kind", "StreamedItem", "index_of", "nonempty_str", "parts_of"]

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
        self.arguments: list[str] = []
        self.arguments_done: str | None = None
        #: Whether an OutputItemAdded went out for it (a function call's only in live mode).
        self.added = False
        #: Whether any delta event went out for it.
        self.deltas_sent = False
        #: Whether it began before a resumed stream's starting point (its earlier text went
        #: out before, so none is caught up from its done item).
        self.started_before = False


def parts_of(value: object) -> list[dict[str, object]]:
    return [part for part in value if type(part) is dict] if type(value) is list else []


def index_of(payload: dict[str, object], key: str) -> int:
    value = payload.get(key)
    return value if type(value) is int else 0


def nonempty_str(value: object) -> str | None:
    return value if type(value) is str and value else None
