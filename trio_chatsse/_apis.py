"""The wire-API registry: what each API a stream can speak needs, in one table.

Every entry point goes through :data:`WIRE_APIS`: ``open_event_stream(api=...)`` for the
parser; the openers for the path, the headers, the fields a stream adds, the tool and
tool-choice shapes, the structured-output fields, the fields that set a token limit, and how a
whole (non-streamed) answer becomes its stream; ``open_batch`` for the Batch API's URL, the
checks of a body given as it is and the non-streamed body it writes; the CLI for a chat-form
request in the API's words and the key's header; the stream for the next turn's message.
Adding a wire API touches this table, its parser, its test-server form and the docs
(``docs/design.rst``, "Adding a wire API").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from ._arguments import CHAT_TOOLS, GEMINI_TOOLS, MESSAGES_TOOLS, RESPONSES_TOOLS, ToolShape
from ._chunks import ChatChunkParser
from ._conversions import (
    chat_request,
    check_chat_body,
    check_gemini_body,
    check_messages_body,
    check_ollama_body,
    check_responses_body,
    gemini_request,
    messages_request,
    ollama_request,
    responses_request,
)
from ._gemini import GeminiEventParser
from ._keywords import CHAT_FIELDS, GEMINI_FIELDS, MESSAGES_FIELDS, OLLAMA_FIELDS, RESPONSES_FIELDS
from ._messages import MessagesEventParser
from ._models import Completed, Item
from ._ndjson import NDJSONDecoder
from ._ollama import OllamaChatParser
from ._parsers import EventParser, ResponseCursor
from ._response_bodies import (
    chat_completion_body,
    gemini_body,
    message_body,
    ollama_body,
    response_body,
)
from ._responses import ResponsesEventParser
from ._sse import Decoder, new_sse_decoder
from ._tool_calls import ToolCallsOnStop
from ._tool_turns import (
    AnsweredCall,
    chat_tool_results,
    chat_turn,
    gemini_tool_results,
    gemini_turn,
    messages_tool_results,
    messages_turn,
    ollama_tool_results,
    ollama_turn,
    responses_tool_results,
    responses_turn,
)
from ._turns import (
    ReasoningPolicy,
    assistant_message,
    gemini_model_content,
    messages_assistant_message,
    ollama_assistant_message,
)
from ._whole import completion_as_sse, gemini_as_sse, message_as_sse, response_as_sse

__all__ = ["WIRE_APIS", "ParserOptions", "WireAPI", "WireAPISpec", "wire_api"]

#: The wire APIs a stream can be read as.
WireAPI = Literal["chat", "responses", "messages", "gemini", "ollama"]


@dataclass(frozen=True)
class ParserOptions:
    """What a parser is told about the request and the caller's choices."""

    #: Whether the request set a token limit (then a ``length`` finish is a normal end).
    token_limit_set: bool = False
    #: Pass tool calls on as they stream.
    stream_tool_arguments: bool = False
    #: What the Chat Completions parser does with tool calls at ``finish_reason: "stop"``.
    tool_calls_on_stop: ToolCallsOnStop = "emit"
    #: A background response's stream, which may be resumed by ``sequence_number``.
    resumable: bool = False
    #: The request's ``n``: how many choices a Chat Completions stream holds.
    choices: int = 1
    #: A background response's stream opened from this position (``GET responses/{id}``).
    resume_from: ResponseCursor | None = None


