"""VCR cassettes (vcrpy and pytest-recording's YAML, pydantic-ai's variant) replay through the
cassette server: a real recorded stream of each wire API, its body cut at its events' ends."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # its stubs are a separate package

from trio_chatsse.testing import (
    Reply,
    ScriptedToolCall,
    load_cassette,
    open_cassette_server,
    open_chat_server,
)
from trio_chatsse.testing._exchange import chunk_bytes
from trio_chatsse.testing._vcr import event_chunks

from .test_cassettes import stream_once

FIXTURES = Path(__file__).parent / "fixtures"
#: A real stream of each wire API, as its server sent it. The native Gemini and Ollama bodies
#: are the embedded server's, in the shapes test_gemini.py and test_ollama.py take from the
#: providers' docs and issues (no capture of either is in the fixtures).
CAPTURES = {
    "chat": "llamacpp_tool_call.sse",
    "responses": "responses/litellm_bridge.sse",
    "messages": "messages/anthropic_cache_usage.sse",
}
NATIVE = Reply(
    text="It is sunny.",
    reasoning="The user asks about the weather.",
    tool_calls=[ScriptedToolCall("get_weather", '{"city": "Oslo"}')],
)


def real_body(api: str) -> bytes:
    if api == "ollama":
        return b"".join(json.dumps(line).encode() + b"\n" for line in NATIVE.ollama_lines())
    if api == "gemini":  # as Google sends it: CRLF line ends
        events = NATIVE.gemini_events()
        return b"".join(b"data: " + json.dumps(event).encode() + b"\r\n\r\n" for event in events)
    return (FIXTURES / CAPTURES[api]).read_bytes()


def vcr_yaml(exchanges: list[dict[str, Any]], style: str) -> str:
    """The exchanges as vcrpy writes them (``text``, or ``gzip``: the body compressed, as
    vcrpy keeps it without ``decode_compressed_response``), or as pydantic-ai does."""
    interactions = []
    for exchange in exchanges:
        request, response = exchange["request"], exchange["response"]
        body = b"".join(chunk_bytes(chunk) for chunk in response["chunks"])
        vcr_request: dict[str, Any] = {
            "method": request["method"],
            "uri": "https://api.example.com" + request["path"],
            "headers": {name: [value] for name, value in request["headers"].items()},
        }
        headers = {name: [value] for name, value in response["headers"].items()}
        string: str | bytes = body.decode()
        if style == "pydantic-ai":
            vcr_request["parsed_body"] = request["body"]
        else:
            vcr_request["body"] = json.dumps(request["body"])
        if style == "gzip":
            headers["content-encoding"] = ["gzip"]
            string = gzip.compress(body)
        interactions.append(
            {
                "request": vcr_request,
                "response": {
                    "status": {"code": response["status"], "message": "OK"},
                    "headers": headers,
                    "body": {"string": string},
                },
            }
        )
    text: str = yaml.safe_dump({"interactions": interactions, "version": 1})
    return text


@pytest.mark.parametrize("style", ["text", "gzip", "pydantic-ai"])
async def test_a_vcr_cassette_of_a_real_stream_replays(
    tmp_path: Path, api: str, http_library: str, style: str
) -> None:
    body = real_body(api)
    kind = "application/x-ndjson" if api == "ollama" else "text/event-stream"
    recording = tmp_path / "real.json"
    async with open_chat_server(default=Reply(raw_body=body, content_type=kind)) as server:
        real, real_error = await stream_once(
            server.base_url, http_library, api, recording, max_retries=0
        )
    assert real
    cassette = tmp_path / "cassette.yaml"
    cassette.write_text(vcr_yaml(load_cassette(recording), style))
    (exchange,) = load_cassette(cassette)
    chunks = [chunk_bytes(chunk) for chunk in exchange["response"]["chunks"]]
    assert b"".join(chunks) == body
    assert chunks == event_chunks(body, kind)
    async with open_cassette_server(cassette, speed=0) as server:
        replayed, error = await stream_once(server.base_url, http_library, api, max_retries=0)
        assert server.misses == []
    assert replayed == real
    assert repr(error) == repr(real_error)


@pytest.mark.parametrize(
    ("body", "kind", "pieces"),
    [
        (b"data: 1\n\ndata: 2\n\n", "text/event-stream", [b"data: 1\n\n", b"data: 2\n\n"]),
        (
            b"data: 1\r\n\r\ndata: 2",
            "text/event-stream; charset=utf-8",
            [b"data: 1\r\n\r\n", b"data: 2"],
        ),
        (b"data: 1\r\rdata: 2\r\r", "Text/Event-Stream", [b"data: 1\r\r", b"data: 2\r\r"]),
        (b'{"a": 1}\n{"b": 2}\n', "application/x-ndjson", [b'{"a": 1}\n', b'{"b": 2}\n']),
        (b'{"whole": true}', "application/json", [b'{"whole": true}']),
        (b"", "text/event-stream", []),
    ],
)
def test_a_vcr_body_is_cut_after_each_event(body: bytes, kind: str, pieces: list[bytes]) -> None:
    assert event_chunks(body, kind) == pieces


VCRPY_TEXT = """\
interactions:
- request:
    body: '{"model": "m", "stream": true}'
    headers:
      authorization:
      - Bearer sk-not-scrubbed-by-vcr
    method: POST
    uri: https://api.openai.com/v1/chat/completions?api-key=secret
  response:
    body:
      string: 'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}


        data: [DONE]


        '
    headers:
      content-type:
      - text/event-stream
    status:
      code: 200
      message: OK
version: 1
"""


def test_a_vcrpy_file_reads_as_exchanges_scrubbed(tmp_path: Path) -> None:
    cassette = tmp_path / "vcrpy.yml"
    cassette.write_text(VCRPY_TEXT)
    (exchange,) = load_cassette(cassette)
    assert exchange["request"] == {
        "method": "POST",
        "path": "/v1/chat/completions?api-key=REDACTED",
        "headers": {"authorization": "REDACTED"},
        "body": {"model": "m", "stream": True},
    }
    texts = [chunk["text"] for chunk in exchange["response"]["chunks"]]
    assert texts == [
        'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n',
        "data: [DONE]\n\n",
    ]
    assert exchange["response"]["end"] == "complete"


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("just: a mapping\n", ValueError, "no interactions"),
        ("interactions:\n- request: {}\n", ValueError, "interaction 0 is not"),
        (
            "interactions:\n- request: {method: GET, uri: 'http://x/y'}\n"
            "  response: {status: {code: 200}, headers: {content-encoding: [br]},"
            " body: {string: !!binary AAEC}}\n",
            ValueError,
            "br-encoded",
        ),
    ],
)
def test_a_bad_vcr_file_is_a_clear_error(
    tmp_path: Path, text: str, error: type[Exception], match: str
) -> None:
    cassette = tmp_path / "bad.yaml"
    cassette.write_text(text)
    with pytest.raises(error, match=match):
        load_cassette(cassette)
