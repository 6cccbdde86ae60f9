"""What a response body really is, and a whole (non-streamed) answer as its stream.

A server may label an event stream ``application/json``, ignore ``stream: true`` and send one
JSON answer, or send an HTML page from a wrong ``base_url``. :func:`body_source` looks before
the shell reads: an event stream goes on as it is, one JSON answer becomes the SSE body of the
same answer (:func:`completion_as_sse`, :func:`response_as_sse`, :func:`message_as_sse`: pure
functions, which the wire-API registry names per API), an HTML page is a
:class:`~trio_chatsse.StreamError`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import trio

from ._errors import StreamError
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._status import read_bounded

if TYPE_CHECKING:
    from ._clients import ClientLibrary, HTTPResponse
    from ._timeouts import ResponseWait

__all__ = ["body_source", "completion_as_sse", "message_as_sse", "response_as_sse"]


async def body_source(
    response: HTTPResponse,
    library: ClientLibrary,
    wait: ResponseWait,
    whole_answer_as_sse: Callable[[bytes], bytes],
) -> AsyncIterator[bytes]:
    """The body to decode, checked against what its ``Content-Type`` claims.

    An event stream is used as it is. Anything else is looked at first: one JSON answer
    (a server that ignored ``stream: true``) is read as the stream of the same answer; an HTML
    page (a wrong ``base_url``, a proxy's login page) is a :class:`StreamError` right away;
    an event stream under another label (some servers say ``application/json``) is read as
    the stream it is.
    """
    chunks = library.body_chunks(response)
    content_type = response.headers.get("content-type", "").lower()
    if content_type.startswith("text/event-stream"):
        return chunks
    first = b""
    with trio.move_on_after(wait.remaining()) as scope:
        try:
            async for first in chunks:
                if first.strip():
                    break
        except library.transport_errors as exc:
            raise StreamError(f"the connection broke before the answer: {exc!r:.300}") from exc
    if scope.cancelled_caught:
        wait.expired()
    head = first.lstrip()[:1]
    if head in (b"{", b"[") and content_type.startswith("application/json"):
        try:
            rest = await read_bounded(chunks, DEFAULT_MAX_EVENT_SIZE)
        except library.transport_errors as exc:
            raise StreamError(
                f"the connection broke while reading the answer: {exc!r:.300}"
            ) from exc
        return _one_chunk(whole_answer_as_sse(first + rest))
    if head == b"<":
        raise StreamError(
            f"the server answered with {content_type or 'no content type'}, not an event "
            f"stream (is base_url right?): {first[:200].decode('utf-8', 'replace')!r}"
        )
    return _prepend(first, chunks)


async def _prepend(first: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in chunks:
        yield chunk


async def _one_chunk(body: bytes) -> AsyncIterator[bytes]:
    yield body


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
