"""Layer 2: OpenRouter's ``reasoning_details``, merged from their streamed pieces.

Pure: no I/O. The Chat Completions parser feeds each delta's entries to
:func:`merge_details` and builds the :class:`~trio_chatsse.parts.ReasoningDetail` list at the end.
"""

from __future__ import annotations

from ._models import ReasoningDetail

__all__ = ["DetailBuilder", "merge_details"]


class DetailBuilder:
    """One ``reasoning_details`` entry being merged from its streamed pieces."""

    __slots__ = ("fields", "parts")

    def __init__(self, entry: dict[str, object]) -> None:
        self.fields = {key: value for key, value in entry.items() if value is not None}
        self.parts: dict[str, list[str]] = {}

    def matches(self, entry: dict[str, object]) -> bool:
        """A piece of this entry: the same ``type`` and the same (present) ``index``."""
        index = entry.get("index")
        return (
            index is not None
            and index == self.fields.get("index")
            and entry.get("type") == self.fields.get("type")
        )

    def add(self, entry: dict[str, object]) -> None:
        for key, value in entry.items():
            if value is None:
                continue
            if key in _DETAIL_TEXT_KEYS and type(value) is str:
                parts = self.parts.get(key)
                if parts is None:
                    first = self.fields.get(key)
                    parts = self.parts[key] = [first] if type(first) is str else []
                parts.append(value)
            else:
                self.fields[key] = value  # later metadata wins: a signature comes last

    def build(self) -> ReasoningDetail:
        merged = dict(self.fields)
        for key, parts in self.parts.items():
            merged[key] = "".join(parts)
        if type(merged.get("type")) is not str:
            merged["type"] = "reasoning.unknown"
        return ReasoningDetail.model_validate(merged)


#: The keys of a reasoning detail whose streamed pieces are joined rather than replaced.
_DETAIL_TEXT_KEYS = frozenset({"text", "summary", "data"})


def merge_details(merged: list[DetailBuilder], entries: list[object]) -> None:
    """Merge streamed ``reasoning_details`` pieces: a piece with the same ``type`` and
    ``index`` as the last entry extends it; anything else (no index included) is a new entry."""
    for entry in entries:
        if type(entry) is not dict:
            continue
        if merged and merged[-1].matches(entry):
            merged[-1].add(entry)
        else:
            merged.append(DetailBuilder(entry))
