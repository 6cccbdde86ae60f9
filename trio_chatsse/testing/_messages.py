"""The Anthropic Messages API form of a script, as Anthropic streams it.

``message_start`` (id, model, empty content, usage with the input and cache figures), a
``ping``, then per content block (thinking with its ``signature_delta`` last, text, each tool
use with its input as ``input_json_delta`` pieces, the first one empty)
``content_block_start``, its deltas and ``content_block_stop``; then ``message_delta`` (stop
reason, cumulative usage) and ``message_stop``. Every event has its ``event:`` line. Pure: no
trio, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ._script import Script, WireForm, pieces, sse_body, tools_of
from ._tool_results import unanswered_tool_uses

__all__ = ["FORM", "message_events", "message_object"]

_STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


def _stop_reason(script: Script) -> str:
    if script.refusal:
        return "refusal"
    finish = script.finish_reason or ("tool_calls" if script.tool_calls else "stop")
    return _STOP_REASONS.get(finish, finish)


def _usage(script: Script, *, final: bool) -> dict[str, object]:
    output = script.token_usage()["completion_tokens"]
    return {
        "input_tokens": 12,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output if final else 1,
    }


def _blocks(script: Script) -> list[dict[str, object]]:
    """The whole content blocks of the answer, in order."""
    blocks: list[dict[str, object]] = []
    if script.reasoning:
        thinking = {"type": "thinking", "thinking": script.reasoning}
        blocks.append({**thinking, "signature": script.signature()})
    if script.text or script.refusal:
        # The Messages API has no refusal block: a refusal is text, and the stop says so.
        blocks.append({"type": "text", "text": script.text + script.refusal})
    for index, call in enumerate(script.tool_calls):
        blocks.append(
            {
                "type": "tool_use",
                "id": call.call_id or f"toolu_{index}",
                "name": call.name,
                "input": _input(call.arguments),
            }
        )
    return blocks


def _input(arguments: str) -> object:
    try:
        return json.loads(arguments)
    except ValueError:
        return {}


def message_object(script: Script, message_id: str) -> dict[str, object]:
    """The non-streamed ``message`` of the same answer."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": script.model,
        "content": _blocks(script),
        "stop_reason": _stop_reason(script),
        "stop_sequence": None,
        "usage": _usage(script, final=True),
    }


def message_events(script: Script, message_id: str) -> list[dict[str, object]]:
    """The events of the streamed form, in order."""
    started = {**message_object(script, message_id), "content": [], "stop_reason": None}
    started["usage"] = _usage(script, final=False)
    events: list[dict[str, object]] = [
        {"type": "message_start", "message": started},
        {"type": "ping"},
    ]
    size = script.fragment_size
    calls = iter(script.tool_calls)
    for index, block in enumerate(_blocks(script)):
        where = {"index": index}
        kind = block["type"]
        deltas: list[dict[str, object]]
        if kind == "thinking":
            start: dict[str, object] = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": p} for p in pieces(script.reasoning, size)
            ]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            start = {"type": "text", "text": ""}
            text = str(block["text"])
            deltas = [{"type": "text_delta", "text": p} for p in pieces(text, size)]
        else:
            start = {**block, "input": {}}
            call = next(calls)
            deltas = [{"type": "input_json_delta", "partial_json": ""}]
            deltas += [
                {"type": "input_json_delta", "partial_json": p}
                for p in pieces(call.arguments, size)
            ]
        events.append({"type": "content_block_start", **where, "content_block": start})
        events += [{"type": "content_block_delta", **where, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", **where})
    if script.finish_reason == "error":  # the Messages API's way: an error event, no stop
        failure = {"type": "api_error", "message": "The model failed."}
        events.append({"type": "error", "error": failure})
        return events
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(script), "stop_sequence": None},
            "usage": {"output_tokens": _usage(script, final=True)["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return events


def stream_events(script: Script, response_id: str, request: Mapping[str, object]) -> list[bytes]:
    """The streamed body, one ``bytes`` per SSE event (``event:`` and ``data:`` lines), with
    the in-stream error and a missing ``message_stop`` when the script asks for them."""
    objects = message_events(script, response_id)
    if script.omit_done:
        objects.pop()
    events = [f"event: {o['type']}\n".encode() + sse_body([o], done=False) for o in objects]
    if script.error is not None:
        events.insert(min(script.error_after, len(events)), error_event(script.error))
    return events


def error_event(error: Mapping[str, object]) -> bytes:
    """The ``event: error`` event, as Anthropic sends an overload mid-stream."""
    return b"event: error\n" + sse_body([{"type": "error", "error": dict(error)}], done=False)


def _whole_answer(
    script: Script, response_id: str, request: Mapping[str, object]
) -> dict[str, object]:
    return message_object(script, response_id)


def _refusal(request: Mapping[str, object]) -> str | None:
    """Anthropic's answer to a custom tool without its ``input_schema`` (an OpenAI shape)."""
    for index, tool in tools_of(request):
        if tool.get("type") in (None, "custom", "function") and "input_schema" not in tool:
            return f"tools.{index}.custom.input_schema: Field required"
    return None


#: The server's entry for ``POST /v1/messages``.
FORM = WireForm(
    "/v1/messages",
    "msg",
    stream_events,
    _whole_answer,
    _refusal,
    unanswered_tool_uses,
    error_event,
)