@dataclass(frozen=True)
class WireAPISpec:
    """One wire API: its request's path and headers, its parser, its whole-answer form."""

    #: The name, as ``api=`` takes it.
    name: WireAPI
    #: The path POSTed, relative to the client's ``base_url``.
    path: str
    #: A new parser for one stream.
    new_parser: Callable[[ParserOptions], EventParser]
    #: A whole answer (a server that ignored ``stream: true``) as the SSE body of the same
    #: answer; ``None`` where a whole answer already is a stream of one frame (NDJSON).
    whole_answer_as_sse: Callable[[bytes], bytes] | None
    #: Request fields that set a token limit, when not null.
    token_limit_fields: tuple[str, ...]
    #: The assistant message of a response in this API's form, for the next request:
    #: ``(items, reasoning policy, reasoning field)``.
    assistant_message: Callable[[list[Item], ReasoningPolicy, str | None], dict[str, object]]
    #: The request fields that ask for structured output: ``(name, schema, strict)``.
    output_format: Callable[[str, dict[str, object], bool], dict[str, object]]
    #: How the API writes function tools and ``tool_choice``.
    tools: ToolShape
    #: The fields a streamed request of this API carries, unless the body sets them.
    stream_fields: Mapping[str, object]
    #: Checks of a body given as it is (a batch line): :class:`TypeError` or
    #: :class:`ValueError` for one the API would refuse.
    check_body: Callable[[Mapping[str, object]], None]
    #: The non-streamed response object of a whole answer: ``(model, items, completed)``.
    non_streamed_body: Callable[[str, list[Item], Completed], dict[str, object]]
    #: A request written in Chat Completions' words (``model``, ``messages``, other fields)
    #: in this API's: the CLI's one request for every API.
    from_chat_request: Callable[
        [str, list[dict[str, object]], Mapping[str, object]], dict[str, object]
    ]
    #: The header that carries an API key.
    key_headers: Callable[[str], dict[str, str]]
    #: The argument of the API's opener that holds the conversation (``messages``, ``input``).
    conversation: str
    #: A tool loop's assistant turn in the API's input form.
    turn_of: Callable[[list[Item]], list[dict[str, object]]]
    #: A tool loop's answered calls in the API's input form.
    tool_results: Callable[[list[AnsweredCall]], list[dict[str, object]]]
    #: The fields of the API's documented request, for telling a typo from a field.
    request_fields: frozenset[str] = frozenset()
    #: Whether the body's ``model`` goes in the path (``{model}`` there) rather than the body.
    model_in_path: bool = False
    #: Whether requests take a ``tool_choice`` (a tool loop's last turn sends ``"none"``; an
    #: API without one is sent no tools instead).
    has_tool_choice: bool = True
    #: How the streamed body is framed: a decoder with this ``max_event_size``.
    new_decoder: Callable[[int], Decoder] = new_sse_decoder
    #: The ``Content-Type`` of the streamed body (a body under another is looked at first).
    stream_content_type: str = "text/event-stream"
    #: The OpenAI Batch API's ``url`` of a request of this API (``""``: none).
    batch_url: str = ""
    #: Headers sent unless the client or the caller sets them.
    default_headers: Mapping[str, str] = field(default_factory=dict)

    def token_limit_set(self, body: Mapping[str, object]) -> bool:
        """Whether ``body`` sets a token limit."""
        return any(body.get(key) is not None for key in self.token_limit_fields)


def _chat_format(name: str, schema: dict[str, object], strict: bool) -> dict[str, object]:
    json_schema = {"name": name, "schema": schema, "strict": strict}
    return {"response_format": {"type": "json_schema", "json_schema": json_schema}}


def _responses_format(name: str, schema: dict[str, object], strict: bool) -> dict[str, object]:
    return {
        "text": {
            "format": {"type": "json_schema", "name": name, "schema": schema, "strict": strict}
        }
    }


def _messages_format(name: str, schema: dict[str, object], strict: bool) -> dict[str, object]:
    # The GA form (no beta header); the API has no strict flag: its schemas are always strict.
    return {"output_config": {"format": {"type": "json_schema", "schema": schema}}}


def _chat_parser(options: ParserOptions) -> EventParser:
    return ChatChunkParser(
        tool_calls_on_stop=options.tool_calls_on_stop,
        token_limit_set=options.token_limit_set,
        stream_tool_arguments=options.stream_tool_arguments,
        choices=options.choices,
    )


def _chat_turn(items: list[Item], policy: ReasoningPolicy, name: str | None) -> dict[str, object]:
    return assistant_message(items, reasoning=policy, reasoning_field=name)


def _messages_turn(
    items: list[Item], policy: ReasoningPolicy, name: str | None
) -> dict[str, object]:
    # Thinking blocks always go back, with their signatures: the API checks them.
    return messages_assistant_message(items)


def _messages_parser(options: ParserOptions) -> EventParser:
    return MessagesEventParser(stream_tool_arguments=options.stream_tool_arguments)


def _gemini_format(name: str, schema: dict[str, object], strict: bool) -> dict[str, object]:
    # Gemini's JSON Schema field (not the OpenAPI-subset responseSchema): any schema pydantic
    # makes, $defs included.
    config = {"responseMimeType": "application/json", "responseJsonSchema": schema}
    return {"generationConfig": config}


def _gemini_parser(options: ParserOptions) -> EventParser:
    return GeminiEventParser(
        token_limit_set=options.token_limit_set,
        stream_tool_arguments=options.stream_tool_arguments,
    )


def _gemini_turn(items: list[Item], policy: ReasoningPolicy, name: str | None) -> dict[str, object]:
    return gemini_model_content(items)


def _goog_api_key(key: str) -> dict[str, str]:
    return {"x-goog-api-key": key}


def _ollama_format(name: str, schema: dict[str, object], strict: bool) -> dict[str, object]:
    # Ollama's structured output: the schema itself as "format".
    return {"format": schema}


def _ollama_parser(options: ParserOptions) -> EventParser:
    return OllamaChatParser(stream_tool_arguments=options.stream_tool_arguments)


def _ollama_decoder(max_event_size: int) -> Decoder:
    return NDJSONDecoder(max_event_size=max_event_size)


def _ollama_turn(items: list[Item], policy: ReasoningPolicy, name: str | None) -> dict[str, object]:
    return ollama_assistant_message(items)


