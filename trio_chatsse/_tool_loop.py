"""The tool loop under structured concurrency: stream a turn, run the tools it calls while the
model is still writing, send the results back, repeat.

Theory of operation
-------------------
One nursery per loop. A driver task runs the turns, one stream per turn through the public
opener of the API; it passes each stream event into the loop's channel (bounded, as the
stream's), and each done ``FunctionCall`` becomes a call at once: queued for the dispatcher,
which starts calls in the model's order as the one :class:`trio.CapacityLimiter` of the run
lets them (``tool_concurrency``; 1 with ``sequential_tools``), or held for approval. A call's
task runs the tool (``_tools.Tool.run``: never raises but ``Cancelled``) and sends its
:class:`ToolResult`. When the turn's stream has ended and every call of it is answered, the
turn and its results go into the history in the API's own form and the next request goes out.

Errors travel in-band, as in the shell: the driver records a turn's error and closes the
channel; the consumer raises it after every event before it. Leaving the block cancels the
driver and every running tool (a sync tool's thread is abandoned), and then answers every call
the history holds ("cancelled", or "not approved" for a call still waiting for approval), so
the conversation can always go on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import trio
from pydantic import BaseModel, ConfigDict

from ._apis import WireAPI, wire_api
from ._arguments import message_list
from ._errors import StreamError
from ._models import Completed, Event, FunctionCall, OutputItemDone
from ._nursery import open_background_nursery
from ._openers import OPENERS
from ._stream import CHANNEL_SIZE, require_trio
from ._tool_turns import AnsweredCall
from ._tools import Tool, ToolOutcome, tools_by_name

if TYPE_CHECKING:
    from ._apis import WireAPISpec
    from ._clients import AsyncClient

__all__ = ["LoopEvent", "ToolApprovalRequest", "ToolLoop", "ToolResult", "open_tool_loop"]

logger = logging.getLogger(__name__)

#: The answer of a call the loop was left before it finished.
CANCELLED = "cancelled"
#: The answer of a call denied, or left waiting for approval.
NOT_APPROVED = "not approved"


class _LoopEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ToolResult(_LoopEvent):
    """A call of the turn is answered: what goes back to the model, and what went wrong."""

    type: Literal["tool_loop.tool_result"] = "tool_loop.tool_result"
    call_id: str
    """The call's id (``FunctionCall.call_id``)."""
    name: str
    """The tool called."""
    output: str
    """The text sent back: the tool's return value (JSON unless a string), or the error."""
    error: str | None = None
    """``None``, or what went wrong: the tool raised, the arguments were invalid, the name is
    unknown, the timeout passed, the call was denied."""
    duration: float = 0.0
    """Seconds the call ran (0 for one that never ran)."""


class ToolApprovalRequest(_LoopEvent):
    """A call of a ``needs_approval`` tool waits: :meth:`ToolLoop.approve` starts it,
    :meth:`ToolLoop.deny` answers it. The loop goes on with the other calls meanwhile."""

    type: Literal["tool_loop.approval_request"] = "tool_loop.approval_request"
    call_id: str
    """The call's id, for :meth:`ToolLoop.approve` and :meth:`ToolLoop.deny`."""
    name: str
    """The tool the model called."""
    arguments: str
    """The arguments, as the model wrote them (JSON text)."""


#: What a tool loop yields: every stream event, and the loop's own.
LoopEvent = Event | ToolResult | ToolApprovalRequest


class _Call:
    """One call of a turn, from its done item to its answer."""

    __slots__ = ("answered", "item", "result", "tool")

    def __init__(self, item: FunctionCall, tool: Tool | None) -> None:
        self.item = item
        self.tool = tool
        self.result: ToolResult | None = None
        self.answered = trio.Event()

    def answer(self, output: str, error: str | None, duration: float = 0.0) -> ToolResult:
        item = self.item
        self.result = ToolResult(
            call_id=item.call_id, name=item.name, output=output, error=error, duration=duration
        )
        self.answered.set()
        return self.result


