"""Keywords the openers pass on to the server: a near miss of a real one is a typo, not a field.

``**params`` sends any field to the server (local servers take many of their own: ``top_k``,
``cache_prompt``, ``chat_template_kwargs``), so ``idle_timout=1`` or ``temprature=0`` would go
out as fields and be silently ignored. A keyword that is no field of the API's documented
request, and whose spelling is within a small edit of an opener's own option or of such a
field, is a :class:`TypeError` naming the one meant; anything else passes as it is, and
``extra_body=`` sends anything without a look. Pure.

The fields are the documented request bodies: OpenAI's "Create chat completion" and "Create a
model response" references, Anthropic's "Messages" reference (2025-2026 versions).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

__all__ = [
    "CHAT_FIELDS",
    "GEMINI_FIELDS",
    "MESSAGES_FIELDS",
    "OLLAMA_FIELDS",
    "RESPONSES_FIELDS",
    "check_keywords",
]

#: Ratio (difflib's) from which an unknown keyword is taken for a typo of a known one:
#: ``temprature``/``temperature`` 0.95, ``max_retry``/``max_retries`` 0.8, while the fields of
#: other servers (``repetition_penalty``, ``cache_prompt``) stay far below.
_NEAR_MISS = 0.8
#: Shorter keywords are not judged: one letter apart is a real field of another server there
#: (``top_k`` and ``top_p``, ``min_p``).
_SHORTEST_JUDGED = 6

CHAT_FIELDS = frozenset(
    [
        "messages",
        "model",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    ]
)
RESPONSES_FIELDS = frozenset(
    [
        "background",
        "conversation",
        "include",
        "input",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "model",
        "parallel_tool_calls",
        "previous_response_id",
        "prompt",
        "prompt_cache_key",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
    ]
)
MESSAGES_FIELDS = frozenset(
    [
        "model",
        "messages",
        "max_tokens",
        "container",
        "context_management",
        "mcp_servers",
        "metadata",
        "output_config",
        "service_tier",
        "stop_sequences",
        "stream",
        "system",
        "temperature",
        "thinking",
        "tool_choice",
        "tools",
        "top_k",
        "top_p",
    ]
)


GEMINI_FIELDS = frozenset(
    (
        "contents",
        "systemInstruction",
        "tools",
        "toolConfig",
        "generationConfig",
        "safetySettings",
        "cachedContent",
        "labels",
    )
)
OLLAMA_FIELDS = frozenset(
    ("model", "messages", "tools", "format", "options", "stream", "keep_alive", "think")
)


def check_keywords(
    opener: str, params: Mapping[str, object], options: Iterable[str], fields: frozenset[str]
) -> None:
    """Raise :class:`TypeError` for a keyword of ``params`` that is a near miss.

    Args:
        opener: The opener's name, for the message.
        params: The keywords that would go to the server as fields.
        options: The opener's own keyword options.
        fields: The API's documented request fields.
    """
    known = sorted({*options, *fields})
    for key in params:
        if key in fields or len(key) < _SHORTEST_JUDGED:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=_NEAR_MISS)
        if close:
            raise TypeError(
                f"{opener}() got an unexpected keyword argument {key!r}: did you mean "
                f"{close[0]!r}? (to send a field of that name anyway, pass it in extra_body=)"
            )
