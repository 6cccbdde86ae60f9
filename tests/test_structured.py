"""Structured output: the strict schema each API is sent, typed partials that only grow, the
validated result and its typed errors, on every wire API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from enum import StrEnum
from itertools import pairwise
from typing import Any, Literal

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from trio_chatsse import Completed, Event, ProviderError, open_event_stream
from trio_chatsse._partial_json import PartialJSON, PartialJSONError
from trio_chatsse._structured import PartialReader, output_spec
from trio_chatsse.structured import (
    OutputRefusedError,
    OutputValidationError,
    partial_model,
    strict_json_schema,
)
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall, sse_body

from .conftest import TaskTracker
from .helpers import HTTPClient, open_stream


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Step(BaseModel):
    """A step of a recipe."""

    title: str
    minutes: int = Field(gt=0)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # Would reject every partial title that is still empty, if it ran on partials.
        if not value.strip():
            raise ValueError("blank title")
        return value


class Recipe(BaseModel):
    name: str
    color: Color
    kind: Literal["main", "side"]
    steps: list[Step]
    first: Step = Field(description="The step to start with.")
    tags: list[str] = []
    note: str | None = None
    servings: int = 2

    @model_validator(mode="after")
    def _has_steps(self) -> Recipe:
        if not self.steps:
            raise ValueError("a recipe needs steps")
        return self


class Tree(BaseModel):
    label: str
    children: list[Tree] = []


RECIPE = Recipe(
    name='Soup of "the" day \\ é 😀',
    color=Color.RED,
    kind="main",
    steps=[Step(title="Chop onions", minutes=5), Step(title="Boil", minutes=20)],
    first=Step(title="Wash", minutes=1),
    tags=["warm", "cheap"],
    note=None,
)


def check_strict(node: object, defs: Mapping[str, Any]) -> None:
    """OpenAI's strict-mode rules, checked on every sub-schema."""
    if isinstance(node, list):
        for sub in node:
            check_strict(sub, defs)
        return
    if not isinstance(node, dict):
        return
    assert not {"default", "discriminator", "oneOf"} & set(node)
    if "$ref" in node:
        assert set(node) == {"$ref"}, f"a $ref with siblings: {node}"
        assert node["$ref"].removeprefix("#/$defs/") in defs
    if node.get("type") == "object":
        assert node["additionalProperties"] is False
        assert sorted(node["required"]) == sorted(node["properties"])
    for key in ("properties", "$defs"):
        for sub in node.get(key, {}).values():
            check_strict(sub, defs)
    for key in ("anyOf", "items", "allOf"):
        if key in node:
            check_strict(node[key], defs)


@pytest.mark.parametrize("model", [Recipe, Tree, Step])
def test_the_schema_follows_strict_mode(model: type[BaseModel]) -> None:
    schema: dict[str, Any] = strict_json_schema(model.model_json_schema())
    check_strict(schema, schema.get("$defs", {}))
    assert schema["type"] == "object"


def test_strict_schema_keeps_optional_fields_nullable_and_inlines_refs_with_siblings() -> None:
    schema: dict[str, Any] = strict_json_schema(Recipe.model_json_schema())
    properties = schema["properties"]
    assert isinstance(properties, dict)
    assert {"type": "null"} in properties["note"]["anyOf"]
    assert "servings" in schema["required"]  # a default: the model writes a value
    assert properties["first"]["description"] == "The step to start with."
    assert properties["first"]["properties"]["minutes"] == {
        "exclusiveMinimum": 0,
        "title": "Minutes",
        "type": "integer",
    }
    tree = strict_json_schema(Tree.model_json_schema())
    assert tree["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}  # type: ignore[index]  # JSON


class WithDict(BaseModel):
    scores: dict[str, int]


def test_a_dict_field_has_no_strict_form_and_fails_before_any_request() -> None:
    with pytest.raises(ValueError, match="arbitrary keys"):
        output_spec(WithDict, strict=True)
    assert output_spec(WithDict, strict=False).schema == WithDict.model_json_schema()


@pytest.mark.parametrize("bad", [list[Step], int, "Recipe", Step(title="a", minutes=1)])
def test_output_type_must_be_a_model_class(bad: Any) -> None:
    with pytest.raises(TypeError, match="pydantic model class"):
        output_spec(bad, strict=True)


async def test_each_api_carries_the_schema_its_way(
    chat_server: ChatServer, http: HTTPClient, api: str
) -> None:
    chat_server.push(Reply(text=RECIPE.model_dump_json()))
    extra = {"text": {"verbosity": "low"}} if api == "responses" else {}
    async with open_stream(http, api, output_type=Recipe, **extra) as stream:
        assert await stream.final_output() == RECIPE
    body = chat_server.requests[-1]
    expected = strict_json_schema(Recipe.model_json_schema())
    if api == "chat":
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "Recipe", "schema": expected, "strict": True},
        }
    elif api == "responses":
        assert body["text"] == {
            "verbosity": "low",
            "format": {"type": "json_schema", "name": "Recipe", "schema": expected, "strict": True},
        }
    elif api == "ollama":
        assert body["format"] == expected
    elif api == "gemini":
        assert body["generationConfig"] == {
            "responseMimeType": "application/json",
            "responseJsonSchema": expected,
        }
    else:
        assert body["output_config"] == {"format": {"type": "json_schema", "schema": expected}}


