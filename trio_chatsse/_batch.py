"""Many requests at once: :func:`open_batch` streams each one (timeouts, retries and a shared
:class:`~trio_chatsse.Limiter` apply) and hands back its result as soon as it finishes.

One nursery: a feeder task reads the requests as they are needed, ``concurrency`` workers
run them, results come through a bounded channel. Memory stays bounded whatever the size of
the input; leaving the block cancels what is still running.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import trio

from ._apis import wire_api
from ._batch_bodies import BatchRequest, BatchResult, read_request
from ._errors import ChatSSEError, HTTPStatusError, LimiterUnavailableError
from ._nursery import open_background_nursery
from ._open import open_body_stream

if TYPE_CHECKING:
    from ._clients import AsyncClient
    from ._limiter import Limiter

__all__ = ["open_batch"]


@asynccontextmanager
async def open_batch(
    client: AsyncClient,
    requests: Iterable[object] | AsyncIterable[object],
    *,
    concurrency: int = 16,
    limiter: Limiter | None = None,
    idle_timeout: float = 300.0,
    first_byte_timeout: float | None = None,
    max_retries: int = 2,
) -> AsyncGenerator[trio.MemoryReceiveChannel[BatchResult], None]:
    """Run many requests, ``concurrency`` at a time; yield their results as they finish.

    Example::

        lines = (json.loads(line) for line in open("batch.jsonl"))
        async with open_batch(http, lines, concurrency=50, limiter=Limiter()) as results:
            async for result in results:
                print(result.custom_id, result.status_code)

    Args:
        client: An ``httpx.AsyncClient`` or ``httpx2.AsyncClient`` with the base URL and the
            authentication, as for :func:`~trio_chatsse.open_chat_stream`.
        requests: Lines of an OpenAI Batch API input file, parsed: ``{"custom_id", "method":
            "POST", "url": "/v1/chat/completions" | "/v1/responses" | "/v1/messages",
            "body"}``; an iterable or an async iterable, read only as fast as the requests
            are sent.
        concurrency: Requests in flight at once.
        limiter: A :class:`~trio_chatsse.Limiter` the requests share (with each other, and
            with any other stream given it).
        idle_timeout: As for :func:`~trio_chatsse.open_chat_stream`.
        first_byte_timeout: As for :func:`~trio_chatsse.open_chat_stream`.
        max_retries: As for :func:`~trio_chatsse.open_chat_stream`.

    Yields:
        A channel of :class:`BatchResult`, in order of completion: a response (its status, its
        body as the API would have answered without ``stream: true``), an HTTP error status
        with the server's error body, or an ``error`` (a bad line, a stream that failed).

    Raises:
        Exception: What reading ``requests`` raised (a ``json.loads`` of a blank line, say),
            as itself, once the requests read before it are done and their results given:
            the channel ends there, and the error comes out of the ``async with``.
        LimiterUnavailableError: The limiter's Redis could not be reached: not any one
            request's failure, so the batch stops the same way, and the requests not sent
            get no result (a rerun sends them).
        ValueError: ``concurrency`` is not 1 or more.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be 1 or more, not {concurrency!r}")
    options: dict[str, Any] = {
        "idle_timeout": idle_timeout,
        "first_byte_timeout": first_byte_timeout,
        "max_retries": max_retries,
        "limiter": limiter,
    }
    #: An error of the ``requests`` iterable, raised from the block once the requests read
    #: before it are done (never inside an ExceptionGroup).
    failure: list[Exception] = []
    #: The limiter's, which stops the batch: what is read after it is not sent.
    stopped: list[LimiterUnavailableError] = []
    send_work, receive_work = trio.open_memory_channel[BatchRequest](0)
    send_result, receive_result = trio.open_memory_channel[BatchResult](concurrency)

    async def feed(send_errors: trio.MemorySendChannel[BatchResult]) -> None:
        async def put(line: object) -> None:
            request = read_request(line)
            if isinstance(request, BatchResult):
                await send_errors.send(request)
            else:
                await send_work.send(request)

        async with send_work, send_errors:
            try:
                if isinstance(requests, AsyncIterable):
                    async for line in requests:
                        await put(line)
                else:
                    for line in requests:
                        await put(line)
            except Exception as exc:  # the input's own error: raised as itself at the end
                failure.append(exc)

    async def work(send: trio.MemorySendChannel[BatchResult]) -> None:
        async with send:
            async for request in receive_work:
                if stopped:
                    continue
                try:
                    result = await _run(client, request, options)
                except LimiterUnavailableError as exc:
                    stopped.append(exc)
                    continue
                await send.send(result)

    with receive_result, receive_work:  # closed after the tasks are cancelled and done
        async with open_background_nursery() as nursery:
            async with send_result:
                for _ in range(concurrency):
                    nursery.start_soon(work, send_result.clone())
                nursery.start_soon(feed, send_result.clone())
            yield receive_result
            if failure or stopped:
                raise (failure or stopped)[0]


async def _run(client: Any, request: BatchRequest, options: dict[str, Any]) -> BatchResult:
    api = wire_api(request.api)
    try:
        async with open_body_stream(client, request.api, request.body, **options) as stream:
            completed = await stream.final()
            output = stream.output
            request_id = _request_id(stream.response)
    except LimiterUnavailableError:
        raise  # not this request's failure: the batch's
    except HTTPStatusError as error:
        body_out: dict[str, object] = (
            {"error": error.error} if error.error is not None else _error_body(error.body)
        )
        return BatchResult(
            request.custom_id, error.status_code, body_out, request_id=error.request_id
        )
    except ChatSSEError as error:
        failure: dict[str, object] = {"code": type(error).__name__, "message": error.message}
        return BatchResult(request.custom_id, error=failure)
    except (TypeError, ValueError) as error:
        return BatchResult(
            request.custom_id, error={"code": "invalid_request", "message": str(error)}
        )
    usage = completed.token_usage
    return BatchResult(
        request.custom_id,
        200,
        api.non_streamed_body(str(request.body["model"]), output, completed),
        request_id=request_id,
        total_tokens=0 if usage is None else usage.total_tokens,
    )


def _request_id(response: Any) -> str | None:
    if response is None:
        return None
    value = response.headers.get("x-request-id") or response.headers.get("request-id")
    return value if isinstance(value, str) else None


def _error_body(text: str) -> dict[str, object]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"error": {"message": text}}
    return parsed if isinstance(parsed, dict) else {"error": {"message": text}}