class ToolLoop:
    """The events of every turn of a tool loop, in order: ``async for event in loop``.

    Yielded by :func:`open_tool_loop`; use it inside its ``async with`` block. Each turn's
    stream events come as a stream gives them (each turn ends with its own
    :class:`~trio_chatsse.Completed`), with the loop's own :class:`ToolResult` and
    :class:`ToolApprovalRequest` events among them. A documented error is raised from the
    iteration after every event before it.
    """

    def __init__(self, receive: trio.MemoryReceiveChannel[LoopEvent], driver: _Driver) -> None:
        self._receive = receive
        self._driver = driver

    @property
    def history(self) -> list[dict[str, object]]:
        """The conversation so far, in the API's own input form.

        The messages (or input) given, then each assistant turn with its provider state and
        the results of its calls; ready for the next ``open_*_stream`` or ``open_tool_loop``.
        After the block, every call it holds has a result."""
        return self._driver.history

    @property
    def turns(self) -> int:
        """Model turns streamed to their end so far."""
        return self._driver.turns

    def __aiter__(self) -> ToolLoop:
        return self

    async def __anext__(self) -> LoopEvent:
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            return self._receive.receive_nowait()
        except trio.WouldBlock:
            pass
        except trio.EndOfChannel:
            return self._end()
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            pass
        return self._end()

    def _end(self) -> NoReturn:
        # Raised outside any except block, so that no trio exception hangs in its context.
        if self._driver.error is not None:
            raise self._driver.error
        raise StopAsyncIteration

    def approve(self, call_id: str) -> None:
        """Start a call that waits for approval.

        Raises:
            KeyError: No call with that id waits for approval (it was answered, or never
                asked for one).
        """
        self._driver.approve(call_id)

    def deny(self, call_id: str, reason: str = NOT_APPROVED) -> None:
        """Answer a call that waits for approval with ``reason``, without running it.

        Raises:
            KeyError: No call with that id waits for approval.
        """
        self._driver.deny(call_id, reason)


