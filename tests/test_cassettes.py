"""Cassettes: a stream recorded through record() replays through open_cassette_server() to the
same events, with the recorded chunk boundaries and pace, its cut, and no secret in the file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from trio_chatsse import ChatSSEError, Event, IdleTimeoutError, StreamError
from trio_chatsse.testing import (
    ReplayFault,
    Reply,
    ScriptedToolCall,
    load_cassette,
    open_cassette_server,
    open_chat_server,
    record,
)

from .helpers import new_client, open_stream

REPLY = Reply(
    text="Hello there, recorded!",
    reasoning="Think first.",
    tool_calls=[ScriptedToolCall("get_weather", '{"city": "Oslo"}', call_id="call_1")],
    pace=0.1,
)


async def stream_once(
    base_url: str, library: str, api: str, path: Path | None = None, **options: Any
) -> tuple[list[Event], ChatSSEError | None]:
    """One stream of ``api`` (recorded to ``path`` when given): its events and its error."""
    events: list[Event] = []
    error: ChatSSEError | None = None
    async with new_client(library, base_url=base_url, timeout=10) as real:
        if path is None:
            client = real
            recording = None
        else:
            recording = record(real, path)
            client = await recording.__aenter__()
        try:
            async with open_stream(client, api, **options) as stream:
                async for event in stream:
                    events.append(event)
        except ChatSSEError as exc:
            error = exc
        finally:
            if recording is not None:
                await recording.__aexit__(None, None, None)  # noqa: ASYNC102  # writes, no wait
    return events, error


async def test_a_recorded_stream_replays_to_the_same_events_at_its_pace(
    tmp_path: Path, api: str, http_library: str, autojump_clock: trio.testing.MockClock
) -> None:
    cassette = tmp_path / "stream.json"
    async with open_chat_server(REPLY) as server:
        started = trio.current_time()
        recorded, _ = await stream_once(server.base_url, http_library, api, cassette)
        took = trio.current_time() - started
    chunks = load_cassette(cassette)[0]["response"]["chunks"]
    assert len(chunks) > 3
    for speed, expected in ((1.0, took), (10.0, took / 10)):
        async with open_cassette_server(cassette, speed=speed) as server:
            started = trio.current_time()
            replay_path = tmp_path / f"replay-{speed}.json"
            replayed, error = await stream_once(server.base_url, http_library, api, replay_path)
            elapsed = trio.current_time() - started
            assert server.misses == []
        assert error is None
        assert replayed == recorded
        assert elapsed == pytest.approx(expected, rel=0.2)
        # The same chunks, with the same boundaries.
        again = load_cassette(replay_path)[0]["response"]["chunks"]
        assert [c.get("text") for c in again] == [c.get("text") for c in chunks]


async def test_a_cut_recording_replays_as_a_cut(tmp_path: Path, http_library: str) -> None:
    cassette = tmp_path / "cut.json"
    async with open_chat_server(Reply(text="The quick brown fox", disconnect_after=3)) as server:
        recorded, error = await stream_once(
            server.base_url, http_library, "chat", cassette, max_retries=0
        )
    assert isinstance(error, StreamError)
    assert load_cassette(cassette)[0]["response"]["end"] == "cut"
    async with open_cassette_server(cassette, speed=0) as server:
        replayed, again = await stream_once(server.base_url, http_library, "chat", max_retries=0)
    assert isinstance(again, StreamError)
    assert replayed == recorded


async def test_a_recording_cancelled_mid_stream_is_written_and_readable(
    tmp_path: Path, http_library: str
) -> None:
    cassette = tmp_path / "cancelled.json"
    async with open_chat_server(Reply(text="a slow answer", pace=0.2)) as server:
        with trio.move_on_after(0.3):
            await stream_once(server.base_url, http_library, "chat", cassette)
    (exchange,) = load_cassette(cassette)
    assert exchange["response"]["end"] in ("left", "cut")
    assert exchange["response"]["chunks"]  # what came before the cancellation


async def test_no_secret_given_to_the_client_reaches_the_file(
    tmp_path: Path, http_library: str
) -> None:
    cassette = tmp_path / "secrets.json"
    secrets = {
        "Authorization": "Bearer sk-SECRET-1",
        "x-api-key": "SECRET-2",
        "x-goog-api-key": "SECRET-3",
        "OpenAI-Organization": "org-SECRET-4",
    }
    async with open_chat_server(Reply(text="hi")) as server:
        base = server.base_url
        async with new_client(http_library, base_url=base, headers=secrets) as real:
            async with record(real, cassette) as http:
                response = await http.get("models?key=SECRET-5&limit=2")
                assert response.status_code == 200
                async with open_stream(http, "chat") as stream:
                    await stream.final()
    text = cassette.read_bytes()
    assert b"SECRET" not in text
    exchanges = load_cassette(cassette)
    assert exchanges[0]["request"]["path"] == "/v1/models?key=REDACTED&limit=2"
    assert exchanges[1]["request"]["headers"]["authorization"] == "REDACTED"


async def test_a_miss_is_a_599_naming_the_closest_recording(
    tmp_path: Path, http_library: str
) -> None:
    cassette = tmp_path / "one.json"
    async with open_chat_server(Reply(text="hi")) as server:
        await stream_once(server.base_url, http_library, "chat", cassette)
    async with open_cassette_server(cassette, ignore=["user"]) as server:
        async with new_client(http_library, base_url=server.base_url) as http:
            async with open_stream(http, "chat", user="someone-else") as stream:
                await stream.final()  # "user" is ignored: a match
            with pytest.raises(ChatSSEError, match="closest is exchange 0: messages was"):
                async with open_stream(
                    http, "chat", extra_body={"messages": [{"role": "user", "content": "no"}]}
                ):
                    pass  # pragma: no cover
    assert len(server.misses) == 1
    assert "messages was" in server.misses[0][3]


def test_the_file_is_readable_json_with_its_version(tmp_path: Path) -> None:
    cassette = tmp_path / "bad.json"
    cassette.write_text(json.dumps({"version": 99, "exchanges": []}))
    with pytest.raises(ValueError, match="version 1"):
        load_cassette(cassette)


async def run_inner_test(folder: Path, mode: str, cities: str = "hi") -> tuple[int, str]:
    """Run :data:`INNER` in ``folder`` under ``--record-mode=mode``: its status and output."""
    (folder / "pytest.ini").write_text("[pytest]\ntrio_mode = true\n")
    (folder / "test_inner.py").write_text(INNER)
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"]
    result = await trio.run_process(
        [*command, f"--record-mode={mode}", "test_inner.py"],
        cwd=folder,
        env={**os.environ, "CITIES": cities},
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    return result.returncode, result.stdout.decode() + result.stderr.decode()


async def test_the_pytest_plugin_records_then_replays_by_record_mode(tmp_path: Path) -> None:
    async def run(mode: str) -> tuple[int, str]:
        return await run_inner_test(tmp_path, mode)

    status, out = await run("none")
    assert status == 1
    assert "record it once" in out
    status, out = await run("once")
    assert status == 0, out
    assert "REAL REQUESTS 1" in out
    assert (tmp_path / "cassettes" / "test_inner" / "test_weather.json").exists()
    status, out = await run("none")
    assert status == 0, out
    assert "REAL REQUESTS 0" in out  # replayed: the real server never asked
    status, out = await run("all")
    assert status == 0, out
    assert "REAL REQUESTS 1" in out


async def test_faults_play_on_top_of_a_recording(
    tmp_path: Path, api: str, http_library: str, autojump_clock: trio.testing.MockClock
) -> None:
    cassette = tmp_path / "faults.json"
    async with open_chat_server(REPLY) as server:
        recorded, _ = await stream_once(server.base_url, http_library, api, cassette)
    count = len(load_cassette(cassette)[0]["response"]["chunks"])
    assert count > 4

    async def replay(fault: ReplayFault, **options: Any) -> tuple[list[Event], Any]:
        async with open_cassette_server(cassette, speed=0, faults={0: fault}) as server:
            return await stream_once(server.base_url, http_library, api, **options)

    events, error = await replay(ReplayFault(cut_after=3), max_retries=0)
    assert isinstance(error, StreamError)
    assert 0 < len(events) < len(recorded)
    assert events == recorded[: len(events)]
    events, error = await replay(ReplayFault(error={"message": "Overloaded"}, error_after=2))
    assert isinstance(error, ChatSSEError)
    assert "Overloaded" in str(error)
    assert events == recorded[: len(events)]
    stall = ReplayFault(stall=30, stall_after=2)
    events, error = await replay(stall, idle_timeout=5, max_retries=0)
    assert isinstance(error, IdleTimeoutError)
    assert events == recorded[: len(events)]
    events, error = await replay(ReplayFault(stall=3, stall_after=2), idle_timeout=5)
    assert error is None
    assert events == recorded


async def test_bad_faults_fail_before_the_server_listens(tmp_path: Path) -> None:
    cassette = tmp_path / "one.json"
    async with open_chat_server(Reply(text="hi")) as server:
        await stream_once(server.base_url, "httpx", "chat", cassette)
    with pytest.raises(ValueError, match="no exchange 1 in the cassette"):
        async with open_cassette_server(cassette, faults={1: ReplayFault(cut_after=1)}):
            pass  # pragma: no cover
    with pytest.raises(TypeError, match="not a ReplayFault"):
        async with open_cassette_server(cassette, faults={0: {"cut_after": 1}}):  # type: ignore[dict-item]
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="count of chunks"):
        ReplayFault(cut_after=-1)
    with pytest.raises(ValueError, match="seconds"):
        ReplayFault(stall=float("nan"))


async def test_record_can_append_to_a_cassette(tmp_path: Path) -> None:
    cassette = tmp_path / "grow.json"
    async with open_chat_server(default=Reply(text="hi")) as server:
        await stream_once(server.base_url, "httpx", "chat", cassette)
        async with httpx.AsyncClient(base_url=server.base_url) as real:
            async with record(real, cassette, append=True) as http:
                assert (await http.get("models")).status_code == 200
    paths = [exchange["request"]["path"] for exchange in load_cassette(cassette)]
    assert paths == ["/v1/chat/completions", "/v1/models"]


INNER = """
import httpx, os
from trio_chatsse import open_chat_stream
from trio_chatsse.testing import Reply, open_chat_server


