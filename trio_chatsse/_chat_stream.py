"""The consumer's side of a stream: :class:`ChatStream`, which the reader task feeds.

It reads events from the memory channel, raises the error the reader recorded after every event
before it, and keeps the done items and ``Completed`` as they pass, for the whole answer and the
next turn of an agent loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, final

import trio

from ._errors import StreamError
from ._models import Completed, Event, FunctionCall, Message, OutputItemDone, OutputText, TokenUsage
from ._telemetry import StreamStats
from ._turns import ReasoningPolicy, input_items

if TYPE_CHECKING:
    from ._apis import WireAPISpec
    from ._clients import HTTPResponse
    from ._models import Item
    from ._parsers import EventParser

__all__ = ["ChatStream", "ResponseCursor"]


class ResponseCursor(NamedTuple):
    """Where a background Responses stream stands: its response id and the
    ``sequence_number`` of the last event you read (``None`` before any)."""

    response_id: str
    sequence_number: int | None


@final
class ChatStream:
    """The events of one response, in order: ``async for event in stream``.

    Yielded by :func:`~trio_chatsse.open_chat_stream`,
    :func:`~trio_chatsse.open_responses_stream` and :func:`open_event_stream`; use it only
    inside their ``async with`` block. A documented error is raised from the iteration
    at the point where it happened, after every event that came before it. The done items
    and the :class:`~trio_chatsse.Completed` event are also kept here as they pass, so after
    the loop (or after :meth:`final`) the whole answer can be read back.
    """

    def __init__(
        self,
        receive: trio.MemoryReceiveChannel[Event],
        response: HTTPResponse | None,
        api: WireAPISpec,
        parser: EventParser,
    ) -> None:
        self._receive = receive
        self._api = api
        #: The parser the reader uses now (a retry gives it a new one).
        self._parser = parser
        #: Events received by the consumer, and (in a resumable stream) the reader's
        #: checkpoints: (events sent so far, sequence_number read so far), one per SSE event.
        self._received = 0
        self._checkpoints: list[tuple[int, int]] | None = None
        self._error: BaseException | None = None
        self._output: list[Item] = []
        #: The HTTP response, an ``httpx.Response`` or an ``httpx2.Response`` (its status, and
        #: headers such as a request id); ``None`` for :func:`open_event_stream`.
        self.response = response
        #: The :class:`~trio_chatsse.Completed` event, once it has been received.
        self.completed: Completed | None = None
        #: Counts about the stream; see :class:`StreamStats`.
        self.stats = StreamStats()

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> Event:
        # A cancellation point on every call, but no scheduling round trip while events are
        # buffered: receive_nowait() is several times cheaper than an awaited receive().
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            event = self._receive.receive_nowait()
        except trio.WouldBlock:
            try:
                event = await self._receive.receive()
            except trio.EndOfChannel:
                self._raise_end()
        except trio.EndOfChannel:
            self._raise_end()
        except trio.ClosedResourceError:
            raise trio.ClosedResourceError(
                "this stream was closed when its `async with` block ended: iterate it inside "
                "the block (after it, read stream.output, stream.text or stream.completed)"
            ) from None
        self._received += 1
        if event.__class__ is OutputItemDone:
            self._output.append(event.item)
        elif event.__class__ is Completed:
            self.completed = event
        return event

    def _raise_end(self) -> None:
        if self._error is not None:
            raise self._error
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

    @property
    def cursor(self) -> ResponseCursor | None:
        """The position of a background Responses stream, as far as your loop has read it.

        A small value to persist, and to go on from with
        :func:`~trio_chatsse.resume_responses_stream` after a restart; ``None`` on a stream
        that cannot be resumed, or before its response id is known.
        """
        checkpoints = self._checkpoints
        response_id = getattr(self._parser, "response_id", "")
        if checkpoints is None or not response_id:
            return None
        received, number = self._received, None
        for sent, sequence_number in reversed(checkpoints):
            if sent <= received:
                number = sequence_number
                break
        return ResponseCursor(response_id, number)

    @property
    def output(self) -> list[Item]:
        """The done items received so far, in order (a copy)."""
        return list(self._output)

    @property
    def text(self) -> str:
        """The assistant's text from the done messages received so far."""
        return "".join(
            part.text
            for item in self._output
            if isinstance(item, Message)
            for part in item.content
            if isinstance(part, OutputText)
        )

    @property
    def tool_calls(self) -> list[FunctionCall]:
        """The complete tool calls received so far, in order."""
        return [item for item in self._output if isinstance(item, FunctionCall)]

    @property
    def usage(self) -> TokenUsage | None:
        """Token usage from the :class:`~trio_chatsse.Completed` event, once received."""
        return None if self.completed is None else self.completed.token_usage

    def assistant_message(
        self, *, reasoning: ReasoningPolicy = "with_tool_calls", reasoning_field: str | None = None
    ) -> dict[str, object]:
        """The assistant message to append to ``messages`` for the next request of a loop.

        The text, the tool calls, and the provider state the next request needs (Gemini's
        thought signatures, OpenRouter's ``reasoning_details``, DeepSeek's
        ``reasoning_content`` after tool calls), each where its provider expects it. Call it
        after the stream ended (``await stream.final()``). The same as
        :func:`~trio_chatsse.assistant_message` over :attr:`output`; see there for the
        arguments.
        """
        self._check_whole("assistant_message")
        return self._api.assistant_message(self._output, reasoning, reasoning_field)

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
            f"it ended with {type(self._error).__name__}"
            if self._error is not None
            else "it has not ended (or the loop left it early)"
        )
        raise RuntimeError(
            f"{what}() needs the whole answer, and {why}: call `await stream.final()` first "
            f"(or build a partial turn yourself from stream.output with "
            f"trio_chatsse.{'assistant_message' if what == 'assistant_message' else what}())"
        )