class _Driver:
    """The loop's task: the turns, the calls, the history."""

    def __init__(
        self,
        send: trio.MemorySendChannel[LoopEvent],
        api: WireAPISpec,
        request: dict[str, Any],
        tools: Mapping[str, Tool],
        history: list[dict[str, object]],
        max_turns: int,
        concurrency: int,
    ) -> None:
        self._send, self._api, self._request, self._tools = send, api, request, tools
        self._max_turns = max_turns
        self._limiter = trio.CapacityLimiter(concurrency)
        self._queue_send, self._queue_receive = trio.open_memory_channel[_Call](math.inf)
        self._nursery: trio.Nursery | None = None
        #: The conversation so far (see :attr:`ToolLoop.history`).
        self.history = history
        #: Model turns streamed to their end.
        self.turns = 0
        #: The error that ended the loop, once it did.
        self.error: Exception | None = None
        #: The calls waiting for approval, by id.
        self.waiting: dict[str, _Call] = {}
        #: The calls of the turn the history holds last, until their results are added.
        self.unanswered: list[_Call] = []

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._dispatch, nursery)
                try:
                    await self._turns()
                except Exception as exc:
                    self.error = exc
                nursery.cancel_scope.cancel()  # the dispatcher; every call is answered
        finally:
            self._send.close()

    def approve(self, call_id: str) -> None:
        self._queue_send.send_nowait(self._pop_waiting(call_id))

    def deny(self, call_id: str, reason: str) -> None:
        call = self._pop_waiting(call_id)
        result = call.answer(reason, NOT_APPROVED)
        if self._nursery is not None:
            self._nursery.start_soon(self._send.send, result)

    def _pop_waiting(self, call_id: str) -> _Call:
        call = self.waiting.pop(call_id, None)
        if call is None:
            waiting = ", ".join(self.waiting) or "none"
            raise KeyError(f"no call {call_id!r} waits for approval (waiting: {waiting})")
        return call

    async def _turns(self) -> None:
        api = self._api
        definitions = [tool.definition() for tool in self._tools.values()]
        tool_turns = 0
        while True:
            last = tool_turns >= self._max_turns
            request = {**self._request, api.conversation: list(self.history)}
            if definitions and not (last and not api.has_tool_choice):
                request["tools"] = definitions
                if last:
                    request["tool_choice"] = "none"
            calls: list[_Call] = []
            async with OPENERS[api.name](**request) as stream:
                async for event in stream:
                    if event.__class__ is Completed:
                        # Into the history before the consumer sees the turn end.
                        self.turns += 1
                        self.history.extend(api.turn_of(stream.output_of(0)))
                        self.unanswered = calls
                    await self._send.send(event)
                    if event.__class__ is OutputItemDone:
                        item = event.item
                        if isinstance(item, FunctionCall):
                            calls.append(await self._call(item, start=not last))
            if stream.completed is None:  # the iteration raises first; this is a guard
                raise StreamError("the turn's stream ended without a Completed event")
            if not calls:
                return
            if last:
                for call in calls:
                    reason = "not run: the loop reached max_turns"
                    await self._send.send(call.answer(f"Error: {reason}", reason))
            for call in calls:
                await call.answered.wait()
            self.add_results()
            if last:
                return
            tool_turns += 1

    async def _call(self, item: FunctionCall, *, start: bool) -> _Call:
        """A done call: answered at once (unknown name), held for approval, or queued."""
        tool = self._tools.get(item.name)
        call = _Call(item, tool)
        if not start:
            return call
        if tool is None:
            known = ", ".join(self._tools) or "none"
            error = f"unknown tool {item.name!r}; the tools are: {known}"
            await self._send.send(call.answer(f"Error: {error}", error))
        elif tool.needs_approval:
            self.waiting[item.call_id] = call
            request = ToolApprovalRequest(
                call_id=item.call_id, name=item.name, arguments=item.arguments
            )
            await self._send.send(request)
        else:
            self._queue_send.send_nowait(call)
        return call

    async def _dispatch(self, nursery: trio.Nursery) -> None:
        """Start the queued calls in the model's order, as the limiter lets them."""
        async for call in self._queue_receive:
            await self._limiter.acquire_on_behalf_of(call)
            nursery.start_soon(self._execute, call)

    async def _execute(self, call: _Call) -> None:
        assert call.tool is not None
        started = trio.current_time()
        try:
            outcome: ToolOutcome = await call.tool.run(call.item.arguments)
        finally:
            self._limiter.release_on_behalf_of(call)
        duration = trio.current_time() - started
        await self._send.send(call.answer(outcome.output, outcome.error, duration))

    def add_results(self) -> None:
        """The results of the last turn's calls into the history; a call not answered is
        answered first: "not approved" if it waits for approval, else "cancelled"."""
        answered = []
        for call in self.unanswered:
            result = call.result
            if result is None:
                waiting = self.waiting.pop(call.item.call_id, None) is not None
                reason = NOT_APPROVED if waiting else CANCELLED
                result = call.answer(reason, reason)
            item = call.item
            is_error = result.error is not None
            answered.append(AnsweredCall(item.call_id, item.name, result.output, is_error))
        self.history.extend(self._api.tool_results(answered))
        self.unanswered = []


