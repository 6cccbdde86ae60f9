"""Layer 4: a non-streamed answer, from a server that ignored ``stream: true``, as the SSE body
of the same answer, so that the one stream path reads it. Pure functions, no I/O."""

from __future__ import annotations

import json

__all__ = ["completion_as_sse", "response_as_sse"]


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


def _sse(data: object) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"