async def test_weather(cassette):
    async with open_chat_server(default=Reply(text="Sunny.")) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as real:
            async with cassette(real) as http:
                for city in os.environ["CITIES"].split(","):
                    messages = [{"role": "user", "content": city}]
                    async with open_chat_stream(http, model="m", messages=messages) as stream:
                        await stream.final()
                    assert stream.text == "Sunny."
        print("REAL REQUESTS", len(server.requests))
"""


async def test_record_mode_new_adds_what_the_cassette_lacks(tmp_path: Path) -> None:
    cassette = tmp_path / "cassettes" / "test_inner" / "test_weather.json"

    async def run(mode: str, cities: str) -> tuple[int, str]:
        return await run_inner_test(tmp_path, mode, cities)

    status, out = await run("once", "Oslo")
    assert (status, "REAL REQUESTS 1" in out) == (0, True), out
    status, out = await run("none", "Oslo,Paris")
    assert status == 1
    assert "no recorded exchange matches" in out
    status, out = await run("new", "Oslo,Paris")
    assert status == 0, out
    assert "REAL REQUESTS 1" in out  # Oslo replayed, Paris sent and added
    assert len(load_cassette(cassette)) == 2
    status, out = await run("none", "Oslo,Paris")
    assert (status, "REAL REQUESTS 0" in out) == (0, True), out
    # A VCR cassette of the test, without a JSON one, is replayed too.
    from .test_vcr_cassettes import vcr_yaml

    cassette.with_suffix(".yaml").write_text(vcr_yaml(load_cassette(cassette), "text"))
    cassette.unlink()
    status, out = await run("none", "Oslo,Paris")
    assert (status, "REAL REQUESTS 0" in out) == (0, True), out
