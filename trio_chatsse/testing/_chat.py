"""The Chat Completions form of a script, as OpenAI streams it.

A role-only first chunk, reasoning fragments, text fragments, tool-call fragments (id and name
only in the first fragment of each), a finish chunk, a usage chunk with ``"choices": []``, then
``data: [DONE]``. Pure: no trio, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._script import (
    Script,
    WireForm,
    pieces,
    reasoning_detail,
    sse_body,
    token_logprob,
    tools_of,
)
from ._tool_results import unanswered_chat_calls

__all__ = ["FORM", "chunks", "completion"]


def chunks(
    script: Script, response_id: str, *, logprobs: int | None = None
) -> list[dict[str, object]]:
    """The ``chat.completion.chunk`` objects of the streamed form; with ``logprobs`` (the
    request's ``top_logprobs``, 0 for none) each text and refusal fragment is one token."""

    def chunk(
        delta: dict[str, object], finish: str | None = None, tokens: object = None
    ) -> dict[str, object]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        if logprobs is not None:
            choice["logprobs"] = tokens
        return {
            "id": response_id,
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": script.model,
            "choices": [choice],
        }

    def tokens(field: str, piece: str, position: int) -> object:
        if logprobs is None:
            return None
        entry = token_logprob(piece, position, logprobs)
        return {"content": None, "refusal": None, field: [entry]}

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk(delta) for delta in _reasoning_deltas(script)]
    size = script.fragment_size
    out += [
        chunk({"content": p}, tokens=tokens("content", p, i))
        for i, p in enumerate(pieces(script.text, size))
    ]
    out += [
        chunk({"refusal": p}, tokens=tokens("refusal", p, i))
        for i, p in enumerate(pieces(script.refusal, size))
    ]
    for index, call in enumerate(script.tool_calls):
        first: dict[str, object] = {
            "index": index,
            "id": call.call_id or f"call_{index}",
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        if call.extra_content is not None:
            first["extra_content"] = dict(call.extra_content)
        out.append(chunk({"tool_calls": [first]}))
        out += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
            for p in pieces(call.arguments, script.fragment_size)
        ]
    out.append(chunk({}, script.finish_reason or ("tool_calls" if script.tool_calls else "stop")))
    if script.usage:
        usage_chunk = chunk({})
        usage_chunk["choices"] = []
        usage_chunk["usage"] = script.token_usage()
        out.append(usage_chunk)
    return out


def completion(script: Script, response_id: str) -> dict[str, object]:
    """The non-streamed ``chat.completion`` object of the same answer."""
    message: dict[str, object] = {"role": "assistant", "content": script.text or None}
    if script.refusal:
        message["refusal"] = script.refusal
    if script.reasoning:
        details = script.reasoning_details()
        if details is not None:
            message["reasoning"] = script.reasoning
            message["reasoning_details"] = details
        else:
            message[script.reasoning_field] = script.reasoning
    if script.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.call_id or f"call_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
                **({} if call.extra_content is None else {"extra_content": call.extra_content}),
            }
            for i, call in enumerate(script.tool_calls)
        ]
    finish = script.finish_reason or ("tool_calls" if script.tool_calls else "stop")
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": script.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": script.token_usage(),
    }


def _reasoning_deltas(script: Script) -> list[dict[str, object]]:
    parts = pieces(script.reasoning, script.fragment_size)
    if script.reasoning_field != "reasoning_details":
        return [{script.reasoning_field: p} for p in parts]
    deltas: list[dict[str, object]] = [
        {"reasoning": p, "reasoning_details": [reasoning_detail(text=p)]} for p in parts
    ]
    if parts:
        deltas.append(
            {"reasoning_details": [reasoning_detail(text="", signature=script.signature())]}
        )
    return deltas


def stream_events(script: Script, response_id: str, request: Mapping[str, object]) -> list[bytes]:
    """The streamed body, one ``bytes`` per SSE event, with the in-stream error and a missing
    ``[DONE]`` when the script asks for them."""
    top = request.get("top_logprobs")
    asked = None if request.get("logprobs") is not True else top if type(top) is int else 0
    objects = chunks(script, response_id, logprobs=asked)
    if script.choices:
        objects = _interleaved([objects, *(chunks(c, response_id) for c in script.choices)])
    events = [sse_body([c], done=False) for c in objects]
    if not script.omit_done:
        events.append(b"data: [DONE]\n\n")
    if script.error is not None:
        events.insert(min(script.error_after, len(events)), error_event(script.error))
    return events


def error_event(error: Mapping[str, object]) -> bytes:
    """The in-stream error event: ``data: {"error": ...}``, as OpenAI and vLLM send it."""
    return sse_body([{"error": dict(error)}], done=False)


def _interleaved(streams: list[list[dict[str, object]]]) -> list[dict[str, object]]:
    """The chunks of several choices, taken in turn, each with its choice's index, then one
    usage chunk: the prompt counted once, the completions of all the choices added up."""
    usages: list[dict[str, object]] = []
    queues = []
    for index, stream in enumerate(streams):
        queue = []
        for chunk in stream:
            choices = chunk["choices"]
            if not isinstance(choices, list) or not choices:
                usages.append(chunk["usage"])  # type: ignore[arg-type]  # our usage chunk
                continue
            queue.append({**chunk, "choices": [{**choices[0], "index": index}]})
        queues.append(queue)
    out = [queue[i] for i in range(max(map(len, queues))) for queue in queues if i < len(queue)]
    if usages:
        completion = sum(int(u["completion_tokens"]) for u in usages)  # type: ignore[call-overload]
        prompt = int(usages[0]["prompt_tokens"])  # type: ignore[call-overload]
        usage = {**usages[0], "completion_tokens": completion, "total_tokens": prompt + completion}
        out.append({**out[-1], "choices": [], "usage": usage})
    return out


def _whole_answer(
    script: Script, response_id: str, request: Mapping[str, object]
) -> dict[str, object]:
    return completion(script, response_id)


def _refusal(request: Mapping[str, object]) -> str | None:
    """OpenAI's answer to a function tool without its ``function`` object (the Responses
    API's flat shape)."""
    for index, tool in tools_of(request):
        if tool.get("type") == "function" and not isinstance(tool.get("function"), Mapping):
            return f"Missing required parameter: 'tools[{index}].function'."
    return None


#: The server's entry for ``POST /v1/chat/completions``.
FORM = WireForm(
    "/v1/chat/completions",
    "chatcmpl",
    stream_events,
    _whole_answer,
    _refusal,
    unanswered_chat_calls,
    error_event,
)
