"""``trio-chatsse batch``: an OpenAI Batch API input file run against any server, streamed,
resumable, with its output in the Batch API's output format."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import importlib.util
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ._batch import open_batch
from ._batch_bodies import BatchResult
from ._limiter import Limiter

if TYPE_CHECKING:
    from ._clients import HTTPClient

__all__ = ["add_batch_command", "check_batch_args", "run_batch_command"]

#: Seconds between two progress lines when standard error is not a terminal.
PROGRESS_EVERY = 5.0


def add_batch_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
    count: Callable[[int], Callable[[str], int]],
) -> None:
    """The ``batch`` subcommand's arguments."""
    batch = commands.add_parser(
        "batch",
        parents=parents,
        help="run an OpenAI Batch API file against any server",
        description=(
            "Send each request of an OpenAI Batch API input file (custom_id, method, url, "
            "body), streamed, and write each result as a Batch API output line. Run it again "
            "to go on: the custom_ids already in the output are skipped."
        ),
    )
    batch.add_argument("input", type=Path, help="the input .jsonl file")
    batch.add_argument("-o", "--output", type=Path, required=True, help="the output .jsonl")
    batch.add_argument("--concurrency", type=count(1), default=16, help="requests at once (16)")
    batch.add_argument("--rpm", type=count(1), help="requests per minute at most")
    batch.add_argument("--tpm", type=count(1), help="tokens per minute at most (estimated)")
    batch.add_argument("--max-retries", type=count(0), default=2, help="retries per request (2)")
    shared = batch.add_argument_group(
        "many processes",
        "Several batch processes or machines behind one key: share the limits in Redis, and "
        "split one input file between them.",
    )
    shared.add_argument(
        "--redis",
        metavar="URL",
        help="share --rpm, --tpm and what the server's headers say with every batch given "
        "the same --redis and --key (--concurrency stays each one's; needs the redis extra)",
    )
    shared.add_argument("--key", help="the shared limits' name in Redis")
    shared.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="run only the K-th of N parts of the input (by custom_id; 1/4 ... 4/4), "
        "each part with its own -o",
    )


def _shard(text: str) -> tuple[int, int]:
    """``K/N`` with ``1 <= K <= N``."""
    k, slash, n = text.partition("/")
    if slash and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n):
        return int(k), int(n)
    raise argparse.ArgumentTypeError(f"{text!r} is not K/N with 1 <= K <= N (as in 2/4)")


