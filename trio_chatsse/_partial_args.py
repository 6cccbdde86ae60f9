"""Vertex AI's streamed function-call arguments, joined into the arguments object.

With ``toolConfig.functionCallingConfig.streamFunctionCallArguments`` (Vertex AI only; the
Gemini API refuses it), a call comes in several parts: the first with its ``name`` and
``willContinue: true``, then parts with ``partialArgs`` only, the last without ``willContinue``
(often an empty ``functionCall: {}``). Each partial argument names where it goes with a JSON
path (RFC 9535, ``$.city``, ``$.stops[0].name``) and carries one value (``stringValue``,
``numberValue``, ``boolValue``, ``nullValue``, or a whole ``structValue`` / ``listValue``); a
string arrives in pieces, each but the last with ``willContinue: true``. Sources: Vertex AI's
``FunctionCall`` and ``PartialArg`` reference; vercel/ai#13929 and BerriAI/litellm#23815, which
join them the same way. Pure: no I/O.
"""

from __future__ import annotations

import re

__all__ = ["StreamedArguments", "parse_json_path"]

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_][\w-]*)"""
    r"""|\[(?P<index>\d+)\]"""
    r"""|\[(?P<quote>['"])(?P<key>(?:\\.|(?!(?P=quote)).)*)(?P=quote)\]"""
)
_VALUE_KEYS = ("stringValue", "numberValue", "boolValue", "structValue", "listValue")

Step = str | int


def parse_json_path(path: str) -> list[Step] | None:
    """The steps of a JSON path of names and indexes (``$.a[0]['b c']``), or ``None`` when it
    is not one."""
    if not path.startswith("$"):
        return None
    steps: list[Step] = []
    position = 1
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None:
            return None
        if match["name"] is not None:
            steps.append(match["name"])
        elif match["index"] is not None:
            steps.append(int(match["index"]))
        else:
            steps.append(re.sub(r"\\(.)", r"\1", match["key"]))
        position = match.end()
    return steps


class StreamedArguments:
    """One call's arguments, built from its ``partialArgs`` as they come."""

    def __init__(self, args: object = None) -> None:
        self.value: dict[str, object] = dict(args) if isinstance(args, dict) else {}
        #: The path of a string whose next piece is still to come.
        self._open: list[Step] | None = None
        #: Partial arguments that could not be placed (a bad path, no value).
        self.skipped = 0

    def add(self, partials: object) -> None:
        """Place each partial argument of a part."""
        for partial in partials if isinstance(partials, list) else ():
            if not isinstance(partial, dict):
                self.skipped += 1
                continue
            path = parse_json_path(str(partial.get("jsonPath", "")))
            found = next((key for key in _VALUE_KEYS if key in partial), None)
            value = partial[found] if found is not None else None
            if path is None or (found is None and "nullValue" not in partial) or not path:
                self.skipped += 1
                continue
            if found == "stringValue" and path == self._open:
                value = str(self._get(path) or "") + str(value)
            self._set(path, value)
            self._open = path if partial.get("willContinue") is True else None

    def _get(self, path: list[Step]) -> object:
        node: object = self.value
        for step in path:
            if isinstance(step, int) and isinstance(node, list) and step < len(node):
                node = node[step]
            elif isinstance(step, str) and isinstance(node, dict):
                node = node.get(step)
            else:
                return None
        return node

    def _set(self, path: list[Step], value: object) -> None:
        node: object = self.value
        for step, following in zip(path, [*path[1:], None], strict=True):
            child: object = [] if isinstance(following, int) else {}
            if following is None:
                child = value
            if isinstance(step, int):
                if not isinstance(node, list):
                    self.skipped += 1
                    return
                node.extend([None] * (step + 1 - len(node)))
                if following is None or not isinstance(node[step], list | dict):
                    node[step] = child
                node = node[step]
            else:
                if not isinstance(node, dict):
                    self.skipped += 1
                    return
                if following is None or not isinstance(node.get(step), list | dict):
                    node[step] = child
                node = node[step]
