"""Layer 1: a streamed answer as the non-streamed response object of its API, and the lines of
the OpenAI Batch API's files.

Pure: no trio, no I/O. ``open_batch`` streams each request (so that timeouts and retries
apply) and writes what the request would have returned without ``stream: true``, the body of
an OpenAI Batch API output line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ._models import Completed, FunctionCall, Item, Message, OutputText, Reasoning, Refusal
from ._turns import assistant_message, messages_assistant_message

__all__ = ["BATCH_URLS", "BatchRequest", "BatchResult", "read_request", "response_body"]

#: The Batch API's ``url`` of each wire API (``/v1`` or not, as the client's base URL has it).
BATCH_URLS = {
    "/v1/chat/completions": "chat",
    "/v1/responses": "responses",
    "/v1/messages": "messages",
}

#: Finish reasons back in the Messages API's words.
_STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}
_STOP_REASONS["content_filter"] = "refusal"


@dataclass(frozen=True)
class BatchRequest:
    """One line of a Batch API input file, checked."""

    custom_id: str
    api: str
    body: dict[str, object]


@dataclass(frozen=True)
class BatchResult:
    """What one request of a batch gave: a response (its status and body), or an error.

    ``line(n)`` is its line of a Batch API output file.
    """

    custom_id: str | None
    status_code: int | None = None
    body: dict[str, object] | None = None
    request_id: str | None = None
    error: dict[str, object] | None = None
    #: Tokens the request used, as its usage said.
    total_tokens: int = 0

    @property
    def ok(self) -> bool:
        """The request answered with a success status."""
        return self.status_code is not None and self.status_code < 400

    def line(self, number: int) -> dict[str, object]:
        """The Batch API output line: ``id``, ``custom_id``, ``response``, ``error``."""
        response = None
        if self.status_code is not None:
            response = {
                "status_code": self.status_code,
                "request_id": self.request_id,
                "body": self.body,
            }
        return {
            "id": f"batch_req_{number}",
            "custom_id": self.custom_id,
            "response": response,
            "error": self.error,
        }


def read_request(line: object) -> BatchRequest | BatchResult:
    """A Batch API input line (its text, or its parsed JSON) as a request, or the error result
    that says why it cannot be sent."""
    if isinstance(line, str | bytes):
        try:
            line = json.loads(line)
        except ValueError as error:
            return _invalid(None, f"the line is not JSON: {error}")
    if not isinstance(line, dict):
        return _invalid(None, "the line is not a JSON object")
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return _invalid(None, "custom_id must be a non-empty string")
    if line.get("method", "POST") != "POST":
        return _invalid(custom_id, f"method must be POST, not {line.get('method')!r}")
    url = line.get("url")
    path = url if isinstance(url, str) else ""
    api = BATCH_URLS.get(path if path.startswith("/v1/") else "/v1" + path)
    if api is None:
        return _invalid(custom_id, f"url must be one of {', '.join(BATCH_URLS)}, not {url!r}")
    body = line.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return _invalid(custom_id, "body must be an object with a model")
    return BatchRequest(custom_id, api, {k: v for k, v in body.items() if k != "stream"})


def _invalid(custom_id: str | None, message: str) -> BatchResult:
    return BatchResult(custom_id, error={"code": "invalid_request", "message": message})


def response_body(
    api: str, model: str, output: list[Item], completed: Completed
) -> dict[str, object]:
    """The non-streamed response object of ``api`` for a whole streamed answer."""
    usage = completed.token_usage
    if api == "messages":
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
    if api == "responses":
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
