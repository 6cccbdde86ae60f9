"""The ``trio-chatsse`` command: arguments, environment, logging and exit codes (its output
is ``_cli_output.py``'s, its requests ``_cli_requests.py``'s).

Nothing outside these three modules reads the environment, prints, or configures logging.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from . import __version__
from ._apis import WIRE_APIS, wire_api
from ._cli_batch import add_batch_command, check_batch_args, run_batch_command
from ._cli_demo import run_demo
from ._cli_output import Printer
from ._cli_requests import (
    UsageError,
    chat_request,
    load_output_type,
    load_replies,
    load_tools_functions,
)
from ._errors import ChatSSEError
from ._open import open_body_stream
from ._openers import OPENERS
from ._request import Background
from ._tool_loop import ToolApprovalRequest, open_tool_loop
from .testing import Reply, open_cassette_server, open_chat_server

if TYPE_CHECKING:
    from ._chat_stream import ChatStream
    from ._clients import HTTPClient

__all__ = ["main"]

#: The HTTP libraries the command can use, in order of preference.
HTTP_LIBRARIES = ("httpx2", "httpx")

EXIT_OK = 0
EXIT_STREAM_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a -v given before the command must survive the subparser's own default.
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log to stderr"
    )
    common.add_argument(
        "--http-client",
        choices=HTTP_LIBRARIES,
        default=argparse.SUPPRESS,
        help="the HTTP library to use (default: httpx2 when installed, else httpx)",
    )
    parser = argparse.ArgumentParser(
        prog="trio-chatsse",
        description=(
            "Stream OpenAI-compatible Chat Completions, Responses API and Anthropic Messages "
            "API answers as typed events. Exit codes: 0 ok, 1 stream or provider error (or a "
            "failed batch line), 2 usage error, 130 interrupted."
        ),
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="stream from the embedded test server (no network, no API key)",
        description=(
            "Start the embedded OpenAI-compatible server and stream scripted answers through "
            "the library: reasoning, text, a tool call whose arguments stream, the tool result "
            "sent back, a Responses API answer, a Messages API answer, then a stalled server "
            "and a provider error, both caught. No network, no API key."
        ),
    )
    demo.add_argument("--jsonl", action="store_true", help="print one JSON event per line")
    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="run the embedded test server on a port, for `chat` or apps in any language",
        description=(
            "Run the embedded test server until Ctrl-C: POST /v1/chat/completions, "
            "/v1/responses and /v1/messages (streamed and not), GET /v1/models. It answers "
            "with the scripted replies of --replies in order, then echoes the last message."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=_count(0), default=8000, help="the port (default 8000; 0: any free one)"
    )
    serve.add_argument(
        "--cassette",
        type=Path,
        help="serve a recording (trio_chatsse.testing.record's file) instead of scripted "
        "replies, at its recorded pace, so a front end can run against a real stream",
    )
    serve.add_argument(
        "--replies",
        type=argparse.FileType("r", encoding="utf-8"),
        help=(
            'a JSON list of replies, each the fields of trio_chatsse.testing.Reply: {"text": '
            '"Hi", "reasoning": "...", "tool_calls": [{"name": "f", "arguments": "{}"}], '
            '"stall": 5, "stall_after": 3, ...}'
        ),
    )
    endpoint = argparse.ArgumentParser(add_help=False)
    endpoint.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL"),
        help="e.g. http://127.0.0.1:8080/v1 (default: $OPENAI_BASE_URL)",
    )
    endpoint.add_argument(
        "--api-key",
        default=os.environ.get("OPENAI_API_KEY"),
        help="default: $OPENAI_API_KEY (never printed)",
    )
    chat = commands.add_parser(
        "chat",
        parents=[common, endpoint],
        help="stream from any OpenAI-compatible or Anthropic endpoint",
        description=(
            "Send one prompt to a Chat Completions, Responses API or Messages API server and "
            "stream the answer: text to standard output as it arrives, reasoning and usage to "
            "standard error. With --tool, run the tool loop with your functions."
        ),
    )
    chat.add_argument("prompt", nargs="?", help="the prompt (default: read stdin)")
    chat.add_argument(
        "--model",
        default=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        help="default: $OPENAI_MODEL or gpt-4o-mini",
    )
    chat.add_argument("--system", help="a system message")
    chat.add_argument(
        "--tools", type=argparse.FileType("r"), help="a JSON file of tool definitions"
    )
    chat.add_argument(
        "--max-tokens", type=_count(1), help="the request's max_tokens (max_output_tokens)"
    )
    chat.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=300.0,
        help="seconds without data before giving up (default 300)",
    )
    chat.add_argument(
        "--first-byte-timeout",
        type=_seconds,
        help="seconds the server may take before its first byte (default: --idle-timeout)",
    )
    chat.add_argument(
        "--max-retries",
        type=_count(0),
        default=2,
        help="retries before the first content (default 2)",
    )
    chat.add_argument(
        "--reasoning",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show reasoning on stderr (default: on)",
    )
    chat.add_argument("--jsonl", action="store_true", help="print one JSON event per line")
    chat.add_argument(
        "--api",
        choices=tuple(WIRE_APIS),
        default="chat",
        help="the wire API: chat/completions (default), responses, or messages (Anthropic's)",
    )
    chat.add_argument(
        "--background",
        action="store_true",
        help="with --api responses: background mode, resumed across a cut connection",
    )
    chat.add_argument(
        "--logprobs",
        metavar="N",
        type=_count(0),
        help="ask for each token's logprob and N alternatives (with --jsonl: on the deltas)",
    )
    chat.add_argument(
        "--output-type",
        metavar="MODULE:CLASS",
        help="a pydantic model the answer must be JSON of (with --jsonl: a last output line)",
    )
    chat.add_argument(
        "--tool",
        metavar="MODULE:FUNCTION",
        action="append",
        default=[],
        help="run the tool loop with this function as a tool (repeatable; the current "
        "directory is importable); calls run while the model streams, results go back",
    )
    chat.add_argument(
        "--stream-tool-arguments",
        action="store_true",
        help="show tool calls as their arguments stream (with --jsonl: their live events)",
    )
    add_batch_command(commands, [common, endpoint], _count)
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _count(minimum: int) -> Callable[[str], int]:
    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {text}")
        return value

    return count


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s: %(message)s")
    printer = Printer(
        sys.stdout,
        sys.stderr,
        jsonl=getattr(args, "jsonl", False),
        reasoning=getattr(args, "reasoning", True),
    )
    try:
        new_client = client_factory(getattr(args, "http_client", None))
        if args.command == "demo":
            trio.run(run_demo, printer, new_client)
        elif args.command == "serve":
            if args.cassette is not None:
                if args.replies or not args.cassette.is_file():
                    raise UsageError(f"--cassette {args.cassette}: no such file (or --replies too)")
                trio.run(run_cassette_server, args.host, args.port, args.cassette)
                return EXIT_OK
            replies = load_replies(args.replies) if args.replies else []
            trio.run(run_server, args.host, args.port, replies)
        elif args.command == "batch":
            try:
                check_batch_args(args)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            failed = trio.run(run_batch_command, args, new_client)
            if failed:
                return EXIT_STREAM_ERROR
        else:
            request = chat_request(args, sys.stdin)
            trio.run(run_chat, args, request, printer, new_client)
    except UsageError as exc:
        print(f"trio-chatsse: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ChatSSEError as exc:
        printer.error(exc)
        return EXIT_STREAM_ERROR
    except KeyboardInterrupt:
        print("\ntrio-chatsse: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (`... | head -1`): its choice, not a failure of
        # the stream, so stop quietly with 0. Pointing stdout at devnull, as the Python docs
        # advise, keeps the interpreter's final flush from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return EXIT_OK


def client_factory(name: str | None) -> Callable[..., HTTPClient]:
    """The ``AsyncClient`` class of the named library, or of the first one installed.

    Raises:
        UsageError: The library asked for (or any of them) is not installed.
    """
    for candidate in (name,) if name else HTTP_LIBRARIES:
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            continue
        factory: Callable[..., HTTPClient] = module.AsyncClient
        return factory
    wanted = name or " or ".join(HTTP_LIBRARIES)
    install = 'pip install "trio-chatsse[httpx2]"' if name == "httpx2" else "pip install httpx"
    raise UsageError(f"{wanted} is not installed ({install})")


async def run_chat(
    args: argparse.Namespace,
    request: tuple[list[dict[str, object]], dict[str, object]],
    printer: Printer,
    new_client: Callable[..., HTTPClient],
) -> None:
    messages, extra = request
    api = wire_api(args.api)
    headers = api.key_headers(args.api_key) if args.api_key else {}
    options: dict[str, Any] = {
        "idle_timeout": args.idle_timeout,
        "first_byte_timeout": args.first_byte_timeout,
        "max_retries": args.max_retries,
        "stream_tool_arguments": args.stream_tool_arguments,
    }
    if args.output_type:
        sys.path.insert(0, os.getcwd())  # as `python -m` would find the user's module
        options["output_type"] = load_output_type(args.output_type)
    if args.background:
        options["background"] = Background(max_resumes=5, cancel_on_exit=True)
    body = api.from_chat_request(args.model, messages, extra)
    if args.tool:
        options["api"] = args.api
        sys.path.insert(0, os.getcwd())  # as `python -m` would find the user's module
        tools = load_tools_functions(args.tool)
        async with new_client(base_url=args.base_url, headers=headers, timeout=30) as http:
            await run_tool_loop(http, body, tools, options, printer)
        return
    async with new_client(base_url=args.base_url, headers=headers, timeout=30) as http:
        opened: AbstractAsyncContextManager[ChatStream] = open_body_stream(
            http, args.api, body, **options
        )
        async with opened as stream:
            async for event in stream:
                printer.event(event)
            if args.output_type:
                printer.output(await stream.final_output())


async def run_tool_loop(
    http: HTTPClient,
    body: dict[str, object],
    tools: list[object],
    options: dict[str, Any],
    printer: Printer,
) -> None:
    """``chat --tool``: the request's body as the loop's options, its tools the functions.
    A call that needs approval is denied: the command line has no one to ask."""
    api = wire_api(options["api"])
    fields: dict[str, Any] = {k: v for k, v in body.items() if k != "model"}
    conversation = fields.pop(api.conversation)
    arguments = {"input" if api.conversation == "input" else "messages": conversation}
    # The opener's own parameters as keywords; the rest as request fields (extra_body where
    # the opener takes no free-form ones).
    parameters = inspect.signature(OPENERS[api.name]).parameters
    free = any(p.kind is p.VAR_KEYWORD and p.name == "params" for p in parameters.values())
    arguments |= {k: v for k, v in fields.items() if free or k in parameters}
    extra = {k: v for k, v in fields.items() if k not in arguments}
    if extra:
        arguments["extra_body"] = extra
    async with open_tool_loop(
        http, model=str(body["model"]), tools=tools, **arguments, **options
    ) as loop:
        async for event in loop:
            printer.event(event)
            if isinstance(event, ToolApprovalRequest):
                loop.deny(event.call_id, "no approval from the command line")


async def run_cassette_server(host: str, port: int, cassette: Path) -> None:
    """``serve --cassette``: replay a recording until interrupted."""
    async with open_cassette_server(cassette, host=host, port=port) as server:
        print(f"# trio-chatsse replaying {cassette} at {server.base_url}", flush=True)
        await trio.sleep_forever()


async def run_server(host: str, port: int, replies: list[Reply]) -> None:
    """Serve until interrupted, saying where on standard output."""
    async with open_chat_server(*replies, host=host, port=port) as server:
        base_url = f"http://{host}:{server.port}/v1"
        print(f"# trio-chatsse test server at {base_url}", flush=True)
        print(f"# try: trio-chatsse chat --base-url {base_url} 'Hello'", flush=True)
        await trio.sleep_forever()
