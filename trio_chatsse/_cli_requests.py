"""``chat``'s request: the prompt and the tools file checked (a mistake is a usage error, exit
code 2), and the body in the shape of each wire API."""

from __future__ import annotations

import argparse
import importlib
import json
from typing import TYPE_CHECKING, TextIO

from ._structured import output_spec
from .testing import Reply, ScriptedToolCall

if TYPE_CHECKING:
    from pydantic import BaseModel


__all__ = [
    "UsageError",
    "chat_request",
    "load_output_type",
    "load_replies",
    "load_tools",
]


class UsageError(Exception):
    """A mistake in the command line; exit code 2."""


def _import_named(spec: str, option: str, form: str) -> object:
    """What ``MODULE:NAME`` names (importable from the current directory), or ``None`` when
    the module has no such name.

    Raises:
        UsageError: The form is wrong, or the module does not import.
    """
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise UsageError(f"{option} takes {form}, not {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{option}: cannot import {module_name!r}: {exc}") from None
    return getattr(module, name, None)


def load_output_type(spec: str) -> type[BaseModel]:
    """The class ``--output-type MODULE:CLASS`` names.

    Raises:
        UsageError: The form is wrong, the module does not import, or it has no such class.
    """
    found = _import_named(spec, "--output-type", "MODULE:CLASS (as in myapp.models:Recipe)")
    try:
        output_spec(found, strict=True)  # type: ignore[arg-type]  # checked here
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--output-type {spec}: {exc}") from None
    return found  # type: ignore[return-value]  # a model class, checked above


def load_tools_functions(specs: list[str]) -> list[object]:
    """The functions ``--tool MODULE:FUNCTION`` names.

    Raises:
        UsageError: The form is wrong, the module does not import, or it has no such function.
    """
    found: list[object] = []
    for spec in specs:
        function = _import_named(spec, "--tool", "MODULE:FUNCTION (as in myapp.tools:search)")
        if not callable(function):
            module_name, _, name = spec.partition(":")
            raise UsageError(f"--tool {spec}: {module_name} has no function {name!r}")
        found.append(function)
    return found


def chat_request(
    args: argparse.Namespace, stdin: TextIO
) -> tuple[list[dict[str, object]], dict[str, object]]:
    """The messages and the other request fields (``extra_body``) of ``chat``.

    ``max_tokens`` reaches :func:`open_chat_stream` through ``extra_body``, which it also
    reads for a token limit (so ``finish_reason: "length"`` is a normal end).

    Raises:
        UsageError: No base URL, or no prompt.
    """
    if not args.base_url:
        raise UsageError(
            "no base URL: pass --base-url or set OPENAI_BASE_URL "
            "(or try `trio-chatsse demo`, which needs neither)"
        )
    if not args.base_url.startswith(("http://", "https://")):
        raise UsageError(
            f"the base URL needs a scheme: http:// or https://, as in "
            f"http://{args.base_url.split('://')[-1]} (got {args.base_url!r})"
        )
    if args.tool and args.tools is not None:
        raise UsageError("--tool runs the tool loop with your functions; drop --tools with it")
    if args.tool and (args.background or args.output_type):
        raise UsageError("--tool runs the tool loop: no --background or --output-type with it")
    if args.background and args.api != "responses":
        raise UsageError("--background needs --api responses (background mode is theirs)")
    prompt = args.prompt
    if prompt is None:
        if stdin.isatty():
            raise UsageError("no prompt: give one as an argument or on standard input")
        prompt = stdin.read()
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    messages: list[dict[str, object]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    extra: dict[str, object] = {}
    if args.tools is not None:
        extra["tools"] = load_tools(args.tools)
    if args.max_tokens is not None:
        extra["max_tokens"] = args.max_tokens
    if args.logprobs is not None:
        if args.api == "messages":
            raise UsageError("--logprobs: the Messages API has no logprobs")
        extra["logprobs"] = True
        extra["top_logprobs"] = args.logprobs
    return messages, extra


def load_tools(file: TextIO) -> list[object]:
    """Tools from a JSON file: a list of ``tools`` entries, or of bare function definitions."""
    tools = _json_file(file, "--tools")
    if isinstance(tools, dict):
        tools = [tools]
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise UsageError(f"--tools: {file.name} must hold a list of tool objects")
    wrapped = [t if "function" in t else {"type": "function", "function": t} for t in tools]
    for tool in wrapped:
        function = tool["function"]
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise UsageError(
                f"--tools: {file.name}: each tool needs a function name, as in "
                f'[{{"name": "get_weather", "parameters": {{"type": "object"}}}}]; '
                f"got {json.dumps(tool)[:120]}"
            )
    return wrapped


def load_replies(file: TextIO) -> list[Reply]:
    """``serve``'s scripted replies: a JSON list of objects with the fields of
    :class:`~trio_chatsse.testing.Reply` (``tool_calls`` as objects with those of
    :class:`~trio_chatsse.testing.ScriptedToolCall`)."""
    entries = _json_file(file, "--replies")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"--replies: {file.name} must hold a list of reply objects")
    replies = []
    for number, entry in enumerate(entries, 1):
        try:
            calls = [ScriptedToolCall(**call) for call in entry.pop("tool_calls", [])]
            replies.append(Reply(**entry, tool_calls=calls))
        except TypeError as exc:
            raise UsageError(f"--replies: reply {number}: {exc}") from exc
    return replies


def _json_file(file: TextIO, option: str) -> object:
    """The JSON of an option's file, closed after; a usage error when it is not JSON."""
    try:
        return json.load(file)
    except ValueError as exc:
        raise UsageError(f"{option}: {file.name} is not JSON: {exc}") from exc
    finally:
        file.close()
