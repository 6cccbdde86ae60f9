"""The wire rules every parser shares: reading one event's payload, provider error objects,
usage objects, the ``length`` rule and whole JSON arguments.

Chat Completions and the Responses API name the same things differently (``prompt_tokens``
and ``input_tokens``, ``*_tokens_details`` of either prefix); servers of both send error
objects of the same few shapes. Pure functions, no I/O.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Final

from pydantic import ValidationError
from pydantic_core import from_json

from ._errors import ChatSSEError, ContextWindowExceeded, ProviderError, RateLimitError
from ._models import TokenLogprob, TokenUsage

__all__ = [
    "THINKING_PARTS",
    "DONE",
    "arguments_are_whole",
    "error_from_object",
    "event_type",
    "length_without_limit",
    "loads",
    "read_payload",
    "reasoning_text",
    "thinking_text",
    "token_logprobs",
    "usage_from_object",
]

#: The ``Reasoning.text_field`` of reasoning streamed as Mistral's ``thinking`` content parts
#: (Magistral): the next turn sends it back as such a part, before the text.
THINKING_PARTS: Final = "content.thinking"

logger = logging.getLogger(__name__)

#: :func:`read_payload`'s answer for the ``[DONE]`` marker.
DONE: Final = "[DONE]"

_CONTEXT_MARKERS = (
    "context_length",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
)
_RATE_LIMIT_CODES = frozenset(
    {"rate_limit_exceeded", "rate_limit_error", "429", "insufficient_quota"}
)


def loads(data: str) -> object:
    """``json.loads`` at about half its cost (``docs/design.rst``, "Measured costs"):
    pydantic-core's parser, caching the keys, which every chunk repeats, and not the values,
    which are new text each time. It refuses lone surrogate escapes (``"\\ud800"``) that
    ``json`` accepts, so a refusal is retried there; a ``ValueError`` still means the data is
    not JSON."""
    try:
        return from_json(data, cache_strings="keys")
    except ValueError:
        return json.loads(data)


def read_payload(data: str, event: str) -> dict[str, object] | str | ChatSSEError | None:
    """The JSON object of one SSE event's ``data``, or what stands in its place.

    :data:`DONE` for the ``[DONE]`` marker (stray whitespace allowed); a
    :class:`~trio_chatsse.ProviderError` for an ``error`` event whose data is not JSON;
    ``None`` for anything else that is not a JSON object (logged at DEBUG and skipped: a
    keep-alive, blank data, junk).
    """
    if data == DONE:
        return DONE
    try:
        payload = loads(data)
    except ValueError:
        if data.strip() == DONE:
            return DONE
        if data.strip():
            logger.debug("skipping an SSE event whose data is not JSON (%d chars)", len(data))
        else:
            logger.debug("skipping an SSE event with blank data")
        if event == "error":
            return ProviderError(f"the server sent an error event: {data[:200]}")
        return None
    if type(payload) is not dict:
        logger.debug("skipping an SSE event whose JSON is not an object")
        return None
    return payload


def event_type(payload: dict[str, object], event: str) -> str:
    """The type of an event that names itself in its JSON (Responses and Messages APIs): its
    ``type``; else ``"error"`` for a bare ``{"error": {...}}`` (LiteLLM's bridges when the
    upstream fails); else the SSE ``event:`` name (some replays send ``data:`` lines only)."""
    kind = payload.get("type")
    if type(kind) is str:
        return kind
    return "error" if payload.get("error") is not None else event


def length_without_limit(token_limit_set: bool, what: str) -> ContextWindowExceeded | None:
    """The rule for a ``length`` finish: the user's own token limit ends the stream normally
    (``None``); with no limit set, the model stopped because the context window is full.

    ``what`` says how the server put it (``"finish_reason 'length'"``)."""
    if token_limit_set:
        return None
    return ContextWindowExceeded(
        f"the model stopped ({what}) and the request set no token limit: the context window is full"
    )


def arguments_are_whole(arguments: str) -> bool:
    """Whether a tool call's arguments parse as JSON (a call cut short does not)."""
    try:
        json.loads(arguments)
    except ValueError:
        return False
    return True