async def test_output_strict_false_sends_pydantics_schema(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(text=RECIPE.model_dump_json()))
    async with open_stream(http, "chat", output_type=Recipe, output_strict=False) as stream:
        await stream.final()
    sent = chat_server.requests[-1]["response_format"]
    assert sent["json_schema"] == {  # type: ignore[index]  # JSON
        "name": "Recipe",
        "schema": Recipe.model_json_schema(),
        "strict": False,
    }


def partials_of(text: str, step: int = 1) -> list[Any]:
    reader = PartialReader(output_spec(Recipe, strict=True))
    parts: list[str] = []
    out = []
    for i in range(0, len(text), step):
        parts.append(text[i : i + step])
        out.append(reader.partial(parts))
    return out


def dumped(value: Any) -> Any:
    return None if value is None else value.model_dump(mode="json")


def check_monotone(before: Any, after: Any, path: str = "") -> None:
    """``after`` keeps every value of ``before``: complete values equal, strings grown,
    lists and objects extended."""
    if before is None:
        return
    if isinstance(before, str):
        assert isinstance(after, str), path
        assert after.startswith(before), path
    elif isinstance(before, list):
        assert isinstance(after, list), path
        assert len(after) >= len(before), path
        for i, item in enumerate(before):
            # Only the last item of a list may still be being written.
            if i < len(before) - 1:
                assert after[i] == item, f"{path}[{i}]"
            else:
                check_monotone(item, after[i], f"{path}[{i}]")
    elif isinstance(before, dict):
        assert isinstance(after, dict), path
        for key, value in before.items():
            check_monotone(value, after.get(key), f"{path}.{key}")
    else:
        assert before == after, path


def test_partials_grow_byte_by_byte_and_end_as_the_instance() -> None:
    text = RECIPE.model_dump_json(indent=1)
    partials = partials_of(text)
    types = {type(p) for p in partials}
    assert types == {partial_model(Recipe), Recipe}  # the first character is `{`
    assert isinstance(partials[-1], Recipe)
    assert partials[-1] == RECIPE
    for before, after in pairwise(partials):
        check_monotone(dumped(before), dumped(after))
    # Nested models: a step is a Step once its object closed, a PartialStep before.
    step_types = {type(s) for p in partials if p is not None for s in p.steps or []}
    assert step_types == {Step, partial_model(Step)}
    # Numbers and enum values appear only once complete.
    assert all(p.first is None or p.first.minutes in (None, 1) for p in partials if p)


def test_validators_never_see_incomplete_data_and_invalid_complete_values_stay_out() -> None:
    text = json.dumps({"name": "x", "steps": [{"title": " ", "minutes": 3}], "color": "green"})
    partials = partials_of(text)
    for before, after in pairwise(partials):
        check_monotone(dumped(before), dumped(after))
    last: Any = partials[-1]
    # The step's title fails its validator once complete: the step stays in its partial
    # form; the colour is not a Color: left out; the whole (invalid) never becomes a Recipe.
    assert (last.name, last.color) == ("x", None)
    assert last.steps == [partial_model(Step)(title=" ", minutes=3)]
    assert type(last) is partial_model(Recipe)


def test_a_partial_validates_as_its_partial_model() -> None:
    for partial in partials_of(RECIPE.model_dump_json(), step=3):
        if partial is not None:
            again = type(partial).model_validate(partial.model_dump())
            assert again == partial


