"""Layer 1: a whole streamed answer as the non-streamed response object of its API.

What the request would have returned without ``stream: true``: ``open_batch`` writes it as
the body of an OpenAI Batch API output line. One pure function per API, named by the wire-API
registry. No trio, no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from ._models import Completed, FunctionCall, Item, Message, OutputText, Reasoning, Refusal
from ._turns import (
    assistant_message,
    gemini_model_content,
    messages_assistant_message,
    ollama_assistant_message,
)

__all__ = [
    "chat_completion_body",
    "gemini_body",
    "message_body",
    "ollama_body",
    "response_body",
]

#: Finish reasons back in the Messages API's words.
_STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}
_STOP_REASONS["content_filter"] = "refusal"


def message_body(model: str, output: list[Item], completed: Completed) -> dict[str, object]:
    """A Messages API ``message`` object of a whole streamed answer."""
    usage = completed.token_usage
    return {
        "id": completed.response_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": messages_assistant_message(output)["content"],
        "stop_reason": _STOP_REASONS.get(completed.finish_reason or "stop"),
        "stop_sequence": None,
        "usage": None
        if usage is None
        else {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
    }


def response_body(model: str, output: list[Item], completed: Completed) -> dict[str, object]:
    """A Responses API ``response`` object of a whole streamed answer."""
    usage = completed.token_usage
    return {
        "id": completed.response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if completed.finish_reason == "length" else "completed",
        "model": model,
        "output": [_output_item(item) for item in output],
        "usage": None
        if usage is None
        else {
            "input_tokens": usage.input_tokens,
            "input_tokens_details": {"cached_tokens": usage.cached_input_tokens},
            "output_tokens": usage.output_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_output_tokens},
            "total_tokens": usage.total_tokens,
        },
    }


def ollama_body(model: str, output: list[Item], completed: Completed) -> dict[str, object]:
    """An Ollama ``/api/chat`` answer (``stream: false``) of a whole streamed answer."""
    usage = completed.token_usage
    reason = completed.finish_reason or "stop"
    body: dict[str, object] = {
        "model": model,
        "created_at": completed.response_id,
        "message": ollama_assistant_message(output),
        "done": True,
        "done_reason": "stop" if reason == "tool_calls" else reason,
    }
    if usage is not None:
        body.update(prompt_eval_count=usage.input_tokens, eval_count=usage.output_tokens)
    return body


def gemini_body(model: str, output: list[Item], completed: Completed) -> dict[str, object]:
    """A Gemini ``GenerateContentResponse`` of a whole streamed answer."""
    usage = completed.token_usage
    reason = {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS"}.get(
        completed.finish_reason or "stop", "SAFETY"
    )
    body: dict[str, object] = {
        "candidates": [
            {"content": gemini_model_content(output), "finishReason": reason, "index": 0}
        ],
        "modelVersion": model,
        "responseId": completed.response_id,
    }
    if usage is not None:
        body["usageMetadata"] = {
            "promptTokenCount": usage.input_tokens,
            "candidatesTokenCount": usage.output_tokens - usage.reasoning_output_tokens,
            "thoughtsTokenCount": usage.reasoning_output_tokens,
            "totalTokenCount": usage.total_tokens,
        }
    return body


def chat_completion_body(model: str, output: list[Item], completed: Completed) -> dict[str, object]:
    """A ``chat.completion`` object of a whole streamed answer."""
    usage = completed.token_usage
    message = assistant_message(output, reasoning="always")
    return {
        "id": completed.response_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": completed.finish_reason or "stop"}
        ],
        "usage": None
        if usage is None
        else {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
            "completion_tokens_details": {"reasoning_tokens": usage.reasoning_output_tokens},
        },
    }


def _output_item(item: Item) -> Mapping[str, object]:
    """An item in the Responses API's output form."""
    if isinstance(item, FunctionCall):
        call = {"type": "function_call", "call_id": item.call_id, "name": item.name}
        return {"id": item.id, **call, "arguments": item.arguments, "status": "completed"}
    if isinstance(item, Reasoning):
        return item.model_dump(include={"type", "id", "summary", "content", "encrypted_content"})
    content: list[dict[str, object]] = []
    assert isinstance(item, Message)  # the three kinds of item
    for part in item.content:
        if isinstance(part, OutputText):
            content.append(
                {"type": "output_text", "text": part.text, "annotations": part.annotations}
            )
        elif isinstance(part, Refusal):
            content.append({"type": "refusal", "refusal": part.refusal})
    return {
        "id": item.id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": content,
    }
