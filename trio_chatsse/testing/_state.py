"""The provider-state rules of ``require_state_back``: what a history must carry back.

The server notes, per tool call it sent, the provider state that went with it, and refuses a
later request whose history dropped it, with the provider's own error message: Gemini 3's
thought signature on the call (on the compatible route, and on the first call part of a native
``model`` turn), DeepSeek's reasoning in the field it came in, OpenRouter's
merged ``reasoning_details``, and OpenAI's reasoning item before a function call in a stateless
Responses loop. Pure: no trio, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from ._responses import encrypted_reasoning, response_object
from ._script import Script

__all__ = ["ProviderState"]


@dataclass(frozen=True)
class _SentState:
    """The provider state a reply sent with a tool call."""

    extra_content: Mapping[str, object] | None
    thinking: tuple[str, str] | None
    details: list[dict[str, object]] | None
    reasoning_item: tuple[str, str] | None = None
    signature: str | None = None


class ProviderState:
    """The state sent with each tool call, and the check of a history against it."""

    def __init__(self) -> None:
        self._sent: dict[str, _SentState] = {}
        #: Gemini's native signatures, by the signed call's name and arguments.
        self._signed_calls: dict[tuple[str, str], str] = {}

    def remember(self, script: Script, response_id: str, request: Mapping[str, object]) -> None:
        """Note, per tool call id, the provider state a client must send back with the call."""
        thinking = None
        if script.reasoning and script.reasoning_field in ("reasoning_content", "reasoning"):
            thinking = (script.reasoning_field, script.reasoning)
        reasoning_item = None
        if encrypted_reasoning(request) and script.reasoning:
            item = response_object(script, response_id, encrypted=True)["output"][0]  # type: ignore[index]  # a list of items
            reasoning_item = (item["id"], item["encrypted_content"])
        if "contents" in request and script.tool_calls:  # Gemini's native form signs the first
            first = script.tool_calls[0]
            self._signed_calls[(first.name, _canonical(first.arguments))] = script.signature()
        for index, call in enumerate(script.tool_calls):
            state = _SentState(
                call.extra_content,
                thinking,
                script.reasoning_details(),
                reasoning_item,
                script.signature() if script.reasoning else None,
            )
            self._sent[call.call_id or f"call_{index}"] = state
            self._sent[call.call_id or f"toolu_{index}"] = state

    def missing(self, request: Mapping[str, object]) -> str | None:
        """What the request's history lacks of the state sent with its tool calls, if any,
        as the provider's error message."""
        items = request.get("input")
        if isinstance(items, list):
            return self._missing_reasoning_items(items)
        contents = request.get("contents")
        if isinstance(contents, list):
            return self._missing_signatures(contents)
        messages = request.get("messages")
        for position, message in enumerate(messages if isinstance(messages, list) else ()):
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list):
                refusal = self._missing_thinking(position, content)
                if refusal is not None:
                    return refusal
            calls = message.get("tool_calls") if isinstance(message, dict) else None
            for call in calls if isinstance(calls, list) else ():
                call_id = call.get("id") if isinstance(call, dict) else None
                state = self._sent.get(call_id) if isinstance(call_id, str) else None
                if state is not None:
                    refusal = _missing_from_message(state, message, call)
                    if refusal is not None:
                        return refusal
        return None

    def _missing_thinking(self, position: int, blocks: list[object]) -> str | None:
        """Anthropic's rule with thinking on: an assistant turn that used a tool goes back
        with its thinking block first, its signature unchanged."""
        for block in blocks:
            if not isinstance(block, dict) or block.get("type") != "tool_use":
                continue
            state = self._sent.get(str(block.get("id")))
            if state is None or state.signature is None:
                continue
            thinking = [b for b in blocks if isinstance(b, dict) and b.get("type") == "thinking"]
            if not thinking or thinking[0] is not blocks[0]:
                found = blocks[0].get("type") if isinstance(blocks[0], dict) else None
                return (
                    f"messages.{position}.content.0.type: Expected `thinking` or "
                    f"`redacted_thinking`, but found `{found}`. When `thinking` is enabled, a "
                    "final `assistant` message must start with a thinking block."
                )
            if thinking[0].get("signature") != state.signature:
                return f"messages.{position}.content.0: Invalid `signature` in `thinking` block"
        return None

    def _missing_signatures(self, contents: list[object]) -> str | None:
        """Gemini 3's native rule: a signed function call goes back with its signature, on
        the same part."""
        for position, content in enumerate(contents):
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts if isinstance(parts, list) else ():
                call = part.get("functionCall") if isinstance(part, dict) else None
                if not isinstance(call, dict):
                    continue
                args = json.dumps(call.get("args") or {})
                signed = self._signed_calls.get((str(call.get("name")), _canonical(args)))
                if signed is not None and part.get("thoughtSignature") != signed:
                    return (
                        "Function call is missing a thought_signature in functionCall parts. "
                        "This is required for tools to work correctly, and missing "
                        "thought_signature may lead to degraded model performance. Additional "
                        f"data, function call `{call.get('name')}` , position {position + 1}."
                    )
        return None

    def _missing_reasoning_items(self, items: list[object]) -> str | None:
        """OpenAI's rule for a stateless Responses loop: a function call goes back with the
        reasoning item (id and encrypted content) that came before it."""
        reasoning = {
            (item.get("id"), item.get("encrypted_content"))
            for item in items
            if isinstance(item, dict) and item.get("type") == "reasoning"
        }
        for item in items:
            if not isinstance(item, dict) or item.get("type") != "function_call":
                continue
            state = self._sent.get(str(item.get("call_id")))
            needed = None if state is None else state.reasoning_item
            if needed is not None and needed not in reasoning:
                return (
                    f"Item of type 'function_call' was provided without its required "
                    f"'reasoning' item: '{needed[0]}'."
                )
        return None


def _canonical(arguments: str) -> str:
    """Arguments as JSON with sorted keys, so that the same call matches however it is
    spaced."""
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except ValueError:
        return arguments


def _missing_from_message(
    state: _SentState, message: dict[str, object], call: dict[str, object]
) -> str | None:
    """Gemini's, DeepSeek's and OpenRouter's rules for one assistant message and call."""
    if state.extra_content is not None and call.get("extra_content") != dict(state.extra_content):
        return (
            "Function call is missing a thought_signature in functionCall parts. "
            "This is required for tools to work correctly."
        )
    if state.thinking is not None and message.get(state.thinking[0]) != state.thinking[1]:
        return f"The {state.thinking[0]} in the thinking mode must be passed back to the API."
    if state.details is not None and message.get("reasoning_details") != state.details:
        return "reasoning_details must be passed back unmodified with tool calls."
    return None
