"""The caller's arguments, checked and put in each wire API's shape before any request.

A wrong argument is a :class:`TypeError` that says what to pass, never a silently wrong body:
``messages="hi"`` would otherwise go out as ``["h", "i"]``. Tool definitions and
``tool_choice`` are accepted in any API's shape and sent in the shape of the API spoken:

- Chat Completions nests a function: ``{"type": "function", "function": {"name",
  "description", "parameters"}}``; ``tool_choice`` ``{"type": "function", "function":
  {"name"}}``;
- the Responses API flattens it: ``{"type": "function", "name", "description",
  "parameters"}``; ``tool_choice`` ``{"type": "function", "name"}``;
- the Messages API names the schema ``input_schema``: ``{"name", "description",
  "input_schema"}``; ``tool_choice`` ``{"type": "auto" | "any" | "none"}`` or ``{"type":
  "tool", "name"}``.

A tool of another kind (a server tool such as ``{"type": "web_search"}``) goes as it is. Pure
functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "CHAT_TOOLS",
    "GEMINI_TOOLS",
    "MESSAGES_TOOLS",
    "RESPONSES_TOOLS",
    "ToolShape",
    "message_list",
    "split_system",
    "tool_choice_for",
    "tools_for",
]

_EMPTY_SCHEMA = {"type": "object", "properties": {}}
#: Keys of a function definition besides its name, description and schema, kept as they are.
_FUNCTION_KEYS = frozenset({"name", "description", "parameters", "input_schema", "type"})


@dataclass(frozen=True)
class ToolShape:
    """How one wire API writes a function tool and a ``tool_choice``: the registry holds one
    per API, and :func:`tools_for` / :func:`tool_choice_for` write any API's input in it."""

    #: The API whose shape it is.
    name: str
    #: A function tool from its name, its description (``{}`` or ``{"description": ...}``),
    #: its JSON schema (``None`` when it has none) and its other keys.
    function: Callable[[str, dict[str, object], object, dict[str, object]], dict[str, object]]
    #: A ``tool_choice`` from its mode (``auto``, ``none``, ``required``) and a tool's name.
    choice: Callable[[str, str | None], str | dict[str, object]]
    #: The request field the choice goes in.
    choice_field: str = "tool_choice"
    #: The tools, each shaped, as the request lists them (Gemini groups its functions).
    group: Callable[[list[dict[str, object]]], list[dict[str, object]]] = list


def _chat_function(
    name: str, described: dict[str, object], schema: object, extra: dict[str, object]
) -> dict[str, object]:
    parameters = {} if schema is None else {"parameters": schema}
    return {"type": "function", "function": {"name": name, **described, **parameters, **extra}}


def _chat_choice(mode: str, name: str | None) -> str | dict[str, object]:
    return mode if name is None else {"type": "function", "function": {"name": name}}


def _responses_function(
    name: str, described: dict[str, object], schema: object, extra: dict[str, object]
) -> dict[str, object]:
    parameters = {} if schema is None else {"parameters": schema}
    return {"type": "function", "name": name, **described, **parameters, **extra}


def _responses_choice(mode: str, name: str | None) -> str | dict[str, object]:
    return mode if name is None else {"type": "function", "name": name}


def _messages_function(
    name: str, described: dict[str, object], schema: object, extra: dict[str, object]
) -> dict[str, object]:
    return {"name": name, **described, "input_schema": schema or _EMPTY_SCHEMA, **extra}


def _messages_choice(mode: str, name: str | None) -> str | dict[str, object]:
    if name is not None:
        return {"type": "tool", "name": name}
    return {"type": "any" if mode == "required" else mode}


def _gemini_function(
    name: str, described: dict[str, object], schema: object, extra: dict[str, object]
) -> dict[str, object]:
    parameters = {} if schema is None else {"parameters": schema}
    return {"functionDeclarations": [{"name": name, **described, **parameters, **extra}]}


def _gemini_group(tools: list[dict[str, object]]) -> list[dict[str, object]]:
    """Every function declaration in one tool, the others (``googleSearch``...) as they are."""
    declarations: list[object] = []
    others = []
    for tool in tools:
        functions = tool.get("functionDeclarations")
        if isinstance(functions, list) and len(tool) == 1:
            declarations += functions
        else:
            others.append(tool)
    grouped: list[dict[str, object]] = [{"functionDeclarations": declarations}]
    return (grouped if declarations else []) + others


def _gemini_choice(mode: str, name: str | None) -> str | dict[str, object]:
    config: dict[str, object] = {"mode": {"auto": "AUTO", "none": "NONE"}.get(mode, "ANY")}
    if name is not None:
        config["allowedFunctionNames"] = [name]
    return {"functionCallingConfig": config}


CHAT_TOOLS = ToolShape("chat", _chat_function, _chat_choice)
GEMINI_TOOLS = ToolShape(
    "gemini", _gemini_function, _gemini_choice, choice_field="toolConfig", group=_gemini_group
)
RESPONSES_TOOLS = ToolShape("responses", _responses_function, _responses_choice)
MESSAGES_TOOLS = ToolShape("messages", _messages_function, _messages_choice)


