"""Stream OpenAI-compatible Chat Completions, Responses API and Anthropic Messages API answers
as typed, ordered events under trio.

Everything public is imported from here; the ``_modules`` are private. The imports and
``__all__`` follow the sections of the API reference (``docs/api.rst``).
"""

from __future__ import annotations

# Streaming
from ._apis import WireAPI
from ._http import open_chat_stream, open_messages_stream, open_responses_stream
from ._background import resume_responses_stream
from ._chat_stream import ChatStream
from ._parsers import ResponseCursor
from ._stream import CHANNEL_SIZE
from ._event_stream import open_event_stream
from ._batch import open_batch
from ._batch_bodies import BatchResult
from ._limiter import Limiter, estimate_tokens
from ._telemetry import ReadOutcome, StreamStats, StreamTelemetry
from ._tool_calls import ToolCallsOnStop

# Events
from ._models import (
    EVENT_ADAPTER,
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

# Items, parts and usage
from ._models import (
    FunctionCall,
    Item,
    Message,
    OutputText,
    Reasoning,
    ReasoningDetail,
    ReasoningText,
    Refusal,
    SummaryText,
    TokenLogprob,
    TokenUsage,
    TopLogprob,
)

# Structured output
from ._schema import strict_json_schema
from ._structured import partial_model

# Agent loops
from ._turns import (
    InputItemParam,
    MessageParam,
    ReasoningPolicy,
    assistant_message,
    input_items,
    messages_assistant_message,
    parse_partial_json,
)

# Errors
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
    OutputRefusedError,
    OutputValidationError,
    ProviderError,
    RateLimitError,
    ResumeError,
    StreamError,
)

# The pure layers
from ._chunks import ChatChunkParser
from ._messages import MessagesEventParser
from ._parsers import ParserState
from ._responses import ResponsesEventParser
from ._sse import Comment, ServerSentEvent, SSEDecoder

__version__ = "0.1.0"

__all__ = [
    # Streaming
    "open_chat_stream",
    "open_responses_stream",
    "open_messages_stream",
    "resume_responses_stream",
    "open_event_stream",
    "ChatStream",
    "ResponseCursor",
    "StreamStats",
    "StreamTelemetry",
    "ReadOutcome",
    "Limiter",
    "estimate_tokens",
    "open_batch",
    "BatchResult",
    "CHANNEL_SIZE",
    "WireAPI",
    "ToolCallsOnStop",
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
    "EVENT_ADAPTER",
    # Items, parts and usage
    "Message",
    "Reasoning",
    "FunctionCall",
    "OutputText",
    "Refusal",
    "ReasoningText",
    "SummaryText",
    "ReasoningDetail",
    "TokenLogprob",
    "TopLogprob",
    "TokenUsage",
    "Item",
    # Structured output
    "partial_model",
    "strict_json_schema",
    # Agent loops
    "assistant_message",
    "input_items",
    "messages_assistant_message",
    "parse_partial_json",
    "ReasoningPolicy",
    "MessageParam",
    "InputItemParam",
    # Errors
    "ChatSSEError",
    "HTTPStatusError",
    "HTTPRateLimitError",
    "HTTPContextWindowExceeded",
    "RateLimitError",
    "ContextWindowExceeded",
    "ProviderError",
    "StreamError",
    "ResumeError",
    "EventTooLargeError",
    "IdleTimeoutError",
    "FirstByteTimeoutError",
    "OutputValidationError",
    "OutputRefusedError",
    "REQUEST_ID_HEADERS",
    # The pure layers
    "SSEDecoder",
    "ServerSentEvent",
    "Comment",
    "ChatChunkParser",
    "ResponsesEventParser",
    "MessagesEventParser",
    "ParserState",
    "__version__",
]