@asynccontextmanager
async def open_tool_loop(
    client: AsyncClient,
    *,
    api: WireAPI = "chat",
    model: str,
    messages: Sequence[Mapping[str, object]] | None = None,
    input: str | Sequence[Mapping[str, object]] | None = None,
    tools: Sequence[object],
    max_turns: int = 10,
    tool_concurrency: int = 8,
    sequential_tools: bool = False,
    **options: Any,
) -> AsyncGenerator[ToolLoop, None]:
    """Run an agent's tool loop: stream a turn, run the tools it calls, send the results
    back, until the model answers without calling a tool.

    Each turn is one stream through :func:`~trio_chatsse.open_chat_stream`,
    :func:`~trio_chatsse.open_responses_stream` or :func:`~trio_chatsse.open_messages_stream`,
    with ``options``. A call starts the moment its done item arrives, while the model is
    still writing the rest of the turn; the next request goes out when the turn has ended and
    every call of it is answered. A tool's failure (an exception, invalid arguments, an unknown
    name, its timeout) is sent back to the model as that call's result, and the loop goes on.

    On every exit of the block — the end, a ``break``, an exception, a cancellation — the
    running tools are cancelled (their ``finally`` blocks run; a sync tool's thread is
    abandoned), the open stream is closed, no task is left, and :attr:`ToolLoop.history` holds
    a result for every call it holds (``"cancelled"`` for the ones that did not finish).

    Example::

        async def get_weather(city: str) -> str:
            "The current weather in a city."
            ...

        async with open_tool_loop(
            http, model="m", messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[get_weather],
        ) as loop:
            async for event in loop:
                ...
        messages = loop.history  # the conversation, ready for the next turn

    Args:
        client: An ``httpx.AsyncClient`` or an ``httpx2.AsyncClient``, as for the openers.
        api: The wire API: ``"chat"``, ``"responses"``, ``"messages"``, ``"gemini"`` or
            ``"ollama"``.
        model: The model name.
        messages: The conversation (every API but ``responses``), in the API's form: Gemini's
            ``contents``, Ollama's and Anthropic's messages.
        input: The input (``responses``): a string or a list of input items.
        tools: Plain functions (sync or async, their parameters annotated) or
            :func:`~trio_chatsse.tool` objects.
        max_turns: When this many model turns have asked for tools, their calls are answered
            and one last request, with tool choice ``"none"``, asks for a text answer.
        tool_concurrency: Calls running at once, across the whole run.
        sequential_tools: Run calls one at a time, in the model's order.
        **options: The opener's options, for every turn: timeouts, retries, ``limiter``,
            ``max_tokens`` and ``system`` (Messages), ``instructions`` (Responses), request
            fields.

    Yields:
        The :class:`ToolLoop` to iterate.

    Raises:
        ChatSSEError: A turn's error, after the events before it.
        TypeError: A tool that cannot be described (see :func:`~trio_chatsse.tool`), or
            ``messages`` / ``input`` given to the wrong API.
        ValueError: ``api``, ``max_turns`` or ``tool_concurrency`` out of range.
    """
    require_trio("open_tool_loop")
    spec = wire_api(api)
    by_name = tools_by_name(tools)
    if max_turns < 0:
        raise ValueError(f"max_turns must be 0 or more, not {max_turns!r}")
    if tool_concurrency < 1:
        raise ValueError(f"tool_concurrency must be 1 or more, not {tool_concurrency!r}")
    history = _history(spec, messages, input)
    if "tools" in options or spec.conversation in options:
        raise TypeError("open_tool_loop() takes the tools as functions: tools=[...]")
    send, receive = trio.open_memory_channel[LoopEvent](CHANNEL_SIZE)
    request = {"client": client, "model": model, **options}
    concurrency = 1 if sequential_tools else tool_concurrency
    driver = _Driver(send, spec, request, by_name, history, max_turns, concurrency)
    try:
        with send, receive:
            async with open_background_nursery() as nursery:
                nursery.start_soon(driver.run)
                yield ToolLoop(receive, driver)
    finally:
        if driver.unanswered:
            driver.add_results()
        driver.waiting.clear()  # a call of a turn left unfinished: not in the history


def _history(
    api: WireAPISpec,
    messages: Sequence[Mapping[str, object]] | None,
    input: str | Sequence[Mapping[str, object]] | None,
) -> list[dict[str, object]]:
    """The conversation the loop starts from, as a list in the API's input form: ``input=``
    for the Responses API, ``messages=`` for the others (Gemini's ``contents``)."""
    wants_input = api.conversation == "input"
    given, wrong = (input, messages) if wants_input else (messages, input)
    name, other = ("input", "messages") if wants_input else ("messages", "input")
    if wrong is not None:
        raise TypeError(f"the {api.name} API takes its conversation as {name}=, not {other}=")
    if given is None:
        raise TypeError(f"open_tool_loop(api={api.name!r}) needs {name}=")
    if isinstance(given, str):
        return [{"role": "user", "content": given}]
    return [dict(message) for message in message_list(given, name)]  # type: ignore[call-overload]  # checked: each a Mapping