def test_invalid_json_stops_the_partials_at_the_last_good_one() -> None:
    good = '{"name": "ab", "tags": ["x"'
    partials = partials_of(good + "}, 1]")
    assert partials[-1] == partials[len(good) - 1]
    assert partials[-1].tags == ["x"]


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('{"a" 1}', 5),
        ('{"a": tru}', 9),
        ("[1,]", 3),
        ('{"a":1}x', 7),
        ("[NaN]", 1),
        ("[-Infinity]", 10),
    ],
)
def test_the_json_reader_rejects_what_is_not_json(text: str, position: int) -> None:
    reader = PartialJSON()
    with pytest.raises(PartialJSONError) as caught:
        for char in text:
            reader.feed(char)
    assert caught.value.position == position


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=_json_values, ascii_only=st.booleans(), step=st.integers(1, 9))
def test_the_json_reader_reads_any_document_in_any_pieces(
    value: object, ascii_only: bool, step: int
) -> None:
    text = json.dumps({"v": value}, ensure_ascii=ascii_only)
    reader = PartialJSON()
    for i in range(0, len(text), step):
        assert not reader.done
        reader.feed(text[i : i + step])
    assert reader.done
    assert reader.value == json.loads(text)


@st.composite
def recipes(draw: st.DrawFn) -> Recipe:
    words = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12).filter(
        lambda s: s.strip() != ""
    )
    step = st.builds(Step, title=words, minutes=st.integers(1, 10**6))
    return Recipe(
        name=draw(st.text(max_size=20)),
        color=draw(st.sampled_from(Color)),
        kind=draw(st.sampled_from(["main", "side"])),
        steps=draw(st.lists(step, min_size=1, max_size=3)),
        first=draw(step),
        tags=draw(st.lists(st.text(max_size=6), max_size=3)),
        note=draw(st.none() | st.text(max_size=8)),
        servings=draw(st.integers(-5, 50)),
    )


@settings(max_examples=60, deadline=None)
@given(recipe=recipes(), indent=st.sampled_from([None, 2]))
def test_any_instance_cut_at_every_byte_gives_valid_growing_partials(
    recipe: Recipe, indent: int | None
) -> None:
    text = recipe.model_dump_json(indent=indent)
    partials = partials_of(text)
    for before, after in pairwise(partials):
        check_monotone(dumped(before), dumped(after))
    for partial in partials:
        if partial is not None:
            type(partial).model_validate(partial.model_dump())
    assert partials[-1] == recipe


