"""Tools for the tool loop: a plain function, its JSON schema, and one call of it as a result.

:func:`tool` reads a function's signature with pydantic: the name is the function's, the
description its docstring, the parameters' JSON schema comes from their annotations (a
``Field`` in an ``Annotated`` gives a parameter its description). :meth:`Tool.run` validates
the model's arguments against the signature, calls the function (a sync one in a worker thread,
abandoned if the loop is cancelled) under the tool's timeout, and turns whatever happened into
the text sent back: the return value (a string as it is, anything else as JSON), or a short
error the model can act on. Only a cancellation comes out of it.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

import pydantic
import pydantic_core
import trio
from pydantic import BaseModel, ConfigDict

from ._timeouts import format_seconds

__all__ = ["Tool", "ToolOutcome", "tool", "tools_by_name"]

#: The longest error text sent back to the model.
_MAX_ERROR = 500


@dataclass(frozen=True)
class ToolOutcome:
    """What one call gave: the text sent back, and what went wrong (``None`` when nothing)."""

    output: str
    error: str | None = None


@dataclass(frozen=True, eq=False)
class Tool:
    """A function the model may call, as :func:`tool` made it."""

    #: The function, sync or async.
    function: Callable[..., Any] = field(repr=False)
    #: The name the model calls it by.
    name: str
    #: What it does, for the model.
    description: str
    #: The JSON schema of its arguments.
    parameters: dict[str, object] = field(repr=False)
    #: Seconds a call may run before it is answered with a timeout error (``None``: no limit).
    timeout: float | None = None
    #: Whether a call waits for :meth:`~trio_chatsse.ToolLoop.approve` before it runs.
    needs_approval: bool = False
    _arguments: type[BaseModel] = field(repr=False, default=BaseModel)

    def definition(self) -> dict[str, object]:
        """The tool as a Chat Completions ``tools`` entry (each opener converts it)."""
        function = {"name": self.name, "description": self.description}
        return {"type": "function", "function": {**function, "parameters": self.parameters}}

    async def run(self, arguments: str) -> ToolOutcome:
        """Call the function with the model's ``arguments`` (JSON text); never raises but
        ``trio.Cancelled``."""
        try:
            raw = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            return _error(f"invalid arguments for {self.name}: not JSON ({exc})")
        if not isinstance(raw, dict):
            return _error(f"invalid arguments for {self.name}: not a JSON object")
        try:
            validated = self._arguments.model_validate(raw)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            return _error(f"invalid arguments for {self.name}: {problems}")
        kwargs = {name: getattr(validated, name) for name in type(validated).model_fields}
        try:
            with trio.fail_after(self.timeout if self.timeout is not None else float("inf")):
                value = await self._call(kwargs)
        except trio.TooSlowError:
            limit = format_seconds(self.timeout or 0)
            return _error(f"{self.name} timed out after {limit}")
        except Exception as exc:  # the model's information, not the loop's end
            return _error(f"{self.name} failed: {type(exc).__name__}: {exc}")
        return ToolOutcome(_as_text(value))

    async def _call(self, kwargs: dict[str, Any]) -> Any:
        if inspect.iscoroutinefunction(self.function):
            return await self.function(**kwargs)
        call = functools.partial(self.function, **kwargs)
        # A cancelled loop goes on without waiting for the thread: its result is dropped.
        value = await trio.to_thread.run_sync(call, abandon_on_cancel=True)
        if inspect.isawaitable(value):  # a sync function that returned an awaitable
            value = await value
        return value


def _error(text: str) -> ToolOutcome:
    text = text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"
    return ToolOutcome(f"Error: {text}", text)


def _as_text(value: object) -> str:
    """A tool's return value as the text sent back: a string as it is, anything else as
    JSON (pydantic models, dataclasses and the like included)."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return pydantic_core.to_json(value, fallback=str).decode()


@overload
def tool(
    function: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    needs_approval: bool = False,
) -> Tool: ...
@overload
def tool(
    function: None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    needs_approval: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    function: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    needs_approval: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a function a tool of :func:`~trio_chatsse.open_tool_loop`, with options.

    Plain functions passed to ``tools=`` are made tools with the defaults; use this (also as a
    decorator, ``@tool`` or ``@tool(timeout=10)``) to set a name, a description, a timeout or
    approval. The parameters must be annotated; their JSON schema is pydantic's, and the
    model's arguments are validated against it before the call.

    Args:
        function: The function, sync (run in a worker thread) or async.
        name: The name the model calls it by (the function's by default).
        description: What it does, for the model (the docstring by default).
        timeout: Seconds a call may run before it is answered with a timeout error.
        needs_approval: A call waits for :meth:`~trio_chatsse.ToolLoop.approve` (the loop
            yields a :class:`~trio_chatsse.ToolApprovalRequest`) instead of running at once.

    Raises:
        TypeError: ``function`` is not callable, or a parameter has no annotation or is
            positional-only or variadic.
        ValueError: ``timeout`` is not positive.
    """

    def make(function: Callable[..., Any]) -> Tool:
        return _make_tool(function, name, description, timeout, needs_approval)

    return make if function is None else make(function)


def _make_tool(
    function: Callable[..., Any],
    name: str | None,
    description: str | None,
    timeout: float | None,
    needs_approval: bool,
) -> Tool:
    if isinstance(function, Tool):
        return function
    if not callable(function):
        raise TypeError(f"a tool must be a function, not {type(function).__name__}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be positive seconds, not {timeout!r}")
    tool_name = name or getattr(function, "__name__", "")
    if not tool_name or tool_name == "<lambda>":
        raise TypeError("a tool needs a name: pass name= for a lambda or a callable object")
    fields: dict[str, Any] = {}
    hints = _type_hints(function)
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"tool {tool_name}: *{parameter.name} cannot come from the model")
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise TypeError(f"tool {tool_name}: {parameter.name} is positional-only")
        if parameter.name not in hints:
            raise TypeError(
                f"tool {tool_name}: parameter {parameter.name!r} needs a type annotation "
                "(its JSON schema comes from it)"
            )
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (hints[parameter.name], default)
    arguments = pydantic.create_model(
        f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
    )
    schema = arguments.model_json_schema()
    schema.pop("title", None)
    for spec in schema.get("properties", {}).values():
        if isinstance(spec, dict):
            spec.pop("title", None)
    return Tool(
        function=function,
        name=tool_name,
        description=description or inspect.getdoc(function) or "",
        parameters=schema,
        timeout=timeout,
        needs_approval=needs_approval,
        _arguments=arguments,
    )


def _type_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """The parameters' annotations, resolved (``from __future__ import annotations`` too)."""
    import typing

    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception:  # an annotation that does not resolve: fall back to the raw ones
        return dict(getattr(function, "__annotations__", {}))


def tools_by_name(
    tools: object,
) -> Mapping[str, Tool]:
    """``tools=`` of the loop, each made a :class:`Tool`, by name.

    Raises:
        TypeError: ``tools`` is not a list of functions or tools, or two share a name.
    """
    if isinstance(tools, str | bytes | Mapping) or not hasattr(tools, "__iter__"):
        raise TypeError(f"tools must be a list of functions, not {type(tools).__name__}")
    by_name: dict[str, Tool] = {}
    for entry in tools:
        made = entry if isinstance(entry, Tool) else tool(entry)
        if made.name in by_name:
            raise TypeError(f"two tools are named {made.name!r}: pass name= to tell them apart")
        by_name[made.name] = made
    return by_name


ToolFunction = Callable[..., Any] | Callable[..., Awaitable[Any]]
