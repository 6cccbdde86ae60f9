"""Batches: every request streamed and answered once, in the Batch API's output format, with
bodies equal to the server's non-streamed answers; a killed run goes on where it stopped."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from trio_chatsse import Limiter
from trio_chatsse.batch import open_batch
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall, open_chat_server

URLS = ["/v1/chat/completions", "/v1/responses", "/v1/messages"]


def reply_for(request: Mapping[str, object]) -> Reply:
    """The answer of a request, from its prompt: failures on demand, else an echo."""
    messages = request.get("messages", request.get("input"))
    prompt = messages if isinstance(messages, str) else str(messages[-1]["content"])  # type: ignore[index]  # ours
    if "fail-400" in prompt:
        return Reply(status=400, error={"message": "bad prompt", "type": "invalid_request_error"})
    if "fail-stream" in prompt:
        error = {"type": "invalid_request_error", "message": "cut"}
        return Reply(text="partial answer", error=error, error_after=4)
    if "call" in prompt:
        return Reply(text="Checking.", tool_calls=[ScriptedToolCall("lookup", '{"q": "x"}')])
    return Reply(text=f"You said: {prompt}", reasoning="Easy." if "think" in prompt else "")


def line(
    number: int, url: str = "/v1/chat/completions", prompt: str | None = None
) -> dict[str, Any]:
    prompt = prompt or f"hello {number}"
    if url == "/v1/responses":
        body: dict[str, Any] = {"model": "m", "input": prompt}
    else:
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
        if url == "/v1/messages":
            body["max_tokens"] = 100
    return {"custom_id": f"req-{number}", "method": "POST", "url": url, "body": body}


def lines(count: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for number in range(count):
        kind = rng.choice(["plain", "plain", "plain", "think", "call", "fail-400", "fail-stream"])
        out.append(line(number, rng.choice(URLS), f"{kind} {number}"))
    return out


async def non_streamed(http: httpx.AsyncClient, request: Mapping[str, Any]) -> tuple[int, Any]:
    """What the server answers the same body without ``stream: true``."""
    response = await http.post(str(request["url"]).removeprefix("/v1/"), json=request["body"])
    return response.status_code, response.json()


def comparable(body: Any) -> Any:
    """A body without what differs between two answers of one request: ids and times."""
    if isinstance(body, dict):
        return {
            k: comparable(v)
            for k, v in body.items()
            if k not in ("id", "created", "created_at", "model", "incomplete_details", "status")
        }
    if isinstance(body, list):
        return [comparable(v) for v in body]
    return body


def check_chat_body(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert comparable(ours) == comparable(theirs)


async def test_every_request_once_with_the_non_streamed_body(chat_server: ChatServer) -> None:
    chat_server._default = reply_for
    requests = [*lines(60, seed=1), {"custom_id": "bad-url", "url": "/v1/nope", "body": {}}]
    requests.append("not json at all")  # type: ignore[arg-type]  # a bad line, on purpose
    results = {}
    async with httpx.AsyncClient(base_url=chat_server.base_url) as http:
        async with open_batch(http, requests, concurrency=7, limiter=Limiter()) as channel:
            async for result in channel:
                assert result.custom_id not in results
                results[result.custom_id] = result
        assert set(results) == {r["custom_id"] for r in requests[:-1]} | {None}
        assert results["bad-url"].error is not None
        assert results[None].error["code"] == "invalid_request"  # type: ignore[index]
        for request in requests[:-2]:
            result = results[request["custom_id"]]
            prompt = json.dumps(request["body"])
            if "fail-stream" in prompt:
                assert result.error is not None
                assert result.error["code"] == "ProviderError"
                continue
            status, theirs = await non_streamed(http, request)
            assert result.status_code == status
            if request["url"] == "/v1/chat/completions" or status != 200:
                check_chat_body(result.body, theirs)  # type: ignore[arg-type]
            else:
                assert _text_of(result.body) == _text_of(theirs)


def _text_of(body: Any) -> str:
    """The answer's text in a Responses or Messages body."""
    parts = body.get("content") or [
        part for item in body["output"] if item["type"] == "message" for part in item["content"]
    ]
    return "".join(p.get("text", "") for p in parts if p.get("type") in ("text", "output_text"))


async def test_leaving_early_cancels_what_runs(chat_server: ChatServer) -> None:
    chat_server._default = lambda request: Reply(text="slow", stall=30, stall_after=1)
    async with httpx.AsyncClient(base_url=chat_server.base_url) as http:
        with trio.fail_after(5):
            async with open_batch(http, lines(20), concurrency=4) as channel:
                pass
        del channel
    with trio.fail_after(5):
        await chat_server.wait_connections_closed()


def read_output(path: Path) -> list[dict[str, Any]]:
    return [json.loads(text) for text in path.read_text().splitlines()]