def shard_of(custom_id: str, shards: int) -> int:
    """Which of ``shards`` parts (1 to ``shards``) a custom_id belongs to: a stable hash, so
    every process and every rerun agrees."""
    digest = hashlib.blake2b(custom_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards + 1


def done_custom_ids(path: Path) -> set[str]:
    """The custom_ids an output file already holds (and ``line N`` for the error lines of
    input lines that had none); a last line cut short by a crash is removed, so that every
    line is whole."""
    done: set[str] = set()
    if not path.exists():
        return done
    good = 0
    with path.open("rb") as file:
        for raw in file:
            if not raw.endswith(b"\n"):
                break
            try:
                line = json.loads(raw)
            except ValueError:
                break
            custom_id = line.get("custom_id") if isinstance(line, dict) else None
            if isinstance(custom_id, str):
                done.add(custom_id)
            elif isinstance(line, dict) and isinstance(line.get("error"), dict):
                number = line["error"].get("line")
                if isinstance(number, int):
                    done.add(_line_key(number))
            good += len(raw)
    if good < path.stat().st_size:
        with path.open("rb+") as file:
            file.truncate(good)
    return done


def _line_key(number: int) -> str:
    """How an input line without a custom_id is known in the done set: by its number."""
    return f"line {number}"


class _Input:
    """The input's lines not done yet, read as they are needed; counts what it skipped. A line
    that cannot be sent (not JSON, no custom_id) becomes an error result here, with its line
    number; the others remember theirs for their error results."""

    def __init__(self, path: Path, done: set[str], shard: tuple[int, int] | None = None) -> None:
        self.path, self.done, self.shard = path, done, shard
        self.seen: set[str] = set()
        self.skipped = self.duplicates = 0
        #: Error results of lines that were not sent, not written yet.
        self.invalid: list[BatchResult] = []
        #: The input line of each custom_id sent.
        self.line_of: dict[str, int] = {}

    def lines(self) -> Iterator[object]:
        with self.path.open(encoding="utf-8") as file:
            for number, text in enumerate(file, 1):
                if not text.strip() or not self.is_mine(number, text):
                    continue
                if _line_key(number) in self.done:
                    self.skipped += 1
                    continue
                try:
                    line = json.loads(text)
                except ValueError as error:
                    self._invalid(number, None, f"not JSON ({error})")
                    continue
                custom_id = line.get("custom_id") if isinstance(line, dict) else None
                if not isinstance(custom_id, str) or not custom_id:
                    self._invalid(number, None, "custom_id must be a non-empty string")
                    continue
                if custom_id in self.done:
                    self.skipped += 1
                    continue
                if custom_id in self.seen:
                    self.duplicates += 1
                    continue
                self.seen.add(custom_id)
                self.line_of[custom_id] = number
                yield line

    def is_mine(self, number: int, text: str) -> bool:
        """Whether the line is this shard's: by its custom_id, or by its number when it has
        none (its error line is then written by exactly one shard)."""
        if self.shard is None:
            return True
        k, n = self.shard
        try:
            custom_id = json.loads(text).get("custom_id")
        except (ValueError, AttributeError):
            custom_id = None
        if isinstance(custom_id, str) and custom_id:
            return shard_of(custom_id, n) == k
        return number % n == k - 1

    def _invalid(self, number: int, custom_id: str | None, why: str) -> None:
        error = {"code": "invalid_request", "message": f"input line {number}: {why}"}
        self.invalid.append(BatchResult(custom_id, error={**error, "line": number}))

    def with_line(self, result: BatchResult) -> BatchResult:
        """An error result with the number of its input line."""
        number = self.line_of.get(result.custom_id or "")
        if result.error is None or number is None:
            return result
        return dataclasses.replace(result, error={**result.error, "line": number})


class _Progress:
    """Done/total, rate, tokens per second, errors and ETA: a bar on a terminal (tqdm, when
    installed), else a plain line every few seconds."""

    def __init__(self, total: int, err: IO[str]) -> None:
        self.total, self.err = total, err
        self.done = self.failed = self.tokens = 0
        self.started = self._shown = time.monotonic()
        self._bar: Any = None
        if err.isatty():
            try:  # optional: the [progress] extra
                tqdm = importlib.import_module("tqdm").tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=total, file=err, unit="req", dynamic_ncols=True)

    def add(self, result: BatchResult) -> None:
        self.done += 1
        self.failed += not result.ok
        self.tokens += result.total_tokens
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(errors=self.failed, tokens_s=int(self.tokens / self._elapsed()))
        elif time.monotonic() - self._shown >= PROGRESS_EVERY:
            self._shown = time.monotonic()
            self.err.write(self.line() + "\n")
            self.err.flush()

    def _elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def line(self) -> str:
        elapsed = self._elapsed()
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate else float("inf")
        return (
            f"batch: {self.done}/{self.total} done, {rate:.1f} req/s, "
            f"{self.tokens / elapsed:.0f} tokens/s, {self.failed} failed, ETA {eta:.0f} s"
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def check_batch_args(args: argparse.Namespace) -> None:
    """Mistakes found before any request.

    Raises:
        ValueError: No base URL, or no input file.
    """
    if not args.base_url:
        raise ValueError("no base URL: pass --base-url or set OPENAI_BASE_URL")
    if (args.redis is None) != (args.key is None):
        raise ValueError("--redis and --key go together: the Redis, and the limits' name in it")
    if args.redis is not None and importlib.util.find_spec("coredis") is None:
        raise ValueError("--redis needs the redis extra: pip install 'trio-chatsse[redis]'")
    if not args.input.is_file():
        raise ValueError(f"no input file {str(args.input)!r}")
    folder = args.output.parent
    if not folder.is_dir():
        raise ValueError(f"-o {str(args.output)!r}: no folder {str(folder)!r} to write it in")


async def run_batch_command(args: argparse.Namespace, new_client: Callable[..., HTTPClient]) -> int:
    """Run the batch; write the output lines as they come, and a summary on standard error.
    Return how many lines failed."""
    done = done_custom_ids(args.output)
    todo = _Input(args.input, done, args.shard)
    with args.input.open(encoding="utf-8") as file:
        lines = enumerate(file, 1)
        total = sum(1 for n, text in lines if text.strip() and todo.is_mine(n, text)) - len(done)
    progress = _Progress(max(total, 0), sys.stderr)
    key = args.api_key
    headers = {"Authorization": f"Bearer {key}", "x-api-key": key} if key else {}
    limiter = Limiter(
        # Shared, the limits are the key's: --rpm and --tpm for all, --concurrency each.
        max_concurrent=args.concurrency if args.redis is None else None,
        requests_per_minute=args.rpm,
        tokens_per_minute=args.tpm,
        redis=args.redis,
        key=args.key,
    )
    number = len(done)
    try:
        async with (
            limiter,
            new_client(base_url=args.base_url, headers=headers, timeout=30) as http,
        ):
            with args.output.open("ab") as out:
                async with open_batch(
                    http,
                    todo.lines(),
                    concurrency=args.concurrency,
                    limiter=limiter,
                    max_retries=args.max_retries,
                ) as results:
                    async for result in results:
                        for each in (*todo.invalid, todo.with_line(result)):
                            number += 1
                            # One write of a whole line: a crash loses a line, never half.
                            out.write(json.dumps(each.line(number)).encode() + b"\n")
                            out.flush()
                            progress.add(each)
                        todo.invalid.clear()
                for each in todo.invalid:  # lines that were not sent, read after the last
                    number += 1
                    out.write(json.dumps(each.line(number)).encode() + b"\n")
                    progress.add(each)
                todo.invalid.clear()
    finally:
        progress.close()
        summary = (
            f"batch: {progress.done} written ({progress.failed} failed), {todo.skipped} "
            f"already done, {todo.duplicates} duplicate custom_ids skipped, "
            f"{progress.tokens} tokens, {time.monotonic() - progress.started:.1f} s"
        )
        print(summary, file=sys.stderr)
    return progress.failed
