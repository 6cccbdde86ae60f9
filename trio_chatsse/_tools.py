"""Tool definitions and ``tool_choice`` in each wire API's own shape.

Chat Completions nests a function (``{"type": "function", "function": {"name", "description",
"parameters"}}``), the Responses API flattens it (``{"type": "function", "name", ...}``) and
the Messages API names the schema ``input_schema`` (``{"name", "description",
"input_schema"}``). A definition in any of the three shapes is accepted where the Messages API
is spoken and sent in its shape. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["messages_tool", "messages_tool_choice"]

_EMPTY_SCHEMA = {"type": "object", "properties": {}}


def messages_tool(tool: Mapping[str, object]) -> dict[str, object]:
    """A tool definition in the Messages API's shape.

    Raises:
        TypeError: ``tool`` is not a mapping, or a function tool without a name.
    """
    if not isinstance(tool, Mapping):
        raise TypeError(f"each tool must be a tool object (a dict), not {type(tool).__name__}")
    function = tool.get("function")
    if isinstance(function, Mapping):  # Chat Completions
        source: Mapping[str, object] = function
    elif tool.get("type") == "function":  # Responses API
        source = tool
    else:
        return dict(
            tool
        )  # already the Messages shape, or a server tool ({"type": "web_search..."})
    name = source.get("name")
    if not isinstance(name, str) or not name:
        raise TypeError(f"a function tool needs a name: {dict(tool)!r:.120}")
    converted: dict[str, object] = {"name": name}
    if source.get("description") is not None:
        converted["description"] = source["description"]
    converted["input_schema"] = source.get("parameters") or _EMPTY_SCHEMA
    return converted


def messages_tool_choice(choice: str | Mapping[str, object]) -> dict[str, object]:
    """A ``tool_choice`` in the Messages API's shape: ``{"type": "auto" | "any" | "none"}`` or
    ``{"type": "tool", "name": ...}``, from a word, a tool name or any API's object."""
    if isinstance(choice, str):
        word = {"required": "any"}.get(choice, choice)
        if word in ("auto", "any", "none"):
            return {"type": word}
        return {"type": "tool", "name": choice}
    function = choice.get("function")
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return {"type": "tool", "name": function["name"]}
    if choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"type": "tool", "name": choice["name"]}
    return dict(choice)
