"""The next turn of an agent loop, from the done items: the Chat Completions assistant message
(:func:`assistant_message`) or the Responses API input items (:func:`input_items`).

Pure functions over items (no I/O), so that sans-IO users get the same as the
:class:`~trio_chatsse.ChatStream` methods of the same names.

What each Chat Completions provider needs back (docs/providers.rst has the sources):

* Gemini 3 (OpenAI compatibility): each tool call's ``extra_content`` (its thought signature)
  on the same tool call, or HTTP 400. Kept in ``FunctionCall.provider_fields``; always sent.
* OpenRouter: ``reasoning_details`` merged from the streamed pieces, unmodified, so that
  reasoning survives tool calls (Anthropic and Gemini models behind it need it).
* DeepSeek (thinking mode): the ``reasoning_content`` of an assistant message that made tool
  calls, in every later request (HTTP 400 otherwise); on a message without tool calls it is
  ignored. vLLM (Qwen3, MiniMax templates) and Ollama also read the reasoning of tool-call
  turns, under ``reasoning``; llama.cpp under ``reasoning_content``; Groq rejects
  ``reasoning_content`` with HTTP 400 but takes ``reasoning``. Each server reads the field it
  writes, so the text goes back in the field it came in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal, TypeAlias

from pydantic import JsonValue
from pydantic_core import from_json

from ._models import FunctionCall, Item, Message, OutputText, Reasoning, Refusal
from ._wire import THINKING_PARTS

__all__ = [
    "InputItemParam",
    "MessageParam",
    "ReasoningPolicy",
    "assistant_message",
    "gemini_model_content",
    "input_items",
    "messages_assistant_message",
    "ollama_assistant_message",
    "parse_partial_json",
]

#: A message of a request's ``messages`` (Chat Completions or Messages API), as a plain dict:
#: annotate your list with it (``messages: list[MessageParam] = [{"role": "user", ...}]``) and
#: the assistant messages this library builds append to it under ``mypy --strict``.
MessageParam: TypeAlias = dict[str, object]
#: An item of a Responses API request's ``input``, as a plain dict (see :data:`MessageParam`).
InputItemParam: TypeAlias = dict[str, object]

ReasoningPolicy = Literal["with_tool_calls", "always", "never"]


def assistant_message(
    items: Iterable[Item],
    *,
    reasoning: ReasoningPolicy = "with_tool_calls",
    reasoning_field: str | None = None,
) -> MessageParam:
    """The Chat Completions assistant message of a response, to append to ``messages``.

    It holds ``role``, ``content`` (the joined text; ``None`` when the model wrote none but
    called tools, ``""`` when it wrote nothing at all), ``refusal`` when there was one,
    ``tool_calls`` (``id``, ``type``, ``function.name``, ``function.arguments``, and each
    call's provider fields such as Gemini's ``extra_content``), the message's own provider
    fields, and the reasoning state as the ``reasoning`` policy says.

    Args:
        items: The done items of a response (``stream.output``), in order.
        reasoning: When to send the reasoning back: ``"with_tool_calls"`` (the default: only
            on a message that calls tools, which DeepSeek requires and every other server
            accepts or ignores), ``"always"``, or ``"never"``. OpenRouter's
            ``reasoning_details`` go back in place of the text when the response had them.
        reasoning_field: The field to put the reasoning text in, instead of the one it came
            in (``reasoning_content`` when the items do not say, as after a Responses stream).

    Returns:
        A plain ``dict``, ready to append to the ``messages`` of the next request.

    Raises:
        ValueError: ``reasoning`` is not one of the three policies.
    """
    if reasoning not in ("with_tool_calls", "always", "never"):
        raise ValueError(
            f"reasoning must be 'with_tool_calls', 'always' or 'never', not {reasoning!r}"
        )
    text: list[str] = []
    refusal: list[str] = []
    calls: list[FunctionCall] = []
    thoughts: list[Reasoning] = []
    fields: dict[str, JsonValue] = {}
    for item in items:
        if isinstance(item, Message):
            fields.update(item.provider_fields)
            for part in item.content:
                if isinstance(part, OutputText):
                    text.append(part.text)
                elif isinstance(part, Refusal):
                    refusal.append(part.refusal)
        elif isinstance(item, FunctionCall):
            calls.append(item)
        else:
            thoughts.append(item)
    message: dict[str, object] = {
        "role": "assistant",
        "content": "".join(text) if text or not calls else None,
    }
    if refusal:
        message["refusal"] = "".join(refusal)
    if calls:
        message["tool_calls"] = [_wire_call(call) for call in calls]
    message.update(fields)
    if reasoning == "always" or (reasoning == "with_tool_calls" and calls):
        state = _reasoning_fields(thoughts, reasoning_field)
        thinking = state.pop(THINKING_PARTS, None)
        if thinking is not None:
            # Mistral's form: the reasoning as a thinking part, then the text as a text part.
            parts: list[dict[str, object]] = [
                {"type": "thinking", "thinking": [{"type": "text", "text": thinking}]}
            ]
            if message["content"]:
                parts.append({"type": "text", "text": message["content"]})
            message["content"] = parts
        message.update(state)
    return message


def _wire_call(call: FunctionCall) -> dict[str, object]:
    wire: dict[str, object] = {
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }
    wire.update(call.provider_fields)
    return wire


def _reasoning_fields(thoughts: list[Reasoning], field: str | None) -> dict[str, object]:
    details = [detail.model_dump() for thought in thoughts for detail in thought.details]
    if details:
        return {"reasoning_details": details}
    text = "".join(part.text for thought in thoughts for part in thought.content)
    if not text:
        return {}
    if field is None:
        field = next((t.text_field for t in thoughts if t.text_field), "reasoning_content")
    return {field: text}


def messages_assistant_message(items: Iterable[Item]) -> MessageParam:
    """The Messages API assistant message of a response, to append to ``messages``.

    ``{"role": "assistant", "content": [...]}`` with one block per item, in order: ``thinking``
    blocks with their ``signature`` (unchanged: Anthropic answers 400 to a thinking block whose
    signature was lost or edited), ``redacted_thinking`` blocks with their ``data``, ``text``,
    and ``tool_use`` with ``input`` as an object. Then add your ``tool_result`` blocks in a
    ``user`` message (see the guide's Messages API loop).

    Args:
        items: The done items of a Messages API response (``stream.output``), in order.
    """
    blocks: list[dict[str, object]] = []
    for item in items:
        if isinstance(item, Reasoning):
            if item.encrypted_content is not None and item.signature is None:
                blocks.append({"type": "redacted_thinking", "data": item.encrypted_content})
            else:
                text = "".join(part.text for part in item.content)
                blocks.append({"type": "thinking", "thinking": text, "signature": item.signature})
        elif isinstance(item, Message):
            text = "".join(p.text for p in item.content if isinstance(p, OutputText))
            if text:
                blocks.append({"type": "text", "text": text})
        else:
            arguments = from_json(item.arguments or "{}")
            blocks.append(
                {
                    "type": "tool_use",
                    "id": item.call_id,
                    "name": item.name,
                    "input": arguments if isinstance(arguments, dict) else {},
                }
            )
    return {"role": "assistant", "content": blocks}


def ollama_assistant_message(items: Iterable[Item]) -> MessageParam:
    """The Ollama ``/api/chat`` assistant message of a response, to append to ``messages``:
    ``content``, ``thinking`` (when the model thought) and ``tool_calls`` with their
    ``arguments`` as objects (Ollama's form), then your ``role: tool`` messages with their
    ``tool_name``."""
    text: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, object]] = []
    for item in items:
        if isinstance(item, Message):
            text += [part.text for part in item.content if isinstance(part, OutputText)]
        elif isinstance(item, Reasoning):
            thinking += [part.text for part in item.content]
        else:
            try:
                arguments = json.loads(item.arguments or "{}")
            except ValueError:
                arguments = {}
            calls.append({"function": {"name": item.name, "arguments": arguments}})
    message: dict[str, object] = {"role": "assistant", "content": "".join(text)}
    if thinking:
        message["thinking"] = "".join(thinking)
    if calls:
        message["tool_calls"] = calls
    return message


def gemini_model_content(items: Iterable[Item]) -> MessageParam:
    """The Gemini ``model`` content of a response, to append to ``contents``: its parts in the
    order they came, each ``thoughtSignature`` on the part that carried it (Gemini answers 400
    to a function call whose signature was lost), then your ``functionResponse`` parts in a
    ``user`` content. Items of another API's stream are written as Gemini parts."""
    items = list(items)
    for item in items:
        kept = item.provider_fields.get("gemini_parts") if isinstance(item, Message) else None
        if isinstance(kept, list):  # the parts as the stream gave them, calls included
            return {"role": "model", "parts": list(kept)}
    parts: list[object] = []
    for item in items:
        if isinstance(item, Reasoning):
            if item.signature:  # thoughts go back only to carry their signature
                text = "".join(part.text for part in item.content)
                parts.append({"text": text, "thought": True, "thoughtSignature": item.signature})
        elif isinstance(item, Message):
            parts += [{"text": p.text} for p in item.content if isinstance(p, OutputText)]
        else:
            try:
                args = json.loads(item.arguments or "{}")
            except ValueError:
                args = {}
            call: dict[str, object] = {"name": item.name, "args": args}
            if not item.call_id.startswith("gemini_call_"):  # the server's id, not ours
                call["id"] = item.call_id
            signature = item.thought_signature
            signed = {"thoughtSignature": signature} if signature else {}
            parts.append({"functionCall": call, **signed})
    return {"role": "model", "parts": parts}


def input_items(items: Iterable[Item], *, store: bool = False) -> list[InputItemParam]:
    """The Responses API input items that carry a response's output into the next request.

    Append them to the ``input`` of the next :func:`~trio_chatsse.open_responses_stream`,
    then the ``function_call_output`` items of your tool results. This is the stateless way to
    continue a conversation (no ``previous_response_id``), as with ``store=False``:

    * a reasoning item goes back with its ``id`` and ``encrypted_content`` (ask for it with
      ``include=["reasoning.encrypted_content"]``), the pair OpenAI checks; one with neither
      encrypted nor raw content is left out, since a server that did not store it would
      answer "Item with id ... not found";
    * messages (with their ``phase``) and function calls go back without their item ids,
      which such a server would also look up and not find.

    Args:
        items: The done items of a response (``stream.output``), in order.
        store: The responses are stored on the server (``store=True``, OpenAI's default):
            every item keeps its ``id``, and a reasoning item without encrypted content goes
            back by its id.

    Returns:
        A list of plain ``dict`` items.
    """
    out: list[dict[str, object]] = []
    for item in items:
        if isinstance(item, Message):
            out.append(_input_message(item, store))
        elif isinstance(item, FunctionCall):
            call: dict[str, object] = {
                "type": "function_call",
                "call_id": item.call_id,
                "name": item.name,
                "arguments": item.arguments,
            }
            if store and item.id:
                call["id"] = item.id
            out.append(call)
        else:
            reasoning = _input_reasoning(item, store)
            if reasoning is not None:
                out.append(reasoning)
    return out


def _input_message(message: Message, store: bool) -> dict[str, object]:
    content: list[dict[str, object]] = []
    for part in message.content:
        if isinstance(part, OutputText):
            text: dict[str, object] = {"type": "output_text", "text": part.text}
            if part.annotations:
                text["annotations"] = part.annotations
            content.append(text)
        else:
            content.append({"type": "refusal", "refusal": part.refusal})
    entry: dict[str, object] = {"type": "message", "role": "assistant", "content": content}
    if message.phase is not None:
        entry["phase"] = message.phase
    if store and message.id:
        entry["id"] = message.id
    return entry


def _input_reasoning(reasoning: Reasoning, store: bool) -> dict[str, object] | None:
    entry: dict[str, object] = {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": part.text} for part in reasoning.summary],
    }
    if reasoning.encrypted_content is not None and reasoning.id:
        entry["id"] = reasoning.id
        entry["encrypted_content"] = reasoning.encrypted_content
    elif store and reasoning.id:
        entry["id"] = reasoning.id
    elif reasoning.content:
        # Raw reasoning (gpt-oss servers, LM Studio, or a Chat Completions stream): those
        # servers read it back as content; it has no id a server could fail to find.
        entry["content"] = [{"type": "reasoning_text", "text": p.text} for p in reasoning.content]
    else:
        return None
    return entry


def parse_partial_json(text: str) -> JsonValue:
    """Parse the start of a JSON document, for showing tool-call arguments as they stream.

    Complete values are kept, an unfinished string is kept as far as it goes, and an
    unfinished key or scalar is left out, so the result grows as more text arrives
    (``'{"path": "a.txt", "content": "Hel'`` gives ``{"path": "a.txt", "content": "Hel"}``).
    It uses pydantic-core's partial parser, already installed with pydantic.

    Args:
        text: The argument text so far (the :class:`~trio_chatsse.FunctionCallArgumentsDelta`
            deltas of one ``output_index``, joined).

    Returns:
        The value parsed so far, or ``None`` when ``text`` holds no value yet or is not
        the start of a JSON document.
    """
    try:
        value: JsonValue = from_json(text, allow_partial="trailing-strings")
    except ValueError:
        return None
    return value
