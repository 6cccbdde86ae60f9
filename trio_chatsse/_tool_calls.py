"""Layer 2: tool calls assembled from Chat Completions fragments (a part of the chunk parser).

Theory of operation
-------------------
A tool call arrives as fragments spread over many chunks, and servers disagree on what each
fragment repeats. A fragment is matched to its call by ``index`` when it has one (vLLM and
OpenAI send ``id`` and ``name`` only in a call's first fragment), else by ``id`` (Gemini sends
no index), else by arrival order (a named fragment starts a call, an unnamed one continues the
last). The same index with a *different* id is a new call: servers that number every parallel
call 0 (older Ollama) are told apart that way, while llama.cpp, which repeats index, id and name
on every fragment, stays one call. A fragment's keys beside ``index``, ``id``, ``type`` and
``function`` (Gemini's ``extra_content``) are the provider's, kept on the call as they came.

By default a call produces nothing until the finish. With ``live`` on, a call produces an
``OutputItemAdded`` as soon as it has a name (the argument text that came before the name
follows it as one delta), then a ``FunctionCallArgumentsDelta`` per fragment with new text, and
at the finish ``FunctionCallArgumentsDone`` before its ``OutputItemDone``. Each piece of text
comes out once however the server repeats the fragment around it.

At the finish, a call that never received a name is dropped (it can be neither dispatched nor
sent back), with a WARNING. After ``tool_calls`` the named calls come out as they stand; after
any other finish only complete ones (arguments that parse as JSON) do, since ``stop`` with real
calls is how Gemini's OpenAI layer and older Ollama end them, and ``length`` cuts a call short.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Literal

from pydantic import JsonValue

from ._models import (
    Event,
    FunctionCall,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    OutputItemAdded,
    OutputItemDone,
    constructor,
)
from ._wire import arguments_are_whole

__all__ = ["ToolCallAssembler", "ToolCallsOnStop", "live_call_events"]

logger = logging.getLogger(__name__)

_arguments_delta = constructor(FunctionCallArgumentsDelta)

ToolCallsOnStop = Literal["emit", "drop"]
#: The keys of a tool-call fragment that are not the provider's own state.
_FRAGMENT_KEYS = frozenset({"index", "id", "type", "function"})


class _ToolCall:
    """A tool call being assembled from fragments."""

    __slots__ = ("arguments", "call_id", "name", "output_index", "provider_fields")

    def __init__(self) -> None:
        self.call_id = ""
        self.name = ""
        self.arguments: list[str] = []
        self.provider_fields: dict[str, JsonValue] = {}
        #: Set once its OutputItemAdded went out (live mode only).
        self.output_index: int | None = None

    def is_complete(self) -> bool:
        """A name, and arguments that parse as JSON."""
        return bool(self.name and self.arguments) and arguments_are_whole("".join(self.arguments))


class ToolCallAssembler:
    """Assembles the tool calls of one response and makes their events.

    The parser hands it each fragment with the list the fragment's events go to; ``allocate``
    gives the next ``output_index`` (live mode only).
    """

    def __init__(
        self,
        *,
        live: bool,
        tool_calls_on_stop: ToolCallsOnStop,
        allocate: Callable[[], int],
    ) -> None:
        self.live = live
        self.tool_calls_on_stop = tool_calls_on_stop
        self._allocate = allocate
        self.calls: list[_ToolCall] = []
        self._by_index: dict[int, _ToolCall] = {}
        self._by_id: dict[str, _ToolCall] = {}

    def feed(self, fragment: dict[str, object], out: list[Event], response_id: str) -> None:
        """Take one fragment (an entry of ``delta.tool_calls``, or a legacy ``function_call``
        wrapped as one with index -1)."""
        function = fragment.get("function")
        if type(function) is not dict:
            function = {}
        call_id = fragment.get("id")
        call_id = call_id if type(call_id) is str else ""
        name = function.get("name")
        name = name if type(name) is str else ""
        call = self._find(fragment.get("index"), call_id, name)
        if call_id and not call.call_id:
            call.call_id = call_id
            self._by_id[call_id] = call
        if name and not call.name:
            call.name = name
        if len(fragment) > 2:
            self._keep_provider_fields(call, fragment)
        arguments = function.get("arguments")
        if type(arguments) is str:
            text = arguments
        elif arguments is not None:
            # Some servers send the arguments as a JSON object rather than JSON text.
            text = json.dumps(arguments)
        else:
            text = ""
        if text:
            call.arguments.append(text)
        if not self.live:
            return
        if call.output_index is None:
            if call.name:
                self._add(call, out, response_id)
        elif text:
            out.append(
                _arguments_delta(
                    {
                        "delta": text,
                        "output_index": call.output_index,
                        "call_id": self._id(call, response_id),
                    }
                )
            )

    def finish(
        self, finish_reason: str, out: list[Event], response_id: str
    ) -> tuple[list[FunctionCall], int]:
        """End the calls at ``finish_reason``: append their done events to ``out``; return the
        calls that came out and how many (with an id or arguments) were dropped for want of
        a name."""
        complete_only = finish_reason not in ("tool_calls", "function_call")
        done: list[FunctionCall] = []
        unnamed = 0
        for call in self.calls:
            if not call.name:
                if call.arguments or call.call_id:  # not just an empty fragment
                    unnamed += 1
                    logger.warning(
                        "dropping a tool call that never received a function name (id %r)",
                        call.call_id[:80],
                    )
                continue
            if complete_only and not call.is_complete():
                logger.debug("dropping a partial tool call at finish_reason %r", finish_reason)
                continue
            if complete_only and finish_reason == "stop" and self.tool_calls_on_stop == "drop":
                logger.warning(
                    "dropping complete-looking tool call %r at finish_reason 'stop' "
                    "(tool_calls_on_stop='drop')",
                    call.name,
                )
                continue
            item = FunctionCall(
                call_id=self._id(call, response_id),
                name=call.name,
                arguments="".join(call.arguments),
                provider_fields=call.provider_fields,
            )
            if call.output_index is not None:
                out.append(
                    FunctionCallArgumentsDone(
                        arguments=item.arguments,
                        name=item.name,
                        output_index=call.output_index,
                        call_id=item.call_id,
                    )
                )
            out.append(OutputItemDone(item=item, output_index=call.output_index))
            done.append(item)
        self.calls.clear()
        return done, unnamed

    def _add(self, call: _ToolCall, out: list[Event], response_id: str) -> None:
        call.output_index = index = self._allocate()
        call_id = self._id(call, response_id)
        item = FunctionCall(
            call_id=call_id, name=call.name, arguments="", provider_fields=call.provider_fields
        )
        out.append(OutputItemAdded(item=item, output_index=index))
        if call.arguments:
            # The text that came before the name: one delta, so the deltas join to the whole.
            text = "".join(call.arguments)
            out.append(FunctionCallArgumentsDelta(delta=text, output_index=index, call_id=call_id))

    def _id(self, call: _ToolCall, response_id: str) -> str:
        """The call's id, or a stable one made up when the server sent none."""
        if call.call_id:
            return call.call_id
        position = self.calls.index(call)
        return f"call_{response_id}_{position}" if response_id else f"call_{position}"

    def _find(self, index: object, call_id: str, name: str) -> _ToolCall:
        if type(index) is int:
            call = self._by_index.get(index)
            # The same index with a different id is a new call (servers that number every
            # call 0); llama.cpp repeats the same id on every fragment, which stays one call.
            if call is not None and not (call_id and call.call_id and call_id != call.call_id):
                return call
            call = self._by_id.get(call_id) if call_id else None
            if call is None:
                call = self._new()
            self._by_index[index] = call
            return call
        if call_id:
            call = self._by_id.get(call_id)
            return call if call is not None else self._new()
        if name or not self.calls:
            return self._new()
        return self.calls[-1]

    def _new(self) -> _ToolCall:
        call = _ToolCall()
        self.calls.append(call)
        return call

    @staticmethod
    def _keep_provider_fields(call: _ToolCall, fragment: dict[str, object]) -> None:
        for key, value in fragment.items():
            if key not in _FRAGMENT_KEYS and value is not None:
                call.provider_fields[key] = value  # type: ignore[assignment]  # parsed JSON


def live_call_events(call: FunctionCall, index: int) -> list[Event]:
    """The live events of a call that came whole (Gemini, Ollama): its added event, its
    arguments as one delta, and arguments-done, before its done item."""
    added = OutputItemAdded(item=call.model_copy(update={"arguments": ""}), output_index=index)
    return [
        added,
        FunctionCallArgumentsDelta(delta=call.arguments, output_index=index, call_id=call.call_id),
        FunctionCallArgumentsDone(
            arguments=call.arguments, name=call.name, output_index=index, call_id=call.call_id
        ),
    ]
