"""Whether a request's history answers every tool call it holds, by each API's rule, with the
real servers' 400 messages. Pure: the server refuses with them under ``require_tool_results``.

- OpenAI Chat Completions: an assistant message with ``tool_calls`` must be followed by one
  ``tool`` message per ``tool_call_id``;
- OpenAI Responses API: each ``function_call`` item needs a ``function_call_output`` item
  with its ``call_id``;
- Ollama ``/api/chat``: each call of an assistant message needs a ``tool`` message with its
  ``tool_name`` after it;
- Anthropic Messages API: each ``tool_use`` block needs a ``tool_result`` block in the very
  next message (claude-code#3003 and letta#3273 quote this 400).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "unanswered_chat_calls",
    "unanswered_function_calls",
    "unanswered_ollama_calls",
    "unanswered_tool_uses",
]


def unanswered_chat_calls(request: Mapping[str, object]) -> str | None:
    """OpenAI's 400 for a Chat Completions history with a call left without its result."""
    messages = _list(request.get("messages"))
    for position, message in enumerate(messages):
        calls = _list(message.get("tool_calls")) if message.get("role") == "assistant" else []
        wanted = [str(call.get("id")) for call in calls]
        answered = set()
        for following in messages[position + 1 :]:
            if following.get("role") != "tool":
                break
            answered.add(str(following.get("tool_call_id")))
        missing = [call_id for call_id in wanted if call_id not in answered]
        if missing:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(missing)}"
            )
    return None


def unanswered_ollama_calls(request: Mapping[str, object]) -> str | None:
    """A history where an assistant message's ``tool_calls`` are not each followed by a
    ``tool`` message of that ``tool_name`` (Ollama matches results by name, ids being optional)."""
    messages = _list(request.get("messages"))
    for position, message in enumerate(messages):
        calls = _list(message.get("tool_calls")) if message.get("role") == "assistant" else []
        wanted = [str(_function(call).get("name")) for call in calls]
        for following in messages[position + 1 :]:
            if following.get("role") != "tool":
                break
            name = str(following.get("tool_name"))
            if name in wanted:
                wanted.remove(name)
        if wanted:
            return f"tool calls without a tool message of their tool_name: {', '.join(wanted)}"
    return None


def _function(call: Mapping[str, object]) -> Mapping[str, object]:
    function = call.get("function")
    return function if isinstance(function, Mapping) else {}


def unanswered_function_calls(request: Mapping[str, object]) -> str | None:
    """OpenAI's 400 for a Responses input with a ``function_call`` left without its output."""
    items = _list(request.get("input"))
    outputs = {
        str(item.get("call_id")) for item in items if item.get("type") == "function_call_output"
    }
    for item in items:
        if item.get("type") == "function_call" and str(item.get("call_id")) not in outputs:
            return f"No tool output found for function call {item.get('call_id')}."
    return None


def unanswered_tool_uses(request: Mapping[str, object]) -> str | None:
    """Anthropic's 400 for a ``tool_use`` without a ``tool_result`` in the next message."""
    messages = _list(request.get("messages"))
    for position, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        uses = [
            str(block.get("id"))
            for block in _list(message.get("content"))
            if block.get("type") == "tool_use"
        ]
        following = messages[position + 1] if position + 1 < len(messages) else {}
        results = {
            str(block.get("tool_use_id"))
            for block in _list(following.get("content"))
            if block.get("type") == "tool_result"
        }
        missing = [use for use in uses if use not in results]
        if missing:
            return (
                f"messages.{position + 1}: `tool_use` ids were found without `tool_result` "
                f"blocks immediately after: {', '.join(missing)}. Each `tool_use` block must "
                "have a corresponding `tool_result` block in the next message."
            )
    return None


def _list(value: object) -> list[Mapping[str, object]]:
    return (
        [entry for entry in value if isinstance(entry, Mapping)] if isinstance(value, list) else []
    )
