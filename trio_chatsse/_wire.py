"""What both wire APIs share: JSON payloads, provider error objects and usage objects.

Chat Completions and the Responses API name the same things differently (``prompt_tokens``
and ``input_tokens``, ``*_tokens_details`` of either prefix); servers of both send error
objects of the same few shapes. Pure functions, no I/O.
"""

from __future__ import annotations

import json

from pydantic_core import from_json

from ._errors import ChatSSEError, ContextWindowExceeded, ProviderError, RateLimitError
from ._models import TokenUsage

__all__ = ["error_from_object", "loads", "usage_from_object"]

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
    """``json.loads`` at about half its cost: pydantic-core's parser (measured 1.4 µs against
    2.5 µs for ``raw_decode`` on a 200-byte chunk). It caches the keys, which every chunk
    repeats, and not the values, which are new text each time. It refuses lone surrogate
    escapes (``"\\ud800"``) that ``json`` accepts, so a refusal is retried there; a
    ``ValueError`` still means the data is not JSON."""
    try:
        return from_json(data, cache_strings="keys")
    except ValueError:
        return json.loads(data)


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
