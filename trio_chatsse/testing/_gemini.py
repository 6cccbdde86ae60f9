"""Gemini's native form of a scripted reply: ``streamGenerateContent?alt=sse`` events, as the
real service writes them (CRLF-framed, no ``[DONE]``, ``usageMetadata`` on every event).

Thought pieces (``thought: true``), text pieces, the tool calls in one event (ids only when
the script gives them, the signature on the first call only, as real parallel calls have it),
then a last event with ``finishReason`` and the counts; a reply without calls closes with an
empty text part that carries the signature (Gemini 3's way). Faults as in the other forms: an
``{"error": ...}`` event, a body without its ``finishReason``. Pure: no trio, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ._script import Script, WireForm, pieces

__all__ = ["FORM", "gemini_events", "unanswered_function_responses"]

_FINISH = {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS"}


def _usage(script: Script, final: bool) -> dict[str, object]:
    usage: dict[str, object] = {"promptTokenCount": 12}
    if final:
        output = max(len(script.text) // 4, 1)
        thoughts = len(script.reasoning) // 4
        usage["candidatesTokenCount"] = output
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        usage["totalTokenCount"] = 12 + output + thoughts
    else:
        usage["totalTokenCount"] = 12
    return usage


def _event(
    script: Script, parts: list[dict[str, object]], **candidate: object
) -> dict[str, object]:
    final = "finishReason" in candidate
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0, **candidate}],
        "usageMetadata": _usage(script, final),
        "modelVersion": script.model,
        "responseId": "gemini-test",
    }


def gemini_events(script: Script) -> list[dict[str, object]]:
    """The events of the streamed form, in order."""
    size = script.fragment_size
    events = [
        _event(script, [{"text": p, "thought": True}]) for p in pieces(script.reasoning, size)
    ]
    events += [_event(script, [{"text": p}]) for p in pieces(script.text + script.refusal, size)]
    signature = {"thoughtSignature": script.signature()}
    if script.tool_calls:
        calls: list[dict[str, object]] = []
        for position, call in enumerate(script.tool_calls):
            try:
                args = json.loads(call.arguments)
            except ValueError:
                args = {}
            function: dict[str, object] = {"name": call.name, "args": args}
            if call.call_id:
                function["id"] = call.call_id
            calls.append({"functionCall": function, **(signature if not position else {})})
        events.append(_event(script, calls))
        closing: list[dict[str, object]] = []
    else:
        closing = [{"text": "", **signature}]
    reason = script.finish_reason or "stop"
    if reason == "error":
        events.append(
            {"error": {"code": 500, "message": "The model failed.", "status": "INTERNAL"}}
        )
    else:
        events.append(_event(script, closing, finishReason=_FINISH.get(reason, "SAFETY")))
    return events


def stream_events(script: Script, response_id: str, request: Mapping[str, object]) -> list[bytes]:
    """The streamed body, one ``bytes`` per SSE event (CRLF-framed), with the faults."""
    objects = gemini_events(script)
    if script.omit_done and "candidates" in objects[-1]:
        candidate = objects[-1]["candidates"][0]  # type: ignore[index]  # ours
        candidate.pop("finishReason", None)
    events = [b"data: " + json.dumps(o).encode() + b"\r\n\r\n" for o in objects]
    if script.error is not None:
        event = b"data: " + json.dumps({"error": dict(script.error)}).encode() + b"\r\n\r\n"
        events.insert(min(script.error_after, len(events)), event)
    return events


def _whole_answer(
    script: Script, response_id: str, request: Mapping[str, object]
) -> dict[str, object]:
    return gemini_events(script)[-1]


def unanswered_function_responses(request: Mapping[str, object]) -> str | None:
    """Gemini's 400 for a ``functionCall`` without a ``functionResponse`` in the next content."""
    contents = [c for c in _list(request.get("contents"))]
    for position, content in enumerate(contents):
        calls = [p["functionCall"] for p in _list(content.get("parts")) if "functionCall" in p]
        if content.get("role") != "model" or not calls:
            continue
        following = contents[position + 1] if position + 1 < len(contents) else {}
        answered = [
            p["functionResponse"] for p in _list(following.get("parts")) if "functionResponse" in p
        ]
        names = [str(r.get("name")) for r in answered if isinstance(r, Mapping)]
        for call in calls:
            name = str(call.get("name")) if isinstance(call, Mapping) else ""
            if name not in names:
                return (
                    "Please ensure that the number of function response parts is equal to the "
                    "number of function call parts of the function call turn."
                )
            names.remove(name)
    return None


def _list(value: object) -> list[Mapping[str, object]]:
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, Mapping)]


#: The server's entry for ``POST .../models/{model}:streamGenerateContent`` (any model).
FORM = WireForm(
    ":streamGenerateContent",
    "gemini",
    stream_events,
    _whole_answer,
    unanswered_calls=unanswered_function_responses,
    streams_always=True,
)
