"""@tool, Tool.from_schema, validation with JSON paths, coercion for string formats, exporters."""

from __future__ import annotations

import asyncio
import threading
from enum import Enum, StrEnum
from typing import Annotated

import pydantic
import pytest

from agentkit.errors import ConfigError, ToolArgumentsError
from agentkit.tooling import Tool, ToolDefinition, ToolRegistry, coerce_arguments, tool


class Unit(StrEnum):
    celsius = "celsius"
    fahrenheit = "fahrenheit"


@tool
def forecast(city: str, days: int = 3, unit: Unit = Unit.celsius, tags: list[str] | None = None) -> dict:
    """Get a forecast.

    Second line of the description.

    Args:
        city: The city name, e.g. "Paris".
        days: How many days,
            between 1 and 16.
        unit: Temperature unit.
        tags: Optional labels.
    """
    return {"city": city, "days": days, "unit": unit.value, "tags": tags}


def test_tool_reads_name_description_and_parameter_docs() -> None:
    assert forecast.name == "forecast"
    assert forecast.description == "Get a forecast.\n\nSecond line of the description."
    props = forecast.parameters["properties"]
    assert props["city"] == {"type": "string", "description": 'The city name, e.g. "Paris".'}
    assert props["days"]["description"] == "How many days, between 1 and 16."
    assert props["days"]["default"] == 3
    assert forecast.parameters["required"] == ["city"]
    assert forecast.parameters["additionalProperties"] is False
    assert "title" not in props["city"]


def test_sphinx_docstrings_are_read() -> None:
    @tool
    def f(x: int) -> int:
        """Double it.

        :param x: the number
        """
        return x * 2

    assert f.parameters["properties"]["x"]["description"] == "the number"
    assert f.description == "Double it."


def test_schema_is_valid_draft_2020_12_and_enum_is_rendered() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(forecast.parameters)
    text = str(forecast.parameters)
    assert "celsius" in text and "fahrenheit" in text


def test_validation_lists_every_violation_with_path_expected_and_given() -> None:
    with pytest.raises(ToolArgumentsError) as info:
        forecast.validate({"days": "3", "unit": "kelvin", "extra": 1, "tags": ["a", 2]})
    violations = info.value.violations
    text = "\n".join(violations)
    assert "$: 'city' is a required property" in text
    assert '$.days: expected integer, got string "3"' in text
    assert "$.tags[1]" in text
    assert "'extra' was unexpected" in text
    assert "kelvin" in text
    assert len(violations) >= 5


def test_arguments_must_be_an_object() -> None:
    for bad in ([1, 2], 3, None):
        with pytest.raises(ToolArgumentsError, match="expected a JSON object"):
            forecast.validate(bad)
    with pytest.raises(ToolArgumentsError, match="not valid JSON"):
        forecast.validate("{city: Paris")
    assert forecast.validate('{"city": "Paris"}') == {"city": "Paris"}


def test_no_coercion_unless_the_format_carries_strings() -> None:
    with pytest.raises(ToolArgumentsError):
        forecast.validate({"city": "Paris", "days": "5"})
    assert forecast.validate({"city": "Paris", "days": "5"}, coerce=True) == {"city": "Paris", "days": 5}


def test_coercion_rules() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "x": {"type": "number"},
            "flag": {"type": "boolean"},
            "obj": {"type": "object"},
            "arr": {"type": "array"},
            "maybe": {"type": ["integer", "null"]},
            "name": {"type": "string"},
            "any": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
    }
    got = coerce_arguments(
        {
            "n": "42",
            "x": "2.5",
            "flag": "true",
            "obj": '{"a": 1}',
            "arr": '["a", 1, true]',
            "maybe": "null",
            "name": "null",
            "any": "7",
        },
        schema,
    )
    assert got == {
        "n": 42,
        "x": 2.5,
        "flag": True,
        "obj": {"a": 1},
        "arr": ["a", 1, True],
        "maybe": None,
        "name": "null",
        "any": 7,
    }
    # big integers stay exact; what cannot convert stays a string for validation to report
    assert coerce_arguments({"n": "9007199254740993"}, schema) == {"n": 9007199254740993}
    assert coerce_arguments({"n": "forty", "flag": "yes"}, schema) == {"n": "forty", "flag": "yes"}
    # Python-literal objects from buggy templates
    assert coerce_arguments({"obj": "{'k': 'v'}"}, schema) == {"obj": {"k": "v"}}


def test_pydantic_binding_converts_enums_before_the_call() -> None:
    args = forecast.validate({"city": "Oslo", "unit": "fahrenheit"})
    value = asyncio.run(forecast.invoke(args))
    assert value == {"city": "Oslo", "days": 3, "unit": "fahrenheit", "tags": None}


def test_async_functions_become_tools() -> None:
    @tool
    async def slow_add(a: int, b: int) -> int:
        """Add later."""
        await asyncio.sleep(0)
        return a + b

    assert slow_add.is_async
    assert asyncio.run(slow_add.invoke({"a": 1, "b": 2})) == 3


def test_decorated_function_stays_callable() -> None:
    assert forecast("Rome")["city"] == "Rome"


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "dot.name", "ünï"])
def test_bad_tool_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="tool name"):
        Tool.from_schema(name, "d", {"type": "object"}, lambda: None)


def test_missing_type_hint_is_a_config_error() -> None:
    def f(x):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(ConfigError, match="no type hint"):
        tool(f)


def test_invalid_schema_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid JSON schema"):
        Tool.from_schema("t", "d", {"type": "object", "properties": {"a": {"type": "bogus"}}}, lambda a: a)


