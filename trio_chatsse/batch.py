"""Many requests at once: an OpenAI Batch API file's requests, streamed, ``concurrency`` at a
time, each result as soon as it finishes (see the guide's "Many requests")."""

from __future__ import annotations

from ._batch import open_batch
from ._batch_bodies import BatchResult
from ._public import publish

__all__ = ["BatchResult", "open_batch"]

publish(globals())
