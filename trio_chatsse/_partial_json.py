"""Layer 1: an incremental JSON reader for structured output that is still being written.

Pure (no I/O, no pydantic): :meth:`PartialJSON.feed` takes the text as it arrives and reads each
character once, so asking for the partial value after every delta costs the new text, not the
whole text again. The state it keeps is what a typed view needs: every value that is complete
(as a plain Python value, never changed afterwards), the containers still open from the root to
the point being written, and the string being written there. A number, ``true``/``false``/
``null`` or a key still being written is not a value yet: ``12`` may become ``123``.

The typed partial views are built from this state in ``_structured.py``.
"""

from __future__ import annotations

import json
import re
from typing import Final, NoReturn

__all__ = ["OpenContainer", "PartialJSON", "PartialJSONError"]

_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
_STRING_RUN: Final = re.compile(r'[^"\\]*')
_SCALAR_RUN: Final = re.compile(r"[-+.0-9a-zA-Z]*")
#: The longest escape that can be cut short at the end of the text so far (``\\u12`` and the
#: like): a high surrogate's ``\\ud83d`` and five characters of its low half.
_LONGEST_CUT = 11


class PartialJSONError(ValueError):
    """The text is not the start of a JSON document (from the character at :attr:`position`)."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at character {position}")
        self.position = position


class OpenContainer:
    """An object or array still being written: its complete members so far, and the member
    being written (a container, a string, or nothing shown yet)."""

    __slots__ = ("cache", "is_object", "key", "keys", "values")

    def __init__(self, is_object: bool) -> None:
        self.is_object = is_object
        #: The keys of the complete members of an object, in order (parallel to ``values``).
        self.keys: list[str] = []
        #: The complete members, as plain Python values; they never change once here.
        self.values: list[object] = []
        #: The key of the member being written, once the key itself is complete.
        self.key: str | None = None
        #: Room for a typed view to keep what it made of ``values`` (they never change).
        self.cache: list[object] = []


# States of the reader between characters.
_VALUE = 0  # a value may start (after `[`, `:` or `,` in an array; at the root)
_KEY = 1  # a key may start, or the object end (after `{` or `,` in an object)
_COLON = 2  # after a key
_AFTER = 3  # after a value: `,` or the container's end
_STRING = 4  # inside a string (a key or a value)
_SCALAR = 5  # inside a number or a literal
_DONE = 6  # the root value is complete


class PartialJSON:
    """Reads one JSON document in pieces; :attr:`stack`, :attr:`string_so_far` and
    :attr:`value` describe what has been read.

    Raises :class:`PartialJSONError` from :meth:`feed` at the first character that cannot
    continue a JSON document; the state read before it stays as it was.
    """

    def __init__(self) -> None:
        #: The containers open from the root to the point being written.
        self.stack: list[OpenContainer] = []
        #: The root value once it is complete (``done`` says when).
        self.value: object = None
        self.done = False
        self._state = _VALUE
        self._read = 0
        self._string: list[str] = []
        self._string_is_key = False
        self._escape_pending = False
        self._scalar: list[str] = []

    @property
    def string_so_far(self) -> str | None:
        """The string value being written where the text stops (decoded as far as it goes),
        or ``None`` when no string value is being written there."""
        if self._state != _STRING or self._string_is_key:
            return None
        raw = "".join(self._string)
        if len(self._string) > 1:
            self._string[:] = [raw]
        for cut in range(min(len(raw), _LONGEST_CUT) + 1):
            try:
                text = str(json.loads(f'"{raw[: len(raw) - cut]}"'))
            except ValueError:
                continue
            # A high surrogate alone becomes another character when its low half comes.
            return text[:-1] if text and "\ud800" <= text[-1] <= "\udbff" else text
        return None

    def feed(self, text: str) -> None:
        """Read the next piece of the document."""
        i, end = 0, len(text)
        while i < end:
            state = self._state
            if state == _STRING:
                i = self._in_string(text, i)
                continue
            if state == _SCALAR:
                run = _SCALAR_RUN.match(text, i)
                assert run is not None  # `*` always matches
                self._scalar.append(run.group())
                i = run.end()
                if i < end:
                    self._end_scalar(i)
                continue
            i = _WHITESPACE.match(text, i).end()  # type: ignore[union-attr]  # `*` matches
            if i == end:
                break
            char = text[i]
            if state == _DONE:
                self._fail("text after the end of the document", i)
            elif state == _AFTER:
                self._after_value(char, i)
            elif state == _KEY:
                if char == '"':
                    self._start_string(is_key=True)
                elif char == "}" and not self.stack[-1].values and self.stack[-1].key is None:
                    self._close(i)
                else:
                    self._fail("expected a key", i)
            elif state == _COLON:
                if char != ":":
                    self._fail("expected ':'", i)
                self._state = _VALUE
            else:
                self._start_value(char, i)
            i += 1
        self._read += end

    def _fail(self, message: str, at: int) -> NoReturn:
        raise PartialJSONError(message, self._read + at)

    def _start_value(self, char: str, at: int) -> None:
        if char == "{" or char == "[":
            self.stack.append(OpenContainer(char == "{"))
            self._state = _KEY if char == "{" else _VALUE
        elif char == '"':
            self._start_string(is_key=False)
        elif (
            char == "]"
            and self.stack
            and not self.stack[-1].is_object
            and not self.stack[-1].values
        ):
            self._close(at)
        elif char in "-0123456789tfn":
            self._scalar = [char]
            self._state = _SCALAR
        else:
            self._fail("expected a value", at)

    def _after_value(self, char: str, at: int) -> None:
        top = self.stack[-1]
        if char == ",":
            self._state = _KEY if top.is_object else _VALUE
        elif char == ("}" if top.is_object else "]"):
            self._close(at)
        else:
            self._fail("expected ',' or the end of the container", at)

    def _start_string(self, *, is_key: bool) -> None:
        self._string = []
        self._string_is_key = is_key
        self._escape_pending = False
        self._state = _STRING

    def _in_string(self, text: str, i: int) -> int:
        """Read string characters from ``i``; return where reading stopped."""
        end = len(text)
        if self._escape_pending:
            self._string.append(text[i])
            self._escape_pending = False
            i += 1
        while i < end:
            run = _STRING_RUN.match(text, i)
            assert run is not None  # `*` always matches
            if run.end() > i:
                self._string.append(run.group())
                i = run.end()
            if i == end:
                break
            if text[i] == "\\":
                if i + 1 == end:
                    self._string.append("\\")
                    self._escape_pending = True
                    return end
                self._string.append(text[i : i + 2])
                i += 2
                continue
            self._end_string(i)
            return i + 1
        return i

    def _end_string(self, at: int) -> None:
        try:
            value = json.loads('"' + "".join(self._string) + '"')
        except ValueError:
            self._fail("a string that is not valid JSON", at)
        self._string = []
        if self._string_is_key:
            self.stack[-1].key = value
            self._state = _COLON
        else:
            self._complete(value)

    def _end_scalar(self, at: int) -> None:
        token = "".join(self._scalar)
        self._scalar = []
        try:
            value = json.loads(token)
        except ValueError:
            self._fail(f"{token!r} is not a JSON value", at)
        if (isinstance(value, float) and value in (float("inf"), float("-inf"))) or value != value:
            self._fail(f"{token!r} is not a JSON value", at)
        self._complete(value)

    def _close(self, at: int) -> None:
        top = self.stack.pop()
        if top.is_object:
            if top.key is not None:
                self._fail("a key without a value", at)
            value: object = dict(zip(top.keys, top.values, strict=True))
        else:
            value = top.values
        self._complete(value)

    def _complete(self, value: object) -> None:
        if not self.stack:
            self.value = value
            self.done = True
            self._state = _DONE
            return
        top = self.stack[-1]
        if top.is_object:
            assert top.key is not None  # a value in an object follows its key
            top.keys.append(top.key)
            top.key = None
        top.values.append(value)
        self._state = _AFTER