def message_list(messages: object, name: str = "messages") -> list[object]:
    """``messages`` as a list of message objects, or a :class:`TypeError` that says what to
    pass."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise TypeError(
            f"{name} must be a list of message objects such as "
            f'[{{"role": "user", "content": "Hello"}}], not {type(messages).__name__}'
        )
    for message in messages:
        if not isinstance(message, Mapping):
            raise TypeError(
                f"each of {name} must be a message object (a dict with a role and a content), "
                f"not {type(message).__name__}: {message!r:.80}"
            )
    return list(messages)


def split_system(
    messages: list[object], system: str | Sequence[Mapping[str, object]] | None
) -> tuple[list[object], str | Sequence[Mapping[str, object]] | None]:
    """The Messages API's ``(messages, system)`` from a conversation that may hold ``system``
    messages: they go to ``system`` (the API answers 400 to a ``system`` role).

    Raises:
        TypeError: ``system=`` is given too, or a system message's content is neither text
            nor a list of text blocks.
    """
    prompts = [m for m in messages if isinstance(m, Mapping) and m.get("role") == "system"]
    if not prompts:
        return messages, system
    if system is not None:
        raise TypeError(
            "the Messages API takes the system prompt once: pass system= or a system "
            "message, not both"
        )
    blocks: list[Mapping[str, object]] = []
    for prompt in prompts:
        content = prompt.get("content")
        if isinstance(content, str):
            blocks.append({"type": "text", "text": content})
        elif isinstance(content, list) and all(isinstance(b, Mapping) for b in content):
            blocks.extend(content)
        else:
            raise TypeError(f"a system message's content must be text, not {content!r:.60}")
    rest = [m for m in messages if not (isinstance(m, Mapping) and m.get("role") == "system")]
    texts = [b.get("text") for b in blocks]
    plain = all(set(b) == {"type", "text"} for b in blocks)
    return rest, "\n\n".join(str(text) for text in texts) if plain else blocks


def tools_for(api: ToolShape, tools: object) -> list[dict[str, object]]:
    """Tool definitions in ``api``'s shape.

    Raises:
        TypeError: ``tools`` is not a list of tool objects, or a function tool has no name.
    """
    if isinstance(tools, str | bytes | Mapping) or not isinstance(tools, Sequence):
        raise TypeError(
            f"tools must be a list of tool objects, not {type(tools).__name__} "
            '(wrap a single tool in a list: tools=[{"type": "function", ...}])'
        )
    return api.group([_tool_for(api, tool) for tool in tools])


def _tool_for(api: ToolShape, tool: object) -> dict[str, object]:
    if not isinstance(tool, Mapping):
        raise TypeError(f"each tool must be a tool object (a dict), not {type(tool).__name__}")
    function = tool.get("function")
    shape: str
    source: Mapping[str, object]
    if isinstance(function, Mapping):
        shape, source, schema = "chat", function, function.get("parameters")
    elif tool.get("type") == "function":
        shape, source, schema = "responses", tool, tool.get("parameters")
    elif "input_schema" in tool and "type" not in tool:
        shape, source, schema = "messages", tool, tool.get("input_schema")
    else:
        return dict(tool)  # a server tool ({"type": "web_search"...}) goes as it is
    name = source.get("name")
    if not isinstance(name, str) or not name:
        raise TypeError(f"a function tool needs a name: {dict(tool)!r:.120}")
    if shape == api.name:
        return dict(tool)  # already this API's: sent exactly as given
    extra = {k: v for k, v in source.items() if k not in _FUNCTION_KEYS}
    description = source.get("description")
    described = {} if description is None else {"description": description}
    return api.function(name, described, schema, extra)


def tool_choice_for(api: ToolShape, choice: str | Mapping[str, object]) -> str | dict[str, object]:
    """A ``tool_choice`` in ``api``'s shape, from a word (``"auto"``, ``"none"``,
    ``"required"``, or the Messages API's ``"any"``), a tool's name, or any API's object."""
    mode, name = _choice(choice)
    if mode is None:
        return dict(choice) if isinstance(choice, Mapping) else choice
    return api.choice(mode, name)


def _choice(choice: str | Mapping[str, object]) -> tuple[str | None, str | None]:
    """(mode, tool name) of any API's ``tool_choice``; ``(None, None)`` for one not known."""
    if isinstance(choice, str):
        if choice in ("auto", "none", "required", "any"):
            return ("required" if choice == "any" else choice), None
        return "required", choice
    kind = choice.get("type")
    function = choice.get("function")
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return "required", str(function["name"])
    if kind in ("function", "tool") and isinstance(choice.get("name"), str):
        return "required", str(choice["name"])
    if kind in ("auto", "none", "any"):
        return ("required" if kind == "any" else str(kind)), None
    return None, None