async def test_a_stream_of_small_deltas_gives_the_instance(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    chat_server.push(Reply(text=RECIPE.model_dump_json(), fragment_size=5))
    seen = []
    async with open_stream(http, api, output_type=Recipe) as stream:
        assert stream.partial_output() is None
        async for event in stream:
            seen.append(stream.partial_output())
            del event
        result = await stream.final_output()
        assert result == RECIPE
        assert await stream.final_output() is result
    for before, after in pairwise(seen):
        check_monotone(dumped(before), dumped(after))
    assert seen[-1] == RECIPE


async def test_a_stream_that_never_asks_reads_no_partials(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(text=RECIPE.model_dump_json()))
    async with open_stream(http, "chat", output_type=Recipe) as stream:
        await stream.final()
        assert stream._partials is None
        assert await stream.final_output() == RECIPE


async def test_without_output_type_the_output_methods_say_so(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    async with open_stream(http, "chat") as stream:
        with pytest.raises(RuntimeError, match="output_type"):
            stream.partial_output()
        with pytest.raises(RuntimeError, match="output_type"):
            await stream.final_output()


async def test_a_slow_consumer_of_partials_skips_ahead_and_sees_the_last(
    tasks: TaskTracker,
) -> None:
    """Bytes arrive while the consumer is busy; its next partial is the latest, never a
    stale one, and the last is the whole instance."""
    text = RECIPE.model_dump_json()
    body = sse_body(Reply(text=text, fragment_size=3).chunks())
    cuts = [body[i : i + 40] for i in range(0, len(body), 40)]
    send, receive = trio.open_memory_channel[bytes](0)

    async def source() -> AsyncIterator[bytes]:
        async for piece in receive:  # until feed() closes the sending end
            yield piece

    yielded: list[Any] = []
    async with (
        trio.open_nursery() as nursery,
        open_event_stream(source(), output_type=Recipe) as stream,
    ):

        async def feed() -> None:
            async with send:
                for piece in cuts:
                    await send.send(piece)

        nursery.start_soon(feed)
        async for partial in stream.partial_outputs():
            yielded.append(partial)
            # Busy: the rest of the body is read meanwhile.
            await trio.testing.wait_all_tasks_blocked()
        await stream.final_output()
    assert yielded[-1] == RECIPE
    assert len(yielded) <= 3, [dumped(p) for p in yielded]
    for before, after in pairwise(yielded):
        assert before != after


async def test_partial_outputs_follow_a_fast_stream_one_change_at_a_time(
    chat_server: ChatServer, http: HTTPClient, api: str
) -> None:
    chat_server.push(Reply(text=RECIPE.model_dump_json(), fragment_size=4))
    async with open_stream(http, api, output_type=Recipe) as stream:
        yielded = [p async for p in stream.partial_outputs()]
        assert await stream.final_output() == RECIPE
        assert isinstance(stream.completed, Completed)
    assert yielded[-1] == RECIPE
    assert all(a != b for a, b in pairwise(yielded))


async def events_then(stream: Any) -> tuple[list[Event], BaseException]:
    events = [event async for event in stream]
    with pytest.raises((OutputValidationError, OutputRefusedError)) as caught:
        await stream.final_output()
    return events, caught.value


async def test_invalid_json_raises_after_every_event(
    chat_server: ChatServer, http: HTTPClient, api: str
) -> None:
    text = '{"name": "x", "steps": ['
    chat_server.push(Reply(text=text + "oops"))
    async with open_stream(http, api, output_type=Recipe) as stream:
        events, error = await events_then(stream)
    assert isinstance(events[-1], Completed)
    assert isinstance(error, OutputValidationError)
    assert error.text == text + "oops"
    assert error.errors[0]["type"] == "json_invalid"
    assert not error.truncated


async def test_a_failed_validation_carries_pydantics_errors(
    chat_server: ChatServer, http: HTTPClient, api: str
) -> None:
    bad = RECIPE.model_dump(mode="json") | {"steps": [{"title": "a", "minutes": 0}]}
    chat_server.push(Reply(text=json.dumps(bad)))
    async with open_stream(http, api, output_type=Recipe) as stream:
        _, error = await events_then(stream)
    assert isinstance(error, OutputValidationError)
    assert [e["loc"] for e in error.errors] == [("steps", 0, "minutes")]
    assert "steps.0.minutes" in str(error)
    with pytest.raises(ValidationError):
        Recipe.model_validate_json(error.text)


async def test_a_cut_answer_says_it_was_cut(
    chat_server: ChatServer, http: HTTPClient, api: str
) -> None:
    chat_server.push(Reply(text=RECIPE.model_dump_json()[:30], finish_reason="length"))
    limits: dict[str, dict[str, Any]] = {
        "chat": {"max_tokens": 5},
        "responses": {"max_output_tokens": 5},
        "gemini": {"generation_config": {"maxOutputTokens": 5}},
    }
    options = limits.get(api, {})
    async with open_stream(http, api, output_type=Recipe, **options) as stream:
        _, error = await events_then(stream)
    assert isinstance(error, OutputValidationError)
    assert error.truncated
    assert "cut" in str(error)


async def test_a_refusal_raises_the_refusal_error(
    chat_server: ChatServer, http: HTTPClient, api: str
) -> None:
    if api in ("ollama", "gemini"):
        pytest.skip(f"{api}'s native API has no refusal part: a refusal is plain text there")
    chat_server.push(Reply(refusal="I can't help with that."))
    async with open_stream(http, api, output_type=Recipe) as stream:
        events, error = await events_then(stream)
    assert isinstance(events[-1], Completed)
    assert isinstance(error, OutputRefusedError)
    assert error.refusal == "I can't help with that."


async def test_tool_calls_instead_of_an_answer_are_no_output(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(tool_calls=[ScriptedToolCall("lookup", '{"q": "soup"}')]))
    async with open_stream(http, "chat", output_type=Recipe) as stream:
        _, error = await events_then(stream)
    assert isinstance(error, OutputValidationError)
    assert "1 tool call" in str(error)


async def test_a_stream_error_comes_after_the_partials_before_it(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    failure = {"type": "server_error", "message": "boom"}
    chat_server.push(
        Reply(text=RECIPE.model_dump_json(), fragment_size=4, error=failure, error_after=12)
    )
    yielded = []
    async with open_stream(http, api, output_type=Recipe, max_retries=0) as stream:
        with pytest.raises(ProviderError):
            async for partial in stream.partial_outputs():
                yielded.append(partial)
        with pytest.raises(ProviderError):
            await stream.final_output()
    assert yielded
    assert type(yielded[-1]) is partial_model(Recipe)


class Aliased(BaseModel):
    full_name: str = Field(alias="fullName")
    step_list: list[Step] = Field(alias="stepList")


def test_aliased_fields_appear_in_the_partials_under_their_names() -> None:
    value = Aliased.model_validate(
        {"fullName": "Soup", "stepList": [{"title": "Boil", "minutes": 3}]}
    )
    text = value.model_dump_json(by_alias=True)
    reader = PartialReader(output_spec(Aliased, strict=True))
    parts: list[str] = []
    partials: list[Any] = []
    for char in text:
        parts.append(char)
        partials.append(reader.partial(parts))
    middle = partials[len('{"fullName":"Sou') - 1]  # after the o
    assert middle.full_name == "Sou"
    assert partials[-1] == value
