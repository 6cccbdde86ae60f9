"""Fixtures: a task-leak checker, the embedded server, and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from trio_chatsse.testing import ChatServer, open_chat_server

from .helpers import LIBRARIES, HTTPClient, new_client


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-stress", action="store_true", help="run the heavy stress tests")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stress: heavy reliability tests (nox -s stress)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-stress"):
        return
    skip = pytest.mark.skip(reason="stress test: run with nox -s stress (--run-stress)")
    for item in items:
        if "stress" in item.keywords:
            item.add_marker(skip)


class TaskTracker(trio.abc.Instrument):
    """Counts the library's tasks spawned and exited, to fail tests that leak one."""

    def __init__(self) -> None:
        self.alive: set[trio.lowlevel.Task] = set()
        self.spawned = 0

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        if task.name.startswith("trio_chatsse._stream"):
            self.alive.add(task)
            self.spawned += 1

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self.alive.discard(task)


@pytest.fixture
async def tasks() -> AsyncIterator[TaskTracker]:
    """Tracks reader tasks; the test fails if one is still alive at its end."""
    tracker = TaskTracker()
    trio.lowlevel.add_instrument(tracker)
    yield tracker
    trio.lowlevel.remove_instrument(tracker)
    assert tracker.alive == set(), f"leaked tasks: {tracker.alive}"


@pytest.fixture
async def chat_server() -> AsyncIterator[ChatServer]:
    """The embedded OpenAI-compatible server on 127.0.0.1, port 0."""
    async with open_chat_server() as server:
        yield server


@pytest.fixture(params=["chat", "responses", "messages", "ollama", "gemini"])
def api(request: pytest.FixtureRequest) -> str:
    """The wire API a test streams with: the shell's fault and cleanup tests run with each."""
    name: str = request.param
    return name


@pytest.fixture(params=LIBRARIES)
def http_library(request: pytest.FixtureRequest) -> str:
    """The client library a test runs with: each test that takes one runs with both."""
    library: str = request.param
    return library


@pytest.fixture
async def http(chat_server: ChatServer, http_library: str) -> AsyncIterator[HTTPClient]:
    """A client for :func:`chat_server`, of each library in turn."""
    async with new_client(http_library, base_url=chat_server.base_url, timeout=10) as client:
        yield client
