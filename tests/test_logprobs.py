"""Token logprobs: each text and refusal delta carries the tokens that came with it, and the
done part all of them, in order: exactly the server's tokens, however the body is split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trio_chatsse import Event, Message, OutputItemDone, OutputTextDelta, RefusalDelta
from trio_chatsse.parts import OutputText, Refusal, TokenLogprob
from trio_chatsse.testing import ChatServer, Reply

from .helpers import FIXTURES, RESPONSES_FIXTURES, HTTPClient, open_stream, parse_every_way


def server_tokens(body: bytes, field: str) -> list[dict[str, object]]:
    """The token entries the server sent, in order, read straight from the body."""
    tokens: list[dict[str, object]] = []
    for line in body.decode().splitlines():
        if not line.startswith("data: {"):
            continue
        payload = json.loads(line[6:])
        if payload.get("type") == f"response.{field}.delta":
            tokens += payload.get("logprobs") or []
        for choice in payload.get("choices", []):
            tokens += (choice.get("logprobs") or {}).get(field) or []
    return tokens


def as_sent(tokens: list[TokenLogprob]) -> list[dict[str, object]]:
    return [t.model_dump() for t in tokens]


def normalized(entries: list[dict[str, object]]) -> list[dict[str, object]]:
    """The server's entries as the library reads them: a null ``top_logprobs`` is empty."""
    return [{**e, "top_logprobs": e.get("top_logprobs") or []} for e in entries]


def delta_tokens(
    events: list[Event], kind: type[OutputTextDelta | RefusalDelta]
) -> list[TokenLogprob]:
    return [t for e in events if isinstance(e, kind) for t in e.logprobs or []]


def done_part(events: list[Event]) -> OutputText | Refusal:
    messages = [
        e.item for e in events if isinstance(e, OutputItemDone) and isinstance(e.item, Message)
    ]
    assert len(messages) == 1
    return messages[0].content[0]


@pytest.mark.parametrize(
    ("path", "api", "field"),
    [
        (FIXTURES / "openai_logprobs.sse", "chat", "content"),
        (FIXTURES / "openai_refusal_logprobs.sse", "chat", "refusal"),
        (RESPONSES_FIXTURES / "openai_logprobs.sse", "responses", "output_text"),
    ],
    ids=["chat-text", "chat-refusal", "responses-text"],
)
def test_deltas_carry_exactly_the_servers_tokens_however_split(
    path: Path, api: str, field: str
) -> None:
    body = path.read_bytes()
    events, error = parse_every_way(body, api=api)  # every split, each compared to the whole
    assert error is None
    sent = normalized(server_tokens(body, field))
    kind = RefusalDelta if field == "refusal" else OutputTextDelta
    assert as_sent(delta_tokens(events, kind)) == sent
    assert as_sent(done_part(events).logprobs) == sent


def test_tokens_on_a_chunk_without_text_come_as_an_empty_delta() -> None:
    events, _ = parse_every_way((FIXTURES / "openai_logprobs.sse").read_bytes())
    texts = [(e.delta, len(e.logprobs or [])) for e in events if isinstance(e, OutputTextDelta)]
    assert texts == [("Yes", 1), (", it", 2), ("", 1), ("\u2019s fine", 3)]


def test_a_stream_without_logprobs_has_none_and_dumps_as_before() -> None:
    events, _ = parse_every_way((FIXTURES / "llamacpp_text.sse").read_bytes())
    deltas = [e for e in events if isinstance(e, OutputTextDelta)]
    assert deltas
    assert all(e.logprobs is None for e in deltas)
    assert all("logprobs" not in e.model_dump_json() for e in events)


@pytest.mark.parametrize("api", ["chat", "responses"])  # the Messages API has no logprobs
async def test_the_test_server_sends_logprobs_when_asked(
    chat_server: ChatServer, http: HTTPClient, api: str
) -> None:
    reply = Reply(text="The quick brown fox.", fragment_size=4)
    chat_server.push(reply)
    options: dict[str, object] = {"top_logprobs": 2}
    if api == "chat":
        options["logprobs"] = True
    else:
        options["include"] = ["message.output_text.logprobs"]
    async with open_stream(http, api, **options) as stream:
        events = [event async for event in stream]
    tokens = delta_tokens(events, OutputTextDelta)
    assert "".join(t.token for t in tokens) == "The quick brown fox."
    assert [len(t.top_logprobs) for t in tokens] == [2] * len(tokens)
    assert done_part(events).logprobs == tokens


async def test_the_test_server_sends_none_unasked(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(text="Hello there."))
    async with open_stream(http, "chat") as stream:
        events = [event async for event in stream]
    assert delta_tokens(events, OutputTextDelta) == []
