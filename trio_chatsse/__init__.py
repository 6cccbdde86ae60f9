"""Stream OpenAI-compatible Chat Completions as typed, ordered events under trio.

Everything public is imported from here; the ``_modules`` are private.
"""

from __future__ import annotations

from ._chunks import ChatChunkParser, ParserState
from ._errors import (
    ChatSSEError,
    ContextWindowExceeded,
    EventTooLargeError,
    HTTPStatusError,
    IdleTimeoutError,
    ProviderError,
    RateLimitError,
    StreamError,
)
from ._http import open_chat_stream
from ._models import (
    EVENT_ADAPTER,
    Completed,
    Event,
    FunctionCall,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    Item,
    Message,
    OutputItemAdded,
    OutputItemDone,
    OutputText,
    OutputTextDelta,
    Reasoning,
    ReasoningContentDelta,
    ReasoningDetail,
    ReasoningText,
    Refusal,
    RefusalDelta,
    TokenUsage,
)
from ._sse import Comment, ServerSentEvent, SSEDecoder
from ._stream import (
    CHANNEL_SIZE,
    ChatStream,
    ReadOutcome,
    StreamStats,
    StreamTelemetry,
    open_event_stream,
)
from ._tool_calls import ToolCallsOnStop
from ._turns import ReasoningPolicy, assistant_message, parse_partial_json

__version__ = "0.1.0"

__all__ = [
    "CHANNEL_SIZE",
    "EVENT_ADAPTER",
    "ChatChunkParser",
    "ChatSSEError",
    "ChatStream",
    "Comment",
    "Completed",
    "ContextWindowExceeded",
    "Event",
    "EventTooLargeError",
    "FunctionCall",
    "FunctionCallArgumentsDelta",
    "FunctionCallArgumentsDone",
    "HTTPStatusError",
    "IdleTimeoutError",
    "Item",
    "Message",
    "OutputItemAdded",
    "OutputItemDone",
    "OutputText",
    "OutputTextDelta",
    "ParserState",
    "ProviderError",
    "ReadOutcome",
    "RateLimitError",
    "Reasoning",
    "ReasoningContentDelta",
    "ReasoningDetail",
    "ReasoningPolicy",
    "ReasoningText",
    "Refusal",
    "RefusalDelta",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamError",
    "StreamStats",
    "StreamTelemetry",
    "TokenUsage",
    "ToolCallsOnStop",
    "__version__",
    "assistant_message",
    "open_chat_stream",
    "open_event_stream",
    "parse_partial_json",
]