@pytest.mark.parametrize("seed", [3])
async def test_a_killed_batch_goes_on_and_writes_each_custom_id_once(
    tmp_path: Path, seed: int
) -> None:
    requests = lines(1000, seed=seed)
    source = tmp_path / "input.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in requests))
    output = tmp_path / "output.jsonl"
    rng = random.Random(seed)
    kill_after = rng.randrange(100, 700)
    reached = trio.Event()
    received = 0

    def counting(request: Mapping[str, object]) -> Reply:
        nonlocal received
        received += 1
        if received == kill_after:
            reached.set()
        return reply_for(request)

    async with open_chat_server(default=counting) as server:
        command = [
            sys.executable, "-m", "trio_chatsse", "batch", str(source), "-o", str(output),
            "--base-url", server.base_url, "--concurrency", "50",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        process = await trio.lowlevel.open_process(command, env=env, stderr=subprocess.DEVNULL)
        with trio.fail_after(60):
            await reached.wait()  # a random point, some requests done, some in flight
        process.send_signal(signal.SIGKILL)
        await process.wait()
        first = output.read_bytes().count(b"\n")
        assert first < len(requests)
        with trio.fail_after(120):
            result = await trio.run_process(command, env=env, capture_stderr=True, check=False)
        # Some of the lines fail (fail-400, fail-stream): the status says so.
        assert result.returncode == 1, result.stderr.decode()
        assert "already done" in result.stderr.decode()
        written = read_output(output)
        ids = [entry["custom_id"] for entry in written]
        assert sorted(ids) == sorted(r["custom_id"] for r in requests)  # each exactly once
        by_id = {entry["custom_id"]: entry for entry in written}
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            for request in rng.sample(requests, 60):
                entry = by_id[request["custom_id"]]
                if "fail-stream" in json.dumps(request["body"]):
                    assert entry["error"]["code"] == "ProviderError"
                    continue
                status, theirs = await non_streamed(http, request)
                assert entry["response"]["status_code"] == status
                if request["url"] == "/v1/chat/completions" or status != 200:
                    check_chat_body(entry["response"]["body"], theirs)
                else:
                    assert _text_of(entry["response"]["body"]) == _text_of(theirs)


def test_a_line_cut_short_by_a_crash_is_removed(tmp_path: Path) -> None:
    from trio_chatsse._cli_batch import done_custom_ids

    output = tmp_path / "out.jsonl"
    whole = json.dumps({"custom_id": "a", "response": None, "error": None}) + "\n"
    output.write_text(whole + '{"custom_id": "b", "resp')
    assert done_custom_ids(output) == {"a"}
    assert output.read_text() == whole


async def test_batch_usage_errors_before_any_request(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    out = str(tmp_path / "out.jsonl")
    missing = await trio.run_process(
        [sys.executable, "-m", "trio_chatsse", "batch", str(tmp_path / "none.jsonl"), "-o", out,
         "--base-url", "http://127.0.0.1:9/v1"],
        env=env, capture_stderr=True, check=False,
    )  # fmt: skip
    assert missing.returncode == 2
    assert b"no input file" in missing.stderr
    (tmp_path / "in.jsonl").write_text("")
    no_url = await trio.run_process(
        [sys.executable, "-m", "trio_chatsse", "batch", str(tmp_path / "in.jsonl"), "-o", out],
        env=env, capture_stderr=True, check=False,
    )  # fmt: skip
    assert no_url.returncode == 2
    assert b"no base URL" in no_url.stderr


async def test_the_input_iterables_error_comes_out_as_itself(chat_server: ChatServer) -> None:
    text = json.dumps(line(1)) + "\n\n" + json.dumps(line(2)) + "\n"
    got: list[str | None] = []
    with pytest.raises(json.JSONDecodeError):  # the docs' snippet on a blank line
        async with httpx.AsyncClient(base_url=chat_server.base_url) as http:
            parsed = (json.loads(raw) for raw in text.split("\n"))
            async with open_batch(http, parsed) as results:
                async for result in results:
                    got.append(result.custom_id)
    assert got == ["req-1"]  # what was read before the error is done and given


async def test_batch_exit_status_and_error_lines_name_their_input_line(
    chat_server: ChatServer, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    good, bad_url = line(1), {**line(2), "url": "/v1/embeddings"}
    source.write_text(
        json.dumps(good) + "\n" + "{not json\n" + json.dumps(bad_url) + "\n"
        + json.dumps({"method": "POST"}) + "\n"
    )  # fmt: skip
    output = tmp_path / "out.jsonl"
    command = [
        sys.executable, "-m", "trio_chatsse", "batch", str(source), "-o", str(output),
        "--base-url", chat_server.base_url,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    first = await trio.run_process(command, env=env, capture_stderr=True, check=False)
    assert first.returncode == 1  # some lines failed
    assert b"(3 failed)" in first.stderr
    errors = {entry["error"]["line"]: entry for entry in read_output(output) if entry["error"]}
    assert sorted(errors) == [2, 3, 4]
    assert "input line 2: not JSON" in errors[2]["error"]["message"]
    assert errors[3]["custom_id"] == "req-2"
    assert errors[4]["custom_id"] is None
    second = await trio.run_process(command, env=env, capture_stderr=True, check=False)
    assert second.returncode == 0
    assert b"0 written" in second.stderr
    assert len(read_output(output)) == 4  # no error line written again


async def test_batch_into_a_missing_folder_is_a_one_line_usage_error(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps(line(1)) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    result = await trio.run_process(
        [sys.executable, "-m", "trio_chatsse", "batch", str(tmp_path / "in.jsonl"),
         "-o", str(tmp_path / "missing" / "out.jsonl"), "--base-url", "http://127.0.0.1:9/v1"],
        env=env, capture_stderr=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1
    assert "no folder" in result.stderr.decode()
