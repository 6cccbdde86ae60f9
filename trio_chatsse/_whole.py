"""A whole (non-streamed) answer as the event stream of the same answer, per wire API.

A server may ignore ``stream: true`` and send one JSON answer; the HTTP layer then reads that
answer through these pure functions, which the wire-API registry names per API, so that it
gives the same events as the stream would have. Pure: no trio, no I/O.
"""

from __future__ import annotations

import json

__all__ = ["completion_as_sse", "message_as_sse", "response_as_sse"]


def completion_as_sse(raw: bytes) -> bytes:
    """A ``chat.completion`` body as the stream of the same answer: one chunk, ``[DONE]``."""
    try:
        completion = json.loads(raw)
    except ValueError:
        return b""
    if isinstance(completion, dict) and isinstance(completion.get("choices"), list):
        choices = []
        for choice in completion["choices"]:
            if isinstance(choice, dict):
                delta = choice.get("message") or {}
                choices.append({**choice, "delta": delta, "message": None})
        completion = {**completion, "choices": choices}
    return _sse(completion) + b"data: [DONE]\n\n"


def response_as_sse(raw: bytes) -> bytes:
    """A Responses API ``response`` body as the stream of the same answer: each output item
    done (the parser adds it first, and its text as one delta), then the terminal event of
    its ``status`` (``completed``, ``incomplete`` or ``failed``)."""
    try:
        response = json.loads(raw)
    except ValueError:
        return b""
    if not isinstance(response, dict):
        return _sse(response)  # junk: the parser skips it and the stream ends cut short
    if isinstance(response.get("error"), dict) and "output" not in response:
        return _sse(response)  # an error object: the parser raises it
    output = response.get("output")
    events = [
        {"type": "response.output_item.done", "output_index": index, "item": item}
        for index, item in enumerate(output if isinstance(output, list) else [])
    ]
    status = response.get("status")
    terminal = status if status in ("incomplete", "failed") else "completed"
    events.append({"type": f"response.{terminal}", "response": response})
    return b"".join(_sse(event) for event in events)


def message_as_sse(raw: bytes) -> bytes:
    """A Messages API ``message`` body as the stream of the same answer: ``message_start``,
    each content block started, its whole text, thinking or input as one delta, stopped,
    then ``message_delta`` (stop reason, usage) and ``message_stop``."""
    try:
        message = json.loads(raw)
    except ValueError:
        return b""
    if not isinstance(message, dict) or message.get("type") == "error":
        return _sse(message)  # an error object (the parser raises it) or junk (cut short)
    content = message.get("content")
    blocks = content if isinstance(content, list) else []
    started = {**message, "content": [], "stop_reason": None}
    events: list[object] = [{"type": "message_start", "message": started}]
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        if block.get("type") == "tool_use":
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block.get("input"))}
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
        events.append({"type": "content_block_stop", "index": index})
    stop = {"stop_reason": message.get("stop_reason"), "stop_sequence": None}
    events.append({"type": "message_delta", "delta": stop, "usage": message.get("usage")})
    events.append({"type": "message_stop"})
    return b"".join(_sse(event) for event in events)


def _sse(data: object) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"
