"""The Responses API form of a script, as OpenAI streams it.

``created`` and ``in_progress``; per item an ``output_item.added``, its parts and deltas, its
``.done`` events and ``output_item.done``; a ``sequence_number`` on every event; then
``response.completed`` (or ``incomplete`` / ``failed``) with the whole response. Every event
has its ``event:`` line. Pure: no trio, no I/O.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping

from ._script import Script, WireForm, pieces, sse_body, token_logprob, tools_of
from ._tool_results import unanswered_function_calls

__all__ = ["FORM", "encrypted_reasoning", "response_events", "response_object"]


def response_object(
    script: Script,
    response_id: str,
    *,
    encrypted: bool,
    status: str = "completed",
    logprobs: int | None = None,
) -> dict[str, object]:
    """The whole ``response`` object of the reply (the non-streamed answer, and what the
    terminal event of the stream holds)."""
    response: dict[str, object] = {
        "id": response_id,
        "object": "response",
        "created_at": 1_700_000_000,
        "status": status,
        "model": script.model,
        "output": [item for item, _ in _items(script, response_id, encrypted, logprobs)],
        "usage": _usage(script) if script.usage and status != "in_progress" else None,
        "incomplete_details": None,
        "error": None,
    }
    if status == "incomplete":
        reason = (
            "content_filter" if script.finish_reason == "content_filter" else "max_output_tokens"
        )
        response["incomplete_details"] = {"reason": reason}
    elif status == "failed":
        response["error"] = {"code": "server_error", "message": "The model failed."}
    return response


def response_events(
    script: Script, response_id: str, *, encrypted: bool, logprobs: int | None = None
) -> list[dict[str, object]]:
    """The events of the reply's stream, in order, numbered; with ``logprobs`` (the
    request's ``top_logprobs``, 0 for none) each text fragment is one token."""
    started = response_object(script, response_id, encrypted=encrypted, status="in_progress")
    started["output"] = []
    events: list[dict[str, object]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for index, (item, stream_body) in enumerate(_items(script, response_id, encrypted, logprobs)):
        added = {**item, "status": "in_progress", **_emptied(item)}
        events.append({"type": "response.output_item.added", "output_index": index, "item": added})
        events += stream_body(index)
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    status = {"length": "incomplete", "content_filter": "incomplete", "error": "failed"}.get(
        script.finish_reason or "", "completed"
    )
    final = response_object(
        script, response_id, encrypted=encrypted, status=status, logprobs=logprobs
    )
    events.append({"type": f"response.{status}", "response": final})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


_Body = Callable[[int], list[dict[str, object]]]


def _items(
    script: Script, response_id: str, encrypted: bool, logprobs: int | None
) -> list[tuple[dict[str, object], _Body]]:
    """Each output item whole, and a function making its streamed events from its index."""
    items: list[tuple[dict[str, object], _Body]] = []
    size = script.fragment_size
    if script.reasoning:
        item_id = f"rs_{response_id}"
        reasoning: dict[str, object] = {
            "id": item_id,
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": script.reasoning}],
        }
        if encrypted:
            reasoning["encrypted_content"] = _encrypted(script.reasoning)

        def reasoning_body(index: int) -> list[dict[str, object]]:
            where = {"item_id": item_id, "output_index": index, "summary_index": 0}
            part = {"type": "summary_text", "text": ""}
            return [
                {"type": "response.reasoning_summary_part.added", **where, "part": part},
                *(
                    {"type": "response.reasoning_summary_text.delta", **where, "delta": piece}
                    for piece in pieces(script.reasoning, size)
                ),
                {"type": "response.reasoning_summary_text.done", **where, "text": script.reasoning},
                {
                    "type": "response.reasoning_summary_part.done",
                    **where,
                    "part": {"type": "summary_text", "text": script.reasoning},
                },
            ]

        items.append((reasoning, reasoning_body))
    if script.text or script.refusal:
        message_id = f"msg_{response_id}"
        parts: list[tuple[dict[str, object], str, str]] = []  # (part, delta type, text)
        tokens = [
            token_logprob(piece, position, logprobs or 0)
            for position, piece in enumerate(pieces(script.text, size))
        ]
        if script.text:
            text_part: dict[str, object] = {
                "type": "output_text",
                "annotations": [],
                "text": script.text,
            }
            if logprobs is not None:
                text_part["logprobs"] = tokens
            parts.append((text_part, "output_text", script.text))
        if script.refusal:
            parts.append(
                ({"type": "refusal", "refusal": script.refusal}, "refusal", script.refusal)
            )
        message: dict[str, object] = {
            "id": message_id,
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [part for part, _, _ in parts],
        }

        def message_body(index: int) -> list[dict[str, object]]:
            events: list[dict[str, object]] = []
            for content_index, (part, kind, text) in enumerate(parts):
                where = {
                    "item_id": message_id,
                    "output_index": index,
                    "content_index": content_index,
                }
                field = "text" if kind == "output_text" else "refusal"
                asked = logprobs is not None and kind == "output_text"
                events += [
                    {"type": "response.content_part.added", **where, "part": {**part, field: ""}},
                    *(
                        {
                            "type": f"response.{kind}.delta",
                            **where,
                            "delta": piece,
                            **(
                                {"logprobs": [tokens[i]] if asked else []}
                                if kind == "output_text"
                                else {}
                            ),
                        }
                        for i, piece in enumerate(pieces(text, size))
                    ),
                    {"type": f"response.{kind}.done", **where, field: text},
                    {"type": "response.content_part.done", **where, "part": part},
                ]
            return events

        items.append((message, message_body))
    for position, call in enumerate(script.tool_calls):
        call_item: dict[str, object] = {
            "id": f"fc_{response_id}_{position}",
            "type": "function_call",
            "status": "completed",
            "call_id": call.call_id or f"call_{position}",
            "name": call.name,
            "arguments": call.arguments,
        }
        items.append((call_item, _call_body(call_item, size)))
    return items


def _call_body(call_item: dict[str, object], size: int) -> _Body:
    arguments = str(call_item["arguments"])

    def body(index: int) -> list[dict[str, object]]:
        where = {"item_id": call_item["id"], "output_index": index}
        return [
            *(
                {"type": "response.function_call_arguments.delta", **where, "delta": piece}
                for piece in pieces(arguments, size)
            ),
            {"type": "response.function_call_arguments.done", **where, "arguments": arguments},
        ]

    return body


def _emptied(item: dict[str, object]) -> dict[str, object]:
    """What an item holds when it is added: no text, no summary, no arguments yet."""
    if item["type"] == "message":
        return {"content": []}
    if item["type"] == "reasoning":
        return {"summary": []}
    return {"arguments": ""}


def _usage(script: Script) -> dict[str, object]:
    chat = script.token_usage()
    return {
        "input_tokens": chat["prompt_tokens"],
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": chat["completion_tokens"],
        "output_tokens_details": chat["completion_tokens_details"],
        "total_tokens": chat["total_tokens"],
    }


def _encrypted(reasoning: str) -> str:
    """A stand-in for the opaque ``encrypted_content`` of a reasoning item."""
    return f"gAAAA-{zlib.crc32(reasoning.encode()):08x}"


def logprobs_asked(request: Mapping[str, object]) -> int | None:
    """The ``top_logprobs`` a request asks for with its text's logprobs (0 for none), or
    ``None`` when its ``include`` does not ask for them."""
    include = request.get("include")
    if not isinstance(include, list) or "message.output_text.logprobs" not in include:
        return None
    top = request.get("top_logprobs")
    return top if type(top) is int else 0


def encrypted_reasoning(request: Mapping[str, object]) -> bool:
    """Whether the request asks for the reasoning item's ``encrypted_content``."""
    include = request.get("include")
    return isinstance(include, list) and "reasoning.encrypted_content" in include


def stream_events(script: Script, response_id: str, request: Mapping[str, object]) -> list[bytes]:
    """The streamed body, one ``bytes`` per SSE event (``event:`` and ``data:`` lines), with
    the in-stream error and a missing terminal event when the script asks for them."""
    objects = response_events(
        script,
        response_id,
        encrypted=encrypted_reasoning(request),
        logprobs=logprobs_asked(request),
    )
    if script.omit_done:
        objects.pop()
    events = [f"event: {o['type']}\n".encode() + sse_body([o], done=False) for o in objects]
    if script.error is not None:
        events.insert(min(script.error_after, len(events)), error_event(script.error))
    return events


def error_event(error: Mapping[str, object]) -> bytes:
    """The in-stream ``error`` event."""
    return sse_body([{"type": "error", "error": dict(error)}], done=False)


def _whole_answer(
    script: Script, response_id: str, request: Mapping[str, object]
) -> dict[str, object]:
    return response_object(script, response_id, encrypted=encrypted_reasoning(request))


def _refusal(request: Mapping[str, object]) -> str | None:
    """OpenAI's answer to a function tool in the Chat Completions shape (no top-level
    ``name``)."""
    for index, tool in tools_of(request):
        if tool.get("type") == "function" and not isinstance(tool.get("name"), str):
            return f"Missing required parameter: 'tools[{index}].name'."
    return None


#: The server's entry for ``POST /v1/responses``.
FORM = WireForm(
    "/v1/responses",
    "resp",
    stream_events,
    _whole_answer,
    _refusal,
    unanswered_function_calls,
    error_event,
)