def error_from_object(error: dict[str, object], *, status_code: int | None = None) -> ChatSSEError:
    """Map a provider's error object (``{"message", "type", "code", ...}``) to an exception."""
    message = error.get("message")
    message = message if type(message) is str else json.dumps(error)[:500]
    code = error.get("code")
    code = code if type(code) is str or type(code) is int else None
    error_type = error.get("type")
    error_type = error_type if type(error_type) is str else None
    status = error.get("status")
    if (
        str(code).lower() in _RATE_LIMIT_CODES
        or (error_type or "").lower() in _RATE_LIMIT_CODES
        or status == "RESOURCE_EXHAUSTED"  # Gemini's name for a quota error
    ):
        return RateLimitError(message, status_code=status_code, code=code)
    lowered = f"{code} {error_type} {message}".lower()
    if any(marker in lowered for marker in _CONTEXT_MARKERS):
        return ContextWindowExceeded(message, status_code=status_code, code=code)
    return ProviderError(message, code=code, error_type=error_type, error=error)


def usage_from_object(usage: dict[str, object]) -> TokenUsage:
    """Token counts from a ``usage`` object of either API (null details allowed)."""
    input_tokens = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
    output_tokens = _int(usage.get("completion_tokens", usage.get("output_tokens")))
    input_details = usage.get("prompt_tokens_details", usage.get("input_tokens_details"))
    output_details = usage.get("completion_tokens_details", usage.get("output_tokens_details"))
    cached = _int(usage.get("prompt_cache_hit_tokens"))  # DeepSeek's name
    if type(input_details) is dict:
        cached = _int(input_details.get("cached_tokens")) or cached
    reasoning = 0
    if type(output_details) is dict:
        reasoning = _int(output_details.get("reasoning_tokens"))
    total = _int(usage.get("total_tokens")) or input_tokens + output_tokens
    return TokenUsage(
        input_tokens=input_tokens,
        cached_input_tokens=cached,
        output_tokens=output_tokens,
        reasoning_output_tokens=reasoning,
        total_tokens=total,
    )


def _int(value: object) -> int:
    return value if type(value) is int else 0


def token_logprobs(value: object) -> list[TokenLogprob] | None:
    """The tokens of a ``logprobs.content`` (or ``.refusal``) list of a chunk, or of a
    Responses API delta's ``logprobs``; ``None`` when it holds none.

    Every entry is kept, so that the tokens reported are the tokens passed on: ``bytes`` and
    ``top_logprobs`` may be null, an entry the model cannot read keeps what it can.
    """
    if type(value) is not list or not value:
        return None
    tokens: list[TokenLogprob] = []
    for entry in value:
        if type(entry) is not dict:
            continue
        if entry.get("top_logprobs") is None and "top_logprobs" in entry:
            entry = {**entry, "top_logprobs": []}
        try:
            tokens.append(TokenLogprob.model_validate(entry))
        except ValidationError:
            token, logprob = entry.get("token"), entry.get("logprob")
            tokens.append(
                TokenLogprob(
                    token=token if type(token) is str else "",
                    logprob=logprob if type(logprob) in (int, float) else math.nan,
                )
            )
    return tokens or None


def thinking_text(value: object) -> str:
    """The text of a Mistral ``thinking`` part: a list of text chunks (or a string)."""
    if type(value) is str:
        return value
    if type(value) is list:
        return "".join(
            piece["text"]
            for piece in value
            if type(piece) is dict and type(piece.get("text")) is str
        )
    return ""


def reasoning_text(value: object) -> str:
    """Reasoning text from a string, ``{"text": ...}`` or ``{"content": ...}``."""
    if type(value) is str:
        return value
    if type(value) is dict:
        for key in ("text", "content"):
            text = value.get(key)
            if type(text) is str:
                return text
    return ""
