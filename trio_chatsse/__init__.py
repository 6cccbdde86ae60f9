"""Stream OpenAI-compatible Chat Completions and Responses API answers as typed, ordered
events under trio.

Everything public is imported from here; the ``_modules`` are private.
"""

from __future__ import annotations

from ._chunks import ChatChunkParser
from ._errors import (
    REQUEST_ID_HEADERS,
    ChatSSEError,
    ContextWindowExceeded,
    EventTooLargeError,
    FirstByteTimeoutError,
    HTTPContextWindowExceeded,
    HTTPRateLimitError,
    HTTPStatusError,
    IdleTimeoutError,
    ProviderError,
    RateLimitError,
    StreamError,
)
from ._http import open_chat_stream, open_responses_stream
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
    ReasoningSummaryTextDelta,
    ReasoningText,
    Refusal,
    RefusalDelta,
    SummaryText,
    TokenUsage,
)
from ._parsers import ParserState
from ._responses import ResponsesEventParser
from ._sse import Comment, ServerSentEvent, SSEDecoder
from ._stream import (
    CHANNEL_SIZE,
    ChatStream,
    ReadOutcome,
    StreamStats,
    StreamTelemetry,
    WireAPI,
    open_event_stream,
)
from ._tool_calls import ToolCallsOnStop
from ._turns import ReasoningPolicy, assistant_message, input_items, parse_partial_json

__version__ = "0.1.0"

__all__ = [
    "CHANNEL_SIZE",
    "EVENT_ADAPTER",
    "REQUEST_ID_HEADERS",
    "ChatChunkParser",
    "ChatSSEError",
    "ChatStream",
    "Comment",
    "Completed",
    "ContextWindowExceeded",
    "Event",
    "EventTooLargeError",
    "FirstByteTimeoutError",
    "FunctionCall",
    "FunctionCallArgumentsDelta",
    "FunctionCallArgumentsDone",
    "HTTPContextWindowExceeded",
    "HTTPRateLimitError",
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
    "ReasoningSummaryTextDelta",
    "ReasoningText",
    "Refusal",
    "RefusalDelta",
    "ResponsesEventParser",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamError",
    "StreamStats",
    "StreamTelemetry",
    "SummaryText",
    "TokenUsage",
    "ToolCallsOnStop",
    "WireAPI",
    "__version__",
    "assistant_message",
    "input_items",
    "open_chat_stream",
    "open_event_stream",
    "open_responses_stream",
    "parse_partial_json",
]
