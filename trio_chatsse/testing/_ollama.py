"""Ollama's native ``/api/chat`` form of a scripted reply: NDJSON lines, as Ollama writes them.

A line per piece of thinking, then of text (``message.thinking`` / ``message.content``), the
tool calls whole in one line (arguments as objects, no ids, as Ollama sends them), then the
last line with ``done: true``, ``done_reason`` and the counts (a zero count left out, as the
server does). Faults as in the other forms: an ``{"error": ...}`` line, a body without its
done line. Pure: no trio, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ._script import Script, WireForm, pieces
from ._tool_results import unanswered_ollama_calls

__all__ = ["FORM", "chat_lines", "chat_object"]

_CREATED = "2026-01-01T00:00:00Z"


def _reason(script: Script) -> str:
    reason = script.finish_reason or "stop"
    return "stop" if reason in ("tool_calls", "error") else reason


def _counts(script: Script) -> dict[str, object]:
    counts = {"prompt_eval_count": 12, "eval_count": max(len(script.text) // 4, 1)}
    return {key: value for key, value in counts.items() if value}


def _calls(script: Script) -> list[dict[str, object]]:
    calls: list[dict[str, object]] = []
    for call in script.tool_calls:
        try:
            arguments = json.loads(call.arguments)
        except ValueError:
            arguments = {}
        function: dict[str, object] = {"name": call.name, "arguments": arguments}
        calls.append({"function": function} | ({"id": call.call_id} if call.call_id else {}))
    return calls


def _line(script: Script, message: dict[str, object], done: bool) -> dict[str, object]:
    line = {"model": script.model, "created_at": _CREATED, "message": message, "done": done}
    return {**line, "done_reason": _reason(script), **_counts(script)} if done else line


def chat_lines(script: Script) -> list[dict[str, object]]:
    """The lines of the streamed form, in order."""
    size = script.fragment_size
    assistant: dict[str, object] = {"role": "assistant", "content": ""}
    lines = [
        _line(script, {**assistant, "thinking": p}, False) for p in pieces(script.reasoning, size)
    ]
    lines += [_line(script, {**assistant, "content": p}, False) for p in pieces(script.text, size)]
    if script.tool_calls:
        lines.append(_line(script, {**assistant, "tool_calls": _calls(script)}, False))
    if script.finish_reason == "error":  # Ollama's way: an error line, no done line
        lines.append({"error": "the model failed"})
    else:
        lines.append(_line(script, assistant, True))
    return lines


def chat_object(script: Script) -> dict[str, object]:
    """The non-streamed answer: the last line with the whole message."""
    message: dict[str, object] = {"role": "assistant", "content": script.text + script.refusal}
    if script.reasoning:
        message["thinking"] = script.reasoning
    if script.tool_calls:
        message["tool_calls"] = _calls(script)
    return _line(script, message, True)


def stream_events(script: Script, response_id: str, request: Mapping[str, object]) -> list[bytes]:
    """The streamed body, one ``bytes`` per line, with the scripted faults."""
    lines = chat_lines(script)
    if script.omit_done:
        lines.pop()
    events = [json.dumps(line).encode() + b"\n" for line in lines]
    if script.error is not None:
        events.insert(min(script.error_after, len(events)), error_event(script.error))
    return events


def error_event(error: Mapping[str, object]) -> bytes:
    """An ``{"error": ...}`` line. Ollama says a string; an object with more (a code) goes as
    it is, as a proxy says it."""
    said = dict(error) if set(error) - {"message"} else error.get("message", "the model failed")
    return json.dumps({"error": said}).encode() + b"\n"


def _whole_answer(
    script: Script, response_id: str, request: Mapping[str, object]
) -> dict[str, object]:
    return chat_object(script)


#: The server's entry for ``POST /api/chat`` (and ``/v1/api/chat``, under the base URL of the
#: other forms).
FORM = WireForm(
    "/api/chat",
    "ollama",
    stream_events,
    _whole_answer,
    unanswered_calls=unanswered_ollama_calls,
    error_event=error_event,
    content_type="application/x-ndjson",
)
