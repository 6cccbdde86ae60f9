"""A whole (non-streamed) answer as the event stream of the same answer, per wire API.

A server may ignore ``stream: true`` and send one JSON answer; the HTTP layer then reads that
answer through these pure functions, which the wire-API registry names per API, so that it
gives the same events as the stream would have. Pure: no trio, no I/O.
"""

from __future__ import annotations

import json

__all__ = [
    "NotAnAnswer",
    "completion_as_sse",
    "gemini_as_sse",
    "message_as_sse",
    "response_as_sse",
]


class NotAnAnswer(ValueError):
    """The body is not JSON, or JSON that is neither the API's answer nor an error object
    (``{"detail": "Not authenticated"}`` from a gateway): there is nothing to stream."""


def _load(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        raise NotAnAnswer("not JSON") from None


def _is_error(body: object) -> bool:
    return isinstance(body, dict) and isinstance(body.get("error"), dict | str)


def completion_as_sse(raw: bytes) -> bytes:
    """A ``chat.completion`` body as the stream of the same answer: one chunk, ``[DONE]``."""
    completion = _load(raw)
    if _is_error(completion):
        return _sse(completion) + b"data: [DONE]\n\n"  # the parser raises it
    if not isinstance(completion, dict) or not isinstance(completion.get("choices"), list):
        raise NotAnAnswer("no choices")
    if completion["choices"]:
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
    response = _load(raw)
    if isinstance(response, dict) and _is_error(response) and "output" not in response:
        return _sse(response)  # an error object: the parser raises it
    if not isinstance(response, dict) or not isinstance(response.get("output"), list):
        raise NotAnAnswer("no output")
    output: list[object] = response["output"]
    events = [
        {"type": "response.output_item.done", "output_index": index, "item": item}
        for index, item in enumerate(output)
    ]
    status = response.get("status")
    terminal = status if status in ("incomplete", "failed") else "completed"
    events.append({"type": f"response.{terminal}", "response": response})
    return b"".join(_sse(event) for event in events)


def message_as_sse(raw: bytes) -> bytes:
    """A Messages API ``message`` body as the stream of the same answer: ``message_start``,
    each content block started, its whole text, thinking or input as one delta, stopped,
    then ``message_delta`` (stop reason, usage) and ``message_stop``."""
    message = _load(raw)
    if isinstance(message, dict) and (message.get("type") == "error" or _is_error(message)):
        return _sse(message)  # an error object: the parser raises it
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise NotAnAnswer("no content")
    blocks = message["content"]
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


def gemini_as_sse(raw: bytes) -> bytes:
    """Gemini's streamed answer without ``alt=sse`` (a JSON array of the responses), or one
    response, as the SSE stream of the same answer."""
    answer = _load(raw)
    responses = answer if isinstance(answer, list) else [answer]
    if not responses or not all(
        isinstance(r, dict) and ("candidates" in r or "error" in r or "promptFeedback" in r)
        for r in responses
    ):
        raise NotAnAnswer("no candidates")
    return b"".join(_sse(response) for response in responses)
