"""A Chat Completions request in each wire API's own form, and a request body's checks.

The CLI builds one request in Chat Completions' words (``messages`` with a ``system`` message,
``max_tokens``, ``logprobs``, tools); the registry names, per API, the function that writes it in
that API's words, and the checks a body given as it is (a batch line) must pass before it is
sent. Pure: no trio, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._arguments import GEMINI_TOOLS, MESSAGES_TOOLS, RESPONSES_TOOLS, message_list, tools_for

__all__ = [
    "chat_request",
    "gemini_request",
    "check_chat_body",
    "check_gemini_body",
    "check_ollama_body",
    "check_messages_body",
    "check_responses_body",
    "messages_request",
    "ollama_request",
    "responses_request",
]

#: ``max_tokens`` for a Messages API request converted from a chat request that set none (the
#: API requires one).
DEFAULT_MESSAGES_MAX_TOKENS = 4096


def chat_request(
    model: str, messages: list[dict[str, object]], extra: Mapping[str, object]
) -> dict[str, object]:
    """A Chat Completions body: the request as it is."""
    return {"model": model, "messages": messages, **extra}


def responses_request(
    model: str, messages: list[dict[str, object]], extra: Mapping[str, object]
) -> dict[str, object]:
    """The request in the Responses API's names: ``input`` for ``messages``, tools without
    their ``function`` wrapper, ``max_output_tokens`` for ``max_tokens``, logprobs asked for
    through ``include``."""
    body: dict[str, object] = {"model": model, "input": messages, **extra}
    if "max_tokens" in body:
        body["max_output_tokens"] = body.pop("max_tokens")
    if body.pop("logprobs", None):
        body["include"] = ["message.output_text.logprobs"]
    if "tools" in body:
        body["tools"] = tools_for(RESPONSES_TOOLS, body["tools"])
    return body


def messages_request(
    model: str, messages: list[dict[str, object]], extra: Mapping[str, object]
) -> dict[str, object]:
    """The request in the Messages API's words: the system message as ``system``,
    ``max_tokens`` (required: :data:`DEFAULT_MESSAGES_MAX_TOKENS` unless given), tools with
    an ``input_schema``."""
    system = [m["content"] for m in messages if m.get("role") == "system"]
    body: dict[str, object] = {
        "model": model,
        "messages": [m for m in messages if m.get("role") != "system"],
        "max_tokens": DEFAULT_MESSAGES_MAX_TOKENS,
        **extra,
    }
    if system:
        body["system"] = "\n\n".join(str(text) for text in system)
    if "tools" in body:
        body["tools"] = tools_for(MESSAGES_TOOLS, body["tools"])
    return body


def check_chat_body(body: Mapping[str, object]) -> None:
    """A Chat Completions body given as it is: ``messages``, when there, a list of messages."""
    if "messages" in body:
        message_list(body["messages"])


def check_responses_body(body: Mapping[str, object]) -> None:
    """A Responses API body given as it is: ``input`` a string or a list of items."""
    value = body.get("input")
    if value is not None and not isinstance(value, str):
        message_list(value, "input")


def check_messages_body(body: Mapping[str, object]) -> None:
    """A Messages API body given as it is: ``max_tokens`` (required) and a list of messages."""
    if type(body.get("max_tokens")) is not int:
        raise ValueError("a Messages API body needs max_tokens")
    message_list(body.get("messages", []))


def ollama_request(
    model: str, messages: list[dict[str, object]], extra: Mapping[str, object]
) -> dict[str, object]:
    """The request in Ollama's words: ``max_tokens`` as ``options.num_predict``, logprobs left
    out (the native chat API has none), tools in the Chat Completions shape it shares."""
    body: dict[str, object] = {"model": model, "messages": messages, **extra}
    body.pop("logprobs", None)
    body.pop("top_logprobs", None)
    limit = body.pop("max_tokens", None)
    if limit is not None:
        options = body.get("options")
        body["options"] = {
            **(options if isinstance(options, Mapping) else {}),
            "num_predict": limit,
        }
    return body


def check_ollama_body(body: Mapping[str, object]) -> None:
    """An Ollama body given as it is: ``messages``, when there, a list of messages."""
    if "messages" in body:
        message_list(body["messages"])


def gemini_request(
    model: str, messages: list[dict[str, object]], extra: Mapping[str, object]
) -> dict[str, object]:
    """The request in Gemini's words: ``contents`` of ``user`` / ``model`` parts, the system
    message as ``systemInstruction``, ``max_tokens`` as ``generationConfig.maxOutputTokens``,
    tools as ``functionDeclarations``."""
    system = [str(m.get("content")) for m in messages if m.get("role") == "system"]
    contents = [
        {
            "role": "model" if m.get("role") == "assistant" else "user",
            "parts": [{"text": str(m.get("content"))}],
        }
        for m in messages
        if m.get("role") != "system"
    ]
    body: dict[str, object] = {"model": model, "contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config: dict[str, object] = {}
    for key, value in extra.items():
        if key == "max_tokens":
            config["maxOutputTokens"] = value
        elif key == "tools":
            body["tools"] = tools_for(GEMINI_TOOLS, value)
        elif key == "logprobs":
            config["responseLogprobs"] = bool(value)
        elif key == "top_logprobs":
            config["logprobs"] = value
        else:
            body[key] = value
    if config:
        body["generationConfig"] = config
    return body


def check_gemini_body(body: Mapping[str, object]) -> None:
    """A Gemini body given as it is: a ``model`` (it goes in the path) and ``contents``."""
    if not isinstance(body.get("model"), str):
        raise ValueError("a Gemini body needs a model (it goes in the request's path)")
    if "contents" in body:
        message_list(body["contents"], "contents")
