"""The consumer's side of a stream: :class:`ChatStream`, which the reader task feeds.

It reads events from the memory channel, raises the error the reader recorded after every event
before it, and keeps the done items and ``Completed`` as they pass, for the whole answer and the
next turn of an agent loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, NoReturn, final

import trio

from ._errors import StreamError
from ._models import (
    Completed,
    Event,
    FunctionCall,
    Message,
    OutputItemDone,
    OutputText,
    OutputTextDelta,
    TokenUsage,
    text_of,
)
from ._parsers import ResponseCursor
from ._structured import OutputT, PartialReader
from ._telemetry import StreamStats
from ._turns import ReasoningPolicy, input_items

if TYPE_CHECKING:
    from ._apis import WireAPISpec
    from ._clients import HTTPResponse
    from ._models import Item
    from ._stream_state import StreamState
    from ._structured import OutputSpec

__all__ = ["ChatStream"]


@final
class ChatStream(Generic[OutputT]):
    """The events of one response, in order: ``async for event in stream``.

    Yielded by :func:`~trio_chatsse.open_chat_stream`,
    :func:`~trio_chatsse.open_responses_stream` and :func:`open_event_stream`; use it only
    inside their ``async with`` block. A documented error is raised from the iteration
    at the point where it happened, after every event that came before it. The done items
    and the :class:`~trio_chatsse.Completed` event are also kept here as they pass, so after
    the loop (or after :meth:`final`) the whole answer can be read back.

    A stream opened with ``output_type=M`` is a ``ChatStream[M]``: :meth:`partial_output`
    and :meth:`partial_outputs` show the typed output while it is written, and
    :meth:`final_output` returns the validated ``M``.
    """

    def __init__(
        self,
        receive: trio.MemoryReceiveChannel[Event],
        state: StreamState,
        api: WireAPISpec,
        output: OutputSpec[OutputT] | None = None,
    ) -> None:
        self._receive = receive
        #: The reader's view of the stream (its parser, response, error and counts).
        self._state = state
        self._api = api
        #: Events received by the consumer.
        self._received = 0
        self._output: list[Item] = []
        #: The choice of each done item (``None`` on a stream of one answer).
        self._choice_of: list[int | None] = []
        self._output_spec = output
        #: The text deltas received, kept only for an ``output_type``'s partials.
        self._text_parts: list[str] | None = None if output is None else []
        self._partials: PartialReader[OutputT] | None = None
        self._result: OutputT | None = None
        #: The :class:`~trio_chatsse.Completed` event, once it has been received.
        self.completed: Completed | None = None

    @property
    def response(self) -> HTTPResponse | None:
        """The HTTP response, an ``httpx.Response`` or an ``httpx2.Response`` (its status, and
        headers such as a request id); ``None`` for :func:`open_event_stream`."""
        return self._state.response

    @property
    def stats(self) -> StreamStats:
        """Counts about the stream; see :class:`~trio_chatsse.telemetry.StreamStats`."""
        return self._state.stats

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> Event:
        # A cancellation point on every call, but no scheduling round trip while events are
        # buffered: receive_nowait() is several times cheaper than an awaited receive().
        await trio.lowlevel.checkpoint_if_cancelled()
        event: Event | None
        try:
            event = self._receive.receive_nowait()
        except trio.WouldBlock:
            event = await self._receive_or_end()
        except trio.EndOfChannel:
            event = None
        except trio.ClosedResourceError:
            raise trio.ClosedResourceError(
                "this stream was closed when its `async with` block ended: iterate it inside "
                "the block (after it, read stream.output, stream.text or stream.completed)"
            ) from None
        if event is None:
            # Outside the except blocks: the error keeps no trio exception as its context.
            self._raise_end()
        # What the stream keeps of the event (inline: this runs once per event).
        self._received += 1
        if event.__class__ is OutputItemDone:
            self._output.append(event.item)
            self._choice_of.append(event.choice)
        elif event.__class__ is Completed:
            self.completed = event
        elif (
            event.__class__ is OutputTextDelta
            and self._text_parts is not None
            and not event.choice  # with n > 1, the output is choice 0's
        ):
            self._text_parts.append(event.delta)
        return event

    async def _receive_or_end(self) -> Event | None:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            return None

    def _raise_end(self) -> NoReturn:
        if self._state.error is not None:
            raise self._state.error
        raise StopAsyncIteration

    async def final(self) -> Completed:
        """Read the rest of the stream and return its :class:`~trio_chatsse.Completed` event.

        Raises:
            ChatSSEError: Whatever error the rest of the stream raises.
            StreamError: The stream ended without a ``Completed`` event.
        """
        async for _ in self:
            pass
        if self.completed is None:
            raise StreamError("the stream ended without a Completed event")
        return self.completed

    def partial_output(self) -> Any:
        """The structured output as far as it has been received: ``None`` before its first
        ``{``, then an instance of the partial form of ``output_type`` (each field ``None``
        until it arrives; see the guide's "Structured output"), then, once the JSON is whole
        and valid, an instance of ``output_type`` itself.

        Cheap to call often: each call reads only the text received since the last one, and
        a stream whose partial is never asked for reads nothing. A field, once complete, never
        changes; a string being written only grows; the model's validators run on complete
        objects only. It follows the events your loop (or :meth:`partial_outputs`) received.

        Raises:
            RuntimeError: The stream was opened without ``output_type``.
        """
        if self._text_parts is None or self._output_spec is None:
            raise RuntimeError("partial_output() needs a stream opened with output_type=")
        if self._partials is None:
            self._partials = PartialReader(self._output_spec)
        return self._partials.partial(self._text_parts)

    async def partial_outputs(self) -> AsyncIterator[Any]:
        """Read the stream, yielding the :meth:`partial_output` each time it changed.

        It reads the events itself (use it instead of ``async for event in stream``; the
        done items and ``Completed`` are kept as usual) and never falls behind: when your
        loop body was slow, the events that came meanwhile are read at once and you get one
        partial, the latest. The last one yielded is the whole output once it is valid; then
        call :meth:`final_output` for the result or its error.

        Raises:
            ChatSSEError: Whatever error the stream raises, after the partials before it.
            RuntimeError: The stream was opened without ``output_type``.
        """
        last: Any = self.partial_output()
        if last is not None:
            yield last
        while True:
            try:
                await self.__anext__()
            except StopAsyncIteration:
                return
            while self._receive.statistics().current_buffer_used:
                await self.__anext__()  # buffered: returns at once
            partial = self.partial_output()
            if partial != last:
                last = partial
                yield partial

    async def final_output(self) -> OutputT:
        """Read the rest of the stream and return its output, validated as ``output_type``.

        Raises:
            OutputValidationError: The text is not JSON, fails validation (``errors`` holds
                pydantic's errors), was cut at the token limit, or is missing.
            OutputRefusedError: The model refused.
            ChatSSEError: Whatever error the rest of the stream raises.
            RuntimeError: The stream was opened without ``output_type``.
        """
        spec = self._output_spec
        if spec is None:
            raise RuntimeError("final_output() needs a stream opened with output_type=")
        if self._result is None:
            completed = await self.final()
            self._result = spec.result(self.output_of(0), completed.finish_reason)
        return self._result

    @property
    def cursor(self) -> ResponseCursor | None:
        """The position of a background Responses stream, as far as your loop has read it.

        A small value to persist, and to go on from with
        :func:`~trio_chatsse.background.resume_responses_stream` after a restart; ``None``
        on a stream that cannot be resumed, or before its response id is known.
        """
        parser = self._state.parser
        checkpoints, position = parser.checkpoints, parser.position
        if checkpoints is None or position is None:
            return None
        received, number = self._received, None
        for made, sequence_number in reversed(checkpoints):
            if made <= received:
                number = sequence_number
                break
        return ResponseCursor(position.response_id, number)

    @property
    def output(self) -> list[Item]:
        """The done items received so far, in order (a copy); every choice's, with ``n`` > 1
        (:meth:`output_of` gives one choice's). After an error, the message that was being
        written comes last, with the text you were given of it."""
        return [*self._output, *self._unfinished()]

    def _unfinished(self) -> list[Item]:
        """The message in progress when the stream failed, as far as it was given."""
        if self._state.error is None:
            return []
        text = self._state.parser.partial_text
        return [Message(content=[OutputText(text=text)])] if text else []

    def output_of(self, choice: int) -> list[Item]:
        """The done items of one choice of a Chat Completions stream with ``n`` > 1, in
        order; on a stream of one answer, choice 0 is all of :attr:`output`."""
        done = [
            item
            for item, of in zip(self._output, self._choice_of, strict=True)
            if (of or 0) == choice
        ]
        return done + self._unfinished() if choice == 0 else done

    @property
    def text(self) -> str:
        """The assistant's text from the done messages received so far (choice 0's, with
        ``n`` > 1); after an error, with the text you were given of the message in progress."""
        return text_of(self.output_of(0))

    @property
    def tool_calls(self) -> list[FunctionCall]:
        """The complete tool calls received so far, in order (choice 0's, with ``n`` > 1)."""
        return [item for item in self.output_of(0) if isinstance(item, FunctionCall)]

    @property
    def usage(self) -> TokenUsage | None:
        """Token usage from the :class:`~trio_chatsse.Completed` event, once received."""
        return None if self.completed is None else self.completed.token_usage

    def assistant_message(
        self,
        *,
        reasoning: ReasoningPolicy = "with_tool_calls",
        reasoning_field: str | None = None,
        choice: int = 0,
    ) -> dict[str, object]:
        """The assistant message to append to ``messages`` for the next request of a loop.

        The text, the tool calls, and the provider state the next request needs (Gemini's
        thought signatures, OpenRouter's ``reasoning_details``, DeepSeek's
        ``reasoning_content`` after tool calls), each where its provider expects it. Call it
        after the stream ended (``await stream.final()``). The same as
        :func:`~trio_chatsse.assistant_message` over :attr:`output`; see there for the
        arguments. With ``n`` > 1, ``choice`` picks the answer that goes on (0 by default).
        """
        self._check_whole("assistant_message")
        return self._api.assistant_message(self.output_of(choice), reasoning, reasoning_field)

    def input_items(self, *, store: bool = False) -> list[dict[str, object]]:
        """The Responses API input items that carry this response into the next request.

        The counterpart of :meth:`assistant_message` for
        :func:`~trio_chatsse.open_responses_stream`: append them to ``input``, then your
        ``function_call_output`` items. The same as :func:`~trio_chatsse.input_items` over
        :attr:`output`; see there for ``store``.
        """
        self._check_whole("input_items")
        return input_items(self._output, store=store)

    def _check_whole(self, what: str) -> None:
        """A next turn is built from a whole answer only: a partial one would be sent back
        to the model as if it were what it said."""
        if self.completed is not None:
            return
        why = (
            f"it ended with {type(self._state.error).__name__}"
            if self._state.error is not None
            else "it has not ended (or the loop left it early)"
        )
        raise RuntimeError(
            f"{what}() needs the whole answer, and {why}: call `await stream.final()` first "
            f"(or build a partial turn yourself from stream.output with "
            f"trio_chatsse.{'assistant_message' if what == 'assistant_message' else what}())"
        )
