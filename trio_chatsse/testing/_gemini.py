"""Gemini's native form of a scripted reply: ``streamGenerateContent?alt=sse`` events, as the
real service writes them (CRLF-framed, no ``[DONE]``, ``usageMetadata`` on every event).

Thought pieces (``thought: true``), text pieces, the tool calls in one event (ids only when
the script gives them, the signature on the first call only, as real parallel calls have it),
then a last event with ``finishReason`` and the counts; a reply without calls closes with an
empty text part that carries the signature (Gemini 3's way). A request with
``toolConfig.functionCallingConfig.streamFunctionCallArguments`` gets each call as Vertex
streams it: the name with ``willContinue``, each argument in ``partialArgs`` (strings in
pieces), then an empty ``functionCall``; one with ``generationConfig.responseLogprobs`` gets a
``logprobsResult`` on each text event (one token per piece, ``logprobs`` alternatives).
Faults as in the other forms: an ``{"error": ...}`` event, a body without its
``finishReason``. Pure: no trio, no I/O.
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


def gemini_events(
    script: Script, *, streamed_arguments: bool = False, logprobs: int | None = None
) -> list[dict[str, object]]:
    """The events of the streamed form, in order (``streamed_arguments``: the calls' arguments
    streamed, as Vertex AI streams them when asked; ``logprobs``: each text piece's token with
    this many alternatives)."""
    size = script.fragment_size
    events = [
        _event(script, [{"text": p, "thought": True}]) for p in pieces(script.reasoning, size)
    ]
    for position, piece in enumerate(pieces(script.text + script.refusal, size)):
        extra = {} if logprobs is None else {"logprobsResult": _logprobs(piece, position, logprobs)}
        events.append(_event(script, [{"text": piece}], **extra))
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
            part: dict[str, object] = {
                "functionCall": function,
                **(signature if not position else {}),
            }
            if streamed_arguments:
                events += [_event(script, [p]) for p in _streamed_call(part, args, size)]
            else:
                calls.append(part)
        if calls:
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
    objects = gemini_events(
        script, streamed_arguments=_streams_arguments(request), logprobs=_asks_logprobs(request)
    )
    if script.omit_done and "candidates" in objects[-1]:
        candidate = objects[-1]["candidates"][0]  # type: ignore[index]  # ours
        candidate.pop("finishReason", None)
    events = [b"data: " + json.dumps(o).encode() + b"\r\n\r\n" for o in objects]
    if script.error is not None:
        events.insert(min(script.error_after, len(events)), error_event(script.error))
    return events


def error_event(error: Mapping[str, object]) -> bytes:
    """An ``{"error": ...}`` event, as Google sends one mid-stream."""
    return b"data: " + json.dumps({"error": dict(error)}).encode() + b"\r\n\r\n"


def _streamed_call(part: dict[str, object], args: object, size: int) -> list[dict[str, object]]:
    """One call as Vertex streams its arguments: a part per argument (a string in pieces)."""
    function = dict(part["functionCall"])  # type: ignore[call-overload]  # ours
    del function["args"]
    parts: list[dict[str, object]] = [{**part, "functionCall": {**function, "willContinue": True}}]
    for key, value in args.items() if isinstance(args, dict) else ():
        path = f"$.{key}" if key.isidentifier() else f"$[{json.dumps(key)}]"
        if isinstance(value, str):
            texts = pieces(value, size) or [""]
            partials = [
                {"jsonPath": path, "stringValue": text, "willContinue": n < len(texts) - 1}
                for n, text in enumerate(texts)
            ]
        else:
            kind = {bool: "boolValue", dict: "structValue", list: "listValue"}.get(
                type(value), "numberValue"
            )
            partials = [
                {"jsonPath": path, "nullValue": "NULL_VALUE"}
                if value is None
                else {"jsonPath": path, kind: value}
            ]
        parts += [{"functionCall": {"partialArgs": [p], "willContinue": True}} for p in partials]
    parts.append({"functionCall": {}})
    return parts


def _logprobs(piece: str, position: int, top: int) -> dict[str, object]:
    """A piece's ``logprobsResult``, as Gemini writes it: its log probability left out when it
    is 0 (protobuf's JSON omits zeros), as at the first position here."""
    chosen: dict[str, object] = {"token": piece}
    if position:
        chosen["logProbability"] = -0.25 * position
    alternatives = [{"token": f"{piece}~{n}", "logProbability": -1.0 - n} for n in range(top)]
    return {
        "chosenCandidates": [chosen],
        "topCandidates": [{"candidates": [chosen, *alternatives]}],
    }


def _asks_logprobs(request: Mapping[str, object]) -> int | None:
    config = request.get("generationConfig")
    if not isinstance(config, dict) or config.get("responseLogprobs") is not True:
        return None
    top = config.get("logprobs")
    return top if type(top) is int else 0


def _streams_arguments(request: Mapping[str, object]) -> bool:
    config = request.get("toolConfig")
    calling = config.get("functionCallingConfig") if isinstance(config, dict) else None
    return isinstance(calling, dict) and calling.get("streamFunctionCallArguments") is True


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
    error_event=error_event,
    streams_always=True,
)