def test_an_invalid_schema_from_pydantic_fails_when_the_agent_is_built() -> None:
    """pydantic writes `json_schema_extra` as given; the check is deferred from @tool, not dropped."""

    @tool
    def count(n: Annotated[int, pydantic.Field(json_schema_extra={"minimum": "zero"})]) -> int:
        """Count."""
        return n

    with pytest.raises(ConfigError, match="invalid JSON schema"):
        ToolRegistry([count])
    with pytest.raises(ConfigError, match="invalid JSON schema"):
        count.validate({"n": 1})


def test_tools_share_a_checked_validator_only_for_the_same_schema() -> None:
    from decimal import Decimal

    template = {"type": "object", "properties": {"unit": {"enum": ["c", "f"]}}}
    first = Tool.from_schema("first", "d", template, lambda unit: unit)
    template["properties"]["unit"]["enum"] = ["k"]  # the caller reuses its dict for another tool
    Tool.from_schema("second", "d", template, lambda unit: unit).validate({"unit": "k"})
    fresh = {"type": "object", "properties": {"unit": {"enum": ["c", "f"]}}}
    assert Tool.from_schema("third", "d", fresh, lambda unit: unit).validate({"unit": "c"}) == {"unit": "c"}
    assert first.validate({"unit": "f"}) == {"unit": "f"}
    # not plain JSON: no shared key, so nothing is confused with the string that reads the same
    exact = Tool.from_schema("exact", "d", {"type": "object", "properties": {"x": {"const": Decimal("1")}}}, id)
    Tool.from_schema("text", "d", {"type": "object", "properties": {"x": {"const": "Decimal('1')"}}}, id)
    assert exact.validate({"x": 1}) == {"x": 1}


def test_from_schema_rejects_extra_keys_unless_allowed() -> None:
    strict = Tool.from_schema("s", "d", {"type": "object", "properties": {"a": {"type": "string"}}}, lambda a: a)
    with pytest.raises(ToolArgumentsError, match="unexpected"):
        strict.validate({"a": "x", "b": 1})
    loose = Tool.from_schema(
        "l", "d", {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": True}, dict
    )
    assert loose.validate({"a": "x", "b": 1}) == {"a": "x", "b": 1}


def test_exporters() -> None:
    d = forecast.definition
    assert d.to_openai() == {
        "type": "function",
        "function": {"name": "forecast", "description": d.description, "parameters": d.parameters},
    }
    assert d.to_bedrock() == {
        "toolSpec": {"name": "forecast", "description": d.description, "inputSchema": {"json": d.parameters}}
    }
    assert d.to_json_schema()["parameters"] is d.parameters
    for shape in (d.to_openai(), d.to_bedrock(), d.to_json_schema(), forecast, d):
        assert ToolDefinition.from_any(shape) == d


def test_registry_refuses_duplicates_and_keeps_order() -> None:
    @tool
    def a() -> int:
        """A."""
        return 1

    registry = ToolRegistry([forecast, a])
    assert registry.names() == ["forecast", "a"]
    with pytest.raises(ConfigError, match="two tools"):
        registry.add(Tool.from_schema("a", "other", {"type": "object"}, lambda: 2))


def test_sync_tools_run_in_a_worker_thread_unless_inline() -> None:
    def where() -> str:
        """Name the thread it runs on."""
        return threading.current_thread().name

    threaded = tool(where)
    inline = tool(inline=True)(where)
    main = threading.current_thread().name
    assert asyncio.run(threaded.invoke({})) != main
    assert asyncio.run(inline.invoke({})) == main


def test_a_quick_sync_tool_that_starts_to_hang_holds_the_loop_briefly_and_still_times_out() -> None:
    """Quick tools are waited for synchronously (up to QUICK_WAIT); a hang must not hold the loop longer."""
    import time

    from agentkit.tool_threads import QUICK_WAIT

    release = threading.Event()

    def step(hang: bool) -> str:
        """Answer at once, or hang until released."""
        if hang:
            release.wait(5)
        return "ok"

    t = tool(step)

    async def scenario() -> tuple[float, bool]:
        assert await t.invoke({"hang": False}) == "ok"
        t._quick = True  # as after a quick call (timing alone cannot promise it on a loaded machine)
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.perf_counter()
            for _ in range(20):
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0)  # the ticker is running before the call blocks anything
        timed_out = False
        try:
            async with asyncio.timeout(0.05):
                await t.invoke({"hang": True})
        except TimeoutError:
            timed_out = True
        await tick
        return max(gaps), timed_out

    try:
        worst_gap, timed_out = asyncio.run(scenario())
    finally:
        release.set()
    assert timed_out
    assert worst_gap < 0.005 + QUICK_WAIT + 0.04, worst_gap  # 40 ms of slack for a loaded CI machine
    assert not t._quick  # the slow call marks it: the next call goes straight to the async wait


class Level(int, Enum):
    low = 1
    high = 2


class Point(pydantic.BaseModel):
    x: int
    y: int


def test_coercion_follows_refs_to_enums_and_nested_models() -> None:
    @tool
    def place(level: Level, p: Point, maybe: Point | None = None) -> str:
        """Place a point."""
        return f"{level.value}:{p.x},{p.y}:{maybe is not None}"

    args = place.validate({"level": "2", "p": '{"x": "1", "y": 2}', "maybe": "null"}, coerce=True)
    assert args == {"level": 2, "p": {"x": 1, "y": 2}, "maybe": None}
    assert asyncio.run(place.invoke(args)) == "2:1,2:False"
