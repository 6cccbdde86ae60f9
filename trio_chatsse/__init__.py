"""Stream OpenAI-compatible Chat Completions, Responses API, Anthropic Messages API, and Gemini's
and Ollama's native answers as typed, ordered events under trio.

What a stream needs is imported from here, in the sections of the API reference
(``docs/api.rst``). The rest is in public submodules, as trio keeps ``trio.lowlevel`` and
``trio.testing``: :mod:`trio_chatsse.sansio` (the pure layers), :mod:`trio_chatsse.parts`
(the items' parts), :mod:`trio_chatsse.structured`, :mod:`trio_chatsse.background`,
:mod:`trio_chatsse.batch`, :mod:`trio_chatsse.limits`, :mod:`trio_chatsse.telemetry`,
:mod:`trio_chatsse.otel` and :mod:`trio_chatsse.testing`. The ``_modules`` are private.
"""

from __future__ import annotations

from ._public import publish

# Streaming
from ._chat_stream import ChatStream
from ._event_stream import open_event_stream
from ._http import open_chat_stream, open_messages_stream, open_responses_stream
from ._open_gemini import open_gemini_stream
from ._open_ollama import open_ollama_stream
from ._limiter import Limiter

# Events
from ._models import (
    Completed,
    Event,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningContentDelta,
    ReasoningSummaryTextDelta,
    RefusalDelta,
)

# Items and usage
from ._models import FunctionCall, Item, Message, Reasoning, TokenUsage

# Tool loops
from ._tool_loop import ToolApprovalRequest, ToolLoop, ToolResult, open_tool_loop
from ._tools import tool

# The next turn
from ._turns import InputItemParam, MessageParam, assistant_message, input_items

# Errors
from ._errors import (
    ChatSSEError,
    ContextWindowExceeded,
    FirstByteTimeoutError,
    HTTPStatusError,
    IdleTimeoutError,
    ProviderError,
    RateLimitError,
    StreamError,
)

# The public submodules, importable as attributes after ``import trio_chatsse``.
from . import background as background
from . import batch as batch
from . import limits as limits
from . import parts as parts
from . import sansio as sansio
from . import structured as structured
from . import telemetry as telemetry

#: The package's version (not in ``__all__``: an attribute, as most packages keep it).
__version__ = "0.1.0"

__all__ = [
    # Streaming
    "open_chat_stream",
    "open_responses_stream",
    "open_messages_stream",
    "open_gemini_stream",
    "open_ollama_stream",
    "open_event_stream",
    "ChatStream",
    "Limiter",
    # Events
    "OutputItemAdded",
    "OutputTextDelta",
    "RefusalDelta",
    "ReasoningContentDelta",
    "ReasoningSummaryTextDelta",
    "FunctionCallArgumentsDelta",
    "FunctionCallArgumentsDone",
    "OutputItemDone",
    "Completed",
    "Event",
    # Items and usage
    "Message",
    "Reasoning",
    "FunctionCall",
    "TokenUsage",
    "Item",
    # Tool loops
    "open_tool_loop",
    "ToolLoop",
    "tool",
    "ToolResult",
    "ToolApprovalRequest",
    # The next turn
    "assistant_message",
    "input_items",
    "MessageParam",
    "InputItemParam",
    # Errors
    "ChatSSEError",
    "HTTPStatusError",
    "RateLimitError",
    "ContextWindowExceeded",
    "ProviderError",
    "StreamError",
    "IdleTimeoutError",
    "FirstByteTimeoutError",
]

publish(globals())