def _responses_parser(options: ParserOptions) -> EventParser:
    cursor = options.resume_from
    return ResponsesEventParser(
        token_limit_set=options.token_limit_set,
        stream_tool_arguments=options.stream_tool_arguments,
        resumable=options.resumable or cursor is not None,
        starting_after=None if cursor is None else cursor.sequence_number,
        response_id="" if cursor is None else cursor.response_id,
    )


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _x_api_key(key: str) -> dict[str, str]:
    return {"x-api-key": key}


#: Every wire API, by name.
WIRE_APIS: Mapping[str, WireAPISpec] = {
    spec.name: spec
    for spec in (
        WireAPISpec(
            name="chat",
            path="chat/completions",
            new_parser=_chat_parser,
            whole_answer_as_sse=completion_as_sse,
            token_limit_fields=("max_tokens", "max_completion_tokens"),
            assistant_message=_chat_turn,
            output_format=_chat_format,
            tools=CHAT_TOOLS,
            stream_fields={"stream": True, "stream_options": {"include_usage": True}},
            check_body=check_chat_body,
            non_streamed_body=chat_completion_body,
            from_chat_request=chat_request,
            key_headers=_bearer,
            conversation="messages",
            turn_of=chat_turn,
            tool_results=chat_tool_results,
            request_fields=CHAT_FIELDS,
            batch_url="/v1/chat/completions",
        ),
        WireAPISpec(
            name="responses",
            path="responses",
            new_parser=_responses_parser,
            whole_answer_as_sse=response_as_sse,
            token_limit_fields=("max_output_tokens",),
            assistant_message=_chat_turn,
            output_format=_responses_format,
            tools=RESPONSES_TOOLS,
            stream_fields={"stream": True},
            check_body=check_responses_body,
            non_streamed_body=response_body,
            from_chat_request=responses_request,
            key_headers=_bearer,
            conversation="input",
            turn_of=responses_turn,
            tool_results=responses_tool_results,
            request_fields=RESPONSES_FIELDS,
            batch_url="/v1/responses",
        ),
        WireAPISpec(
            name="messages",
            path="messages",
            new_parser=_messages_parser,
            whole_answer_as_sse=message_as_sse,
            # max_tokens is required, so a max_tokens stop is always the caller's own limit.
            token_limit_fields=(),
            assistant_message=_messages_turn,
            output_format=_messages_format,
            tools=MESSAGES_TOOLS,
            stream_fields={"stream": True},
            check_body=check_messages_body,
            non_streamed_body=message_body,
            from_chat_request=messages_request,
            key_headers=_x_api_key,
            conversation="messages",
            turn_of=messages_turn,
            tool_results=messages_tool_results,
            request_fields=MESSAGES_FIELDS,
            batch_url="/v1/messages",
            default_headers={"anthropic-version": "2023-06-01"},
        ),
        WireAPISpec(
            name="gemini",
            path="models/{model}:streamGenerateContent?alt=sse",
            new_parser=_gemini_parser,
            whole_answer_as_sse=gemini_as_sse,
            token_limit_fields=(),
            assistant_message=_gemini_turn,
            output_format=_gemini_format,
            tools=GEMINI_TOOLS,
            stream_fields={},
            check_body=check_gemini_body,
            non_streamed_body=gemini_body,
            from_chat_request=gemini_request,
            key_headers=_goog_api_key,
            conversation="contents",
            turn_of=gemini_turn,
            tool_results=gemini_tool_results,
            request_fields=GEMINI_FIELDS,
            model_in_path=True,
        ),
        WireAPISpec(
            name="ollama",
            path="api/chat",
            new_parser=_ollama_parser,
            # Ollama's whole answer is its stream's last line: read as the stream it is.
            whole_answer_as_sse=None,
            # num_predict sits in "options"; a length finish is a normal end either way, as
            # Ollama does not tell the context window's end from the limit's.
            token_limit_fields=(),
            assistant_message=_ollama_turn,
            output_format=_ollama_format,
            tools=CHAT_TOOLS,
            stream_fields={"stream": True},
            check_body=check_ollama_body,
            non_streamed_body=ollama_body,
            from_chat_request=ollama_request,
            key_headers=_bearer,
            conversation="messages",
            turn_of=ollama_turn,
            tool_results=ollama_tool_results,
            request_fields=OLLAMA_FIELDS,
            has_tool_choice=False,
            new_decoder=_ollama_decoder,
            stream_content_type="application/x-ndjson",
        ),
    )
}


def wire_api(name: str) -> WireAPISpec:
    """The registry entry of ``name``; :class:`ValueError` for a name it does not hold."""
    spec = WIRE_APIS.get(name)
    if spec is None:
        names = ", ".join(repr(n) for n in WIRE_APIS)
        raise ValueError(f"api must be one of {names}, not {name!r}")
    return spec
