"""A tool loop's turns in each wire API's input form: the assistant turn, the tool results.

- Chat Completions: the assistant message, then one ``{"role": "tool", "tool_call_id",
  "content"}`` message per call, in the calls' order;
- Responses API: the response's output items (``input_items``), then one
  ``{"type": "function_call_output", "call_id", "output"}`` item per call;
- Ollama ``/api/chat``: the assistant message, then a ``tool`` message with its ``tool_name``
  per call;
- Gemini: the ``model`` content, then one ``user`` content of ``functionResponse`` parts;
- Anthropic Messages API: the assistant message, then *one* ``user`` message of
  ``tool_result`` blocks, one per ``tool_use`` id, ``is_error: true`` for errors (the API
  answers 400 to a ``tool_use`` without its ``tool_result`` in the very next message).

Pure: no trio, no I/O; the registry names one pair per API.
"""

from __future__ import annotations

from typing import NamedTuple

from ._models import Item
from ._turns import (
    assistant_message,
    gemini_model_content,
    input_items,
    messages_assistant_message,
    ollama_assistant_message,
)

__all__ = [
    "AnsweredCall",
    "chat_tool_results",
    "chat_turn",
    "gemini_tool_results",
    "gemini_turn",
    "messages_tool_results",
    "messages_turn",
    "ollama_tool_results",
    "ollama_turn",
    "responses_tool_results",
    "responses_turn",
]


class AnsweredCall(NamedTuple):
    """A call and its answer, as the next request carries them."""

    call_id: str
    name: str
    output: str
    is_error: bool


def chat_turn(items: list[Item]) -> list[dict[str, object]]:
    """A Chat Completions turn: its assistant message (with its provider state)."""
    return [assistant_message(items)]


def chat_tool_results(calls: list[AnsweredCall]) -> list[dict[str, object]]:
    """One ``tool`` message per call."""
    return [
        {"role": "tool", "tool_call_id": call.call_id, "content": call.output} for call in calls
    ]


def responses_turn(items: list[Item]) -> list[dict[str, object]]:
    """A Responses API turn: its output items (reasoning, message, function calls)."""
    return list(input_items(items))


def responses_tool_results(calls: list[AnsweredCall]) -> list[dict[str, object]]:
    """One ``function_call_output`` item per call."""
    return [
        {"type": "function_call_output", "call_id": call.call_id, "output": call.output}
        for call in calls
    ]


def messages_turn(items: list[Item]) -> list[dict[str, object]]:
    """A Messages API turn: its assistant message (thinking blocks and signatures kept)."""
    return [messages_assistant_message(items)]


def messages_tool_results(calls: list[AnsweredCall]) -> list[dict[str, object]]:
    """One ``user`` message with a ``tool_result`` block per call."""
    blocks: list[dict[str, object]] = []
    for call in calls:
        block: dict[str, object] = {
            "type": "tool_result",
            "tool_use_id": call.call_id,
            "content": call.output,
        }
        if call.is_error:
            block["is_error"] = True
        blocks.append(block)
    return [{"role": "user", "content": blocks}] if blocks else []


def ollama_turn(items: list[Item]) -> list[dict[str, object]]:
    """An Ollama turn: its assistant message (``thinking`` and ``tool_calls`` kept)."""
    return [ollama_assistant_message(items)]


def ollama_tool_results(calls: list[AnsweredCall]) -> list[dict[str, object]]:
    """One ``tool`` message per call, with its ``tool_name`` (Ollama's form)."""
    return [{"role": "tool", "content": call.output, "tool_name": call.name} for call in calls]


def gemini_turn(items: list[Item]) -> list[dict[str, object]]:
    """A Gemini turn: its ``model`` content, signatures where they came."""
    return [gemini_model_content(items)]


def gemini_tool_results(calls: list[AnsweredCall]) -> list[dict[str, object]]:
    """One ``user`` content of ``functionResponse`` parts, matched by name (and by id when the
    call had the server's)."""
    parts: list[object] = []
    for call in calls:
        response: dict[str, object] = {"name": call.name}
        if not call.call_id.startswith("gemini_call_"):
            response["id"] = call.call_id
        response["response"] = {"error" if call.is_error else "result": call.output}
        parts.append({"functionResponse": response})
    return [{"role": "user", "parts": parts}] if parts else []
