"""Layer 1: typed structured output: the request's schema, typed partials, the validated result.

:class:`OutputSpec` holds what a stream with ``output_type=`` needs: the schema to send, the
partial form of the type, and the rules that turn text into a partial or a result.

The partial form of a pydantic model ``M`` is a generated model ``PartialM`` with the same
fields, each optional (``None`` until it arrives) and of the partial form of its type: a nested
model ``X`` is an ``X`` once its object is complete and a ``PartialX`` before; ``list[X]`` is a
list of the complete items and the partial of the item being written; ``dict[str, X]`` alike; a
``str`` grows as it is written. Any other value (a number, an enum, a union, a date...) appears
only once complete. A complete value is validated by its field's type (its constraints
included) when it completes, and never changes after; the model's own validators run on a
complete object only. A complete value that fails validation stays out of the partial (the
result will raise).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Generic, Union

from pydantic import BaseModel, TypeAdapter, ValidationError, create_model
from typing_extensions import TypeVar

from ._errors import OutputRefusedError, OutputValidationError
from ._models import FunctionCall, Item, Message, Refusal, text_of
from ._partial_json import OpenContainer, PartialJSON, PartialJSONError
from ._schema import schema_name, strict_json_schema

__all__ = ["OutputSpec", "OutputT", "PartialReader", "output_spec", "partial_model"]

OutputT = TypeVar("OutputT", default=Any)

_NOT_SHOWN: Any = object()


@dataclass(frozen=True)
class OutputSpec(Generic[OutputT]):
    """What a stream with an ``output_type`` sends and checks."""

    output_type: type[OutputT]
    name: str
    schema: dict[str, object]
    strict: bool
    adapter: TypeAdapter[OutputT] = field(repr=False)

    def result(self, output: list[Item], finish_reason: str | None) -> OutputT:
        """The validated result of a whole answer, or the typed error that says why not."""
        text = text_of(output)
        refusals = [
            part.refusal
            for item in output
            if isinstance(item, Message)
            for part in item.content
            if isinstance(part, Refusal)
        ]
        if refusals or finish_reason == "content_filter":
            raise OutputRefusedError("".join(refusals) or text)
        if finish_reason == "length":
            raise OutputValidationError(text, [], truncated=True)
        if not text:
            calls = sum(isinstance(item, FunctionCall) for item in output)
            raise OutputValidationError(text, [], tool_calls=calls)
        try:
            return self.adapter.validate_json(text)
        except ValidationError as error:
            raise OutputValidationError(text, error.errors(include_url=False)) from None


def output_spec(output_type: type[OutputT], *, strict: bool) -> OutputSpec[OutputT]:
    """Check ``output_type`` and make its spec (before any request).

    Raises:
        TypeError: ``output_type`` is not a pydantic model class.
        ValueError: Its schema has no strict form (with ``strict``).
    """
    if not (isinstance(output_type, type) and issubclass(output_type, BaseModel)):
        raise TypeError(
            f"output_type must be a pydantic model class, not {output_type!r}: wrap a list or "
            "a union in a model (class Answer(BaseModel): items: list[Item])"
        )
    schema = output_type.model_json_schema()
    if strict:
        schema = strict_json_schema(schema)
    return OutputSpec(
        output_type=output_type,
        name=schema_name(output_type.__name__),
        schema=schema,
        strict=strict,
        adapter=TypeAdapter(output_type),
    )


@cache
def partial_model(model: type[BaseModel]) -> type[BaseModel]:
    """The partial form of ``model`` (see the module's docstring); one class per model."""
    fields: dict[str, Any] = {
        name: (_partial_annotation(info.annotation) | None, None)
        for name, info in model.model_fields.items()
    }
    partial: type[BaseModel] = create_model(
        f"Partial{model.__name__}",
        __doc__=f"{model.__name__} while it is being written: each field None until it arrives.",
        __module__=model.__module__,
        **fields,
    )
    return partial


def _partial_annotation(annotation: Any) -> Any:
    """The type of a field of a partial model."""
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return Union[annotation, partial_model(annotation)]  # noqa: UP007
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and arguments:
        return types.GenericAlias(list, (_partial_annotation(arguments[0]),))
    if origin is dict and len(arguments) == 2:
        return types.GenericAlias(dict, (arguments[0], _partial_annotation(arguments[1])))
    optional = _optional_of(annotation)
    if optional is not None:
        return _partial_annotation(optional)
    return annotation


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _optional_of(annotation: Any) -> Any:
    """``X`` for ``X | None``; ``None`` for anything else."""
    if typing.get_origin(annotation) not in (Union, types.UnionType):
        return None
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    return arguments[0] if len(arguments) == 1 else None


@cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


class _Shape:
    """How a value of one type is shown while partial, and validated when complete."""

    __slots__ = ("_arguments", "adapter", "fields", "item", "kind", "model")

    def __init__(self, annotation: Any, field_info: Any = None) -> None:
        # The field's constraints (its metadata: gt, max_length...), not its alias or default.
        metadata = () if field_info is None else tuple(field_info.metadata)
        full = Annotated[(annotation, *metadata)] if metadata else annotation
        self.adapter = _adapter(full)
        inner = _strip(annotation)
        inner = _optional_of(inner) or inner
        inner = _strip(inner)
        origin, arguments = typing.get_origin(inner), typing.get_args(inner)
        self.model: type[BaseModel] | None = None
        self.fields: dict[str, _Shape] = {}
        self.item: _Shape | None = None
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            self.kind = "model"
            self.model = inner
        elif origin is list and arguments:
            self.kind = "list"
        elif origin is dict and len(arguments) == 2:
            self.kind = "dict"
        elif inner is str:
            self.kind = "str"
        else:
            self.kind = "complete"
        self._arguments = arguments

    def child(self, key: str | None) -> _Shape | None:
        """The shape of a member: a model's field by its key, a list's or dict's item."""
        if self.kind == "model":
            assert self.model is not None
            if key not in self.fields:
                name = _field_names(self.model).get(key or "")
                if name is None:
                    return None
                info = self.model.model_fields[name]
                self.fields[key or ""] = _shape(info.annotation, info)
            return self.fields[key or ""]
        if self.item is None and self.kind in ("list", "dict"):
            self.item = _shape(self._arguments[-1])
        return self.item


@cache
def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """A model's fields by the key its JSON uses (the alias, when it has one)."""
    names = {name: name for name in model.model_fields}
    for name, info in model.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        if alias:
            names[alias] = name
    return names


#: Shapes by (annotation, field info); the key holds both, so that neither is freed and its
#: id reused while the shape is cached.
_SHAPES: dict[tuple[Any, Any], _Shape] = {}


def _shape(annotation: Any, field_info: Any = None) -> _Shape:
    key = (annotation, field_info)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _SHAPES[key] = _Shape(annotation, field_info)
    return shape


class PartialReader(Generic[OutputT]):
    """Text in, typed partials out: each call reads only the text added since the last."""

    def __init__(self, spec: OutputSpec[OutputT]) -> None:
        self._spec = spec
        self._json = PartialJSON()
        self._root = _shape(spec.output_type)
        self._read = 0
        self._failed = False
        self._last: Any = None

    def partial(self, parts: list[str]) -> Any:
        """The partial output of the text ``parts`` joined (the same list, grown since the
        last call): the output type itself once whole, its partial form before, ``None``
        before the first ``{``."""
        if len(parts) > self._read and not self._failed:
            new = "".join(parts[self._read :])
            self._read = len(parts)
            try:
                self._json.feed(new)
            except PartialJSONError:
                self._failed = True
            else:
                self._last = self._view()
        return self._last

    def _view(self) -> Any:
        reader = self._json
        if reader.done:
            try:
                return self._spec.adapter.validate_python(reader.value)
            except ValidationError:
                return self._last
        if not reader.stack:
            return None
        return self._open(0, self._root)

    def _open(self, depth: int, shape: _Shape) -> Any:
        """The partial view of the container open at ``depth`` of the stack."""
        stack = self._json.stack
        container = stack[depth]
        members = self._complete_members(container, shape)
        if depth + 1 < len(stack):
            child = shape.child(container.key)
            writing = _NOT_SHOWN if child is None else self._open(depth + 1, child)
        else:
            child = shape.child(container.key)
            text = self._json.string_so_far
            writing = (
                text
                if child is not None and child.kind == "str" and text is not None
                else _NOT_SHOWN
            )
        if container.is_object:
            shown = {
                key: value
                for key, value in zip(container.keys, members, strict=True)
                if value is not _NOT_SHOWN
            }
            if writing is not _NOT_SHOWN and container.key is not None:
                shown[container.key] = writing
            if shape.kind == "model":
                assert shape.model is not None
                names = _field_names(shape.model)
                known: dict[str, Any] = {names[k]: v for k, v in shown.items() if k in names}
                return partial_model(shape.model).model_construct(**known)
            return shown if shape.kind == "dict" else _NOT_SHOWN
        if shape.kind != "list":
            return _NOT_SHOWN
        items = [value for value in members if value is not _NOT_SHOWN]
        if writing is not _NOT_SHOWN:
            items.append(writing)
        return items

    def _complete_members(self, container: OpenContainer, shape: _Shape) -> list[object]:
        """The container's complete members as shown (each settled once)."""
        cache_ = container.cache
        for index in range(len(cache_), len(container.values)):
            key = container.keys[index] if container.is_object else None
            child = shape.child(key)
            cache_.append(_NOT_SHOWN if child is None else _settle(container.values[index], child))
        return cache_


def _settle(value: object, shape: _Shape) -> Any:
    """A complete value as shown: validated by its type, or, when that fails, in its partial
    form (so that what was shown while it was written stays: the result will raise)."""
    try:
        return shape.adapter.validate_python(value)
    except ValidationError:
        pass
    if shape.kind == "str" and isinstance(value, str):
        return value
    if shape.kind == "list" and isinstance(value, list):
        item = shape.child(None)
        assert item is not None
        return [v for v in (_settle(v, item) for v in value) if v is not _NOT_SHOWN]
    if shape.kind in ("model", "dict") and isinstance(value, dict):
        shown = {}
        for key, member in value.items():
            child = shape.child(key)
            settled = _NOT_SHOWN if child is None else _settle(member, child)
            if settled is not _NOT_SHOWN:
                shown[key] = settled
        if shape.model is None:
            return shown
        names = _field_names(shape.model)
        by_name = {names[k]: v for k, v in shown.items() if k in names}
        return partial_model(shape.model).model_construct(**by_name)
    return _NOT_SHOWN
