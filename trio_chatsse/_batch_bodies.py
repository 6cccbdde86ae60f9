"""The lines of the OpenAI Batch API's files: an input line read and checked, a result written.

Pure: no trio, no I/O. ``open_batch`` streams each request (so that timeouts and retries
apply) and writes what the request would have returned without ``stream: true`` (the
registry's non-streamed body of its API) as the body of an output line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ._apis import WIRE_APIS

__all__ = ["BATCH_URLS", "BatchRequest", "BatchResult", "read_request"]

#: The Batch API's ``url`` of each wire API (``/v1`` or not, as the client's base URL has it).
BATCH_URLS = {spec.batch_url: name for name, spec in WIRE_APIS.items() if spec.batch_url}


@dataclass(frozen=True)
class BatchRequest:
    """One line of a Batch API input file, checked."""

    custom_id: str
    api: str
    body: dict[str, object]


@dataclass(frozen=True)
class BatchResult:
    """What one request of a batch gave: a response (its status and body), or an error.

    ``line(n)`` is its line of a Batch API output file.
    """

    custom_id: str | None
    status_code: int | None = None
    body: dict[str, object] | None = None
    request_id: str | None = None
    error: dict[str, object] | None = None
    #: Tokens the request used, as its usage said.
    total_tokens: int = 0

    @property
    def ok(self) -> bool:
        """The request answered with a success status."""
        return self.status_code is not None and self.status_code < 400

    def line(self, number: int) -> dict[str, object]:
        """The Batch API output line: ``id``, ``custom_id``, ``response``, ``error``."""
        response = None
        if self.status_code is not None:
            response = {
                "status_code": self.status_code,
                "request_id": self.request_id,
                "body": self.body,
            }
        return {
            "id": f"batch_req_{number}",
            "custom_id": self.custom_id,
            "response": response,
            "error": self.error,
        }


def read_request(line: object) -> BatchRequest | BatchResult:
    """A Batch API input line (its text, or its parsed JSON) as a request, or the error result
    that says why it cannot be sent."""
    if isinstance(line, str | bytes):
        try:
            line = json.loads(line)
        except ValueError as error:
            return _invalid(None, f"the line is not JSON: {error}")
    if not isinstance(line, dict):
        return _invalid(None, "the line is not a JSON object")
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return _invalid(None, "custom_id must be a non-empty string")
    if line.get("method", "POST") != "POST":
        return _invalid(custom_id, f"method must be POST, not {line.get('method')!r}")
    url = line.get("url")
    path = url if isinstance(url, str) else ""
    api = BATCH_URLS.get(path if path.startswith("/v1/") else "/v1" + path)
    if api is None:
        return _invalid(custom_id, f"url must be one of {', '.join(BATCH_URLS)}, not {url!r}")
    body = line.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return _invalid(custom_id, "body must be an object with a model")
    return BatchRequest(custom_id, api, {k: v for k, v in body.items() if k != "stream"})


def _invalid(custom_id: str | None, message: str) -> BatchResult:
    return BatchResult(custom_id, error={"code": "invalid_request", "message": message})
