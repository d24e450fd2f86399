"""A real strands.Agent running on agentkit backends through AgentkitModelProvider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import pydantic
import pytest
import strands
from strands.types.exceptions import MaxTokensReachedException
from strands_tools import calculator

from agentkit import ScriptedModel, ToolCall, Turn, Usage, tool
from agentkit.errors import ConfigError, OutputError
from agentkit.integrations.strands import AgentkitModelProvider, to_strands_tool
from agentkit.messages import Message, StreamEvent, TextDelta, TurnEnd
from agentkit.models.base import ModelSettings
from agentkit.tooling import ToolDefinition

pytestmark = pytest.mark.filterwarnings("ignore:calculator is deprecated:DeprecationWarning")

QWEN_CALLS = (
    "I will compute both.\n"
    "<tool_call>\n<function=add>\n<parameter=a>\n40\n</parameter>\n<parameter=b>\n2\n</parameter>\n"
    "</function>\n</tool_call>\n"
    "<tool_call>\n<function=calculator>\n<parameter=expression>\n6*7\n</parameter>\n</function>\n</tool_call>"
)


@pytest.fixture
def added() -> list[tuple[int, int]]:
    return []


@pytest.fixture
def add_tool(added: list[tuple[int, int]]) -> Any:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        added.append((a, b))
        return a + b

    return add


def _tool_results(agent: strands.Agent) -> dict[str, dict[str, Any]]:
    """toolUseId -> toolResult, from the Strands conversation."""
    found = {}
    for message in agent.messages:
        for block in message["content"]:
            if "toolResult" in block:
                found[block["toolResult"]["toolUseId"]] = block["toolResult"]
    return found


def _tool_uses(agent: strands.Agent) -> list[dict[str, Any]]:
    return [b["toolUse"] for m in agent.messages for b in m["content"] if "toolUse" in b]


def _strands_agent(model: Any, tools: list[Any], **kwargs: Any) -> strands.Agent:
    return strands.Agent(model=AgentkitModelProvider(model), tools=tools, callback_handler=None, **kwargs)


def test_structured_tool_calls_run_strands_and_agentkit_tools(add_tool: Any, added: list[tuple[int, int]]) -> None:
    model = ScriptedModel(
        [
            Turn(
                calls=[
                    ToolCall(name="add", arguments={"a": 2, "b": 3}),
                    ToolCall(name="calculator", arguments={"expression": "6*7"}),
                ]
            ),
            "The sum is 5 and the product is 42.",
        ]
    )
    agent = _strands_agent(model, [to_strands_tool(add_tool), calculator])

    result = agent("add 2 and 3, multiply 6 by 7")

    assert str(result).strip() == "The sum is 5 and the product is 42."
    assert added == [(2, 3)]
    uses = {u["name"]: u for u in _tool_uses(agent)}
    results = _tool_results(agent)
    assert results[uses["add"]["toolUseId"]]["content"] == [{"text": "5"}]
    assert results[uses["calculator"]["toolUseId"]]["content"] == [{"text": "Result: 42"}]
    # The agentkit backend saw the tool results as one agentkit tool message, with names restored.
    second = model.requests[1]
    assert [m.role for m in second] == ["user", "assistant", "tool"]
    assert {(r.name, r.content) for r in second[2].tool_results} == {("add", "5"), ("calculator", "Result: 42")}


def test_qwen3_coder_text_calls_are_recovered_into_strands_tool_uses(
    add_tool: Any, added: list[tuple[int, int]]
) -> None:
    model = ScriptedModel([QWEN_CALLS, "Both are 42."])
    agent = _strands_agent(model, [to_strands_tool(add_tool), calculator])

    result = agent("what are 40+2 and 6*7?")

    assert str(result).strip() == "Both are 42."
    assert added == [(40, 2)]  # Qwen3-Coder strings coerced to the schema's integers
    uses = _tool_uses(agent)
    assert [(u["name"], u["input"]) for u in uses] == [
        ("add", {"a": 40, "b": 2}),
        ("calculator", {"expression": "6*7"}),
    ]
    results = _tool_results(agent)
    assert [results[u["toolUseId"]]["content"][0]["text"] for u in uses] == ["42", "Result: 42"]
    # The text around the calls stays text; the raw XML does not reach the conversation.
    first_reply = agent.messages[1]["content"]
    assert first_reply[0]["text"].strip() == "I will compute both."
    assert "<tool_call>" not in str(agent.messages)


def test_agentkit_validation_failure_is_a_strands_error_result(add_tool: Any, added: list[tuple[int, int]]) -> None:
    model = ScriptedModel([ToolCall(name="add", arguments={"a": "two", "b": 3, "c": 1}), "sorry"])
    agent = _strands_agent(model, [to_strands_tool(add_tool)])

    agent("add")

    assert added == []
    (result,) = _tool_results(agent).values()
    assert result["status"] == "error"
    text = result["content"][0]["text"]
    assert "invalid arguments for tool 'add'" in text
    assert "$.a: expected integer, got string" in text
    assert "'c'" in text  # the unknown key is named, not silently dropped as Strands' @tool would


def test_tool_exception_becomes_error_result() -> None:
    @tool
    def explode(reason: str) -> str:
        """Fail on purpose."""
        raise RuntimeError(f"kaboom {reason}")

    agent = _strands_agent(
        ScriptedModel([ToolCall(name="explode", arguments={"reason": "now"}), "ok"]), [to_strands_tool(explode)]
    )
    agent("go")

    (result,) = _tool_results(agent).values()
    assert result["status"] == "error"
    assert result["content"][0]["text"] == "Error: RuntimeError - kaboom now"


def test_reasoning_text_and_usage_reach_strands() -> None:
    turn = Turn(reasoning="think first", text="answer", usage=Usage(input_tokens=11, output_tokens=4))
    agent = _strands_agent(ScriptedModel([turn]), [])

    result = agent("q")

    content = agent.messages[-1]["content"]
    assert content[0] == {"reasoningContent": {"reasoningText": {"text": "think first"}}}
    assert content[1] == {"text": "answer"}
    usage = result.metrics.accumulated_usage
    assert (usage["inputTokens"], usage["outputTokens"], usage["totalTokens"]) == (11, 4, 15)
    assert result.stop_reason == "end_turn"


def test_history_and_system_prompt_are_translated_for_the_backend(add_tool: Any) -> None:
    model = ScriptedModel([Turn(reasoning="r", calls=[ToolCall(name="add", arguments={"a": 1, "b": 1})]), "two"])
    agent = _strands_agent(model, [to_strands_tool(add_tool)], system_prompt="Be brief.")

    agent("1+1?")

    system, user, assistant, tool_message = model.requests[1]
    assert (system.role, system.content) == ("system", "Be brief.")
    assert (user.role, user.content) == ("user", "1+1?")
    assert assistant.reasoning == "r"
    assert [(c.name, c.arguments) for c in assistant.tool_calls] == [("add", {"a": 1, "b": 1})]
    assert tool_message.tool_results[0].call_id == assistant.tool_calls[0].id
    assert tool_message.tool_results[0].content == "2"


class _MaxTokensModel:
    name = "max-tokens"
    text_format: str | None = None

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        self.settings = settings
        yield TextDelta(text="cut o")
        yield TurnEnd(stop_reason="max_tokens")


def test_stop_reason_and_settings_cross_the_border() -> None:
    backend = _MaxTokensModel()
    provider = AgentkitModelProvider(backend, max_tokens=5, temperature=0.1, seed=7)
    agent = strands.Agent(model=provider, callback_handler=None)

    with pytest.raises(MaxTokensReachedException):
        agent("long story")

    assert (backend.settings.max_tokens, backend.settings.temperature) == (5, 0.1)
    assert backend.settings.extra == {"seed": 7}
    assert provider.get_config()["model_id"] == "max-tokens"
    provider.update_config(temperature=0.5)
    assert provider.get_config()["temperature"] == 0.5


class Person(pydantic.BaseModel):
    """A person."""

    name: str
    age: int


async def _structured(provider: AgentkitModelProvider) -> list[dict[str, Any]]:
    return [event async for event in provider.structured_output(Person, [{"role": "user", "content": [{"text": "x"}]}])]


def test_structured_output_through_a_tool_call() -> None:
    provider = AgentkitModelProvider(ScriptedModel([ToolCall(name="Person", arguments={"name": "Ada", "age": "36"})]))

    events = anyio.run(_structured, provider)

    assert events[-1] == {"output": Person(name="Ada", age=36)}


def test_structured_output_that_never_validates_is_an_output_error_keeping_the_raw_answer() -> None:
    provider = AgentkitModelProvider(ScriptedModel(["no tool for you", "still none", "never"]))

    with pytest.raises(OutputError, match="AgentkitModelProvider: model 'scripted' gave no valid Person after 3 tries"):
        anyio.run(_structured, provider)
    provider = AgentkitModelProvider(ScriptedModel(["no", "never"]), structured_output_retries=1)
    with pytest.raises(OutputError, match="after 2 tries") as caught:
        anyio.run(_structured, provider)
    assert caught.value.raw == "never"


def test_structured_output_sends_the_exact_errors_back_then_accepts_the_fixed_call() -> None:
    first, fixed = {"name": "Ada"}, {"name": "Ada", "age": 36}
    model = ScriptedModel([ToolCall(name="Person", arguments=first), ToolCall(name="Person", arguments=fixed)])

    events = anyio.run(_structured, AgentkitModelProvider(model))

    assert events[-1] == {"output": Person(name="Ada", age=36)}
    error = model.requests[1][-1].tool_results[0]
    assert error.is_error and "age: Field required" in error.content


@pytest.mark.parametrize(
    "answer",
    [
        '{"name": "Ada", "age": 36}',
        '<think>\nwho is it\n</think>\n\n```json\n{"name": "Ada", "age": 36}\n```',
        '<|channel|>final<|message|>{"name": "Ada", "age": 36}<|return|>',
    ],
)
def test_structured_output_from_a_backend_that_cannot_force_a_call_reads_json_text(answer: str) -> None:
    """A local model (no tool_choice) may answer with the JSON alone, in any of the three text formats."""
    fmt = "harmony" if "<|channel|>" in answer else "hermes"
    model = ScriptedModel(['{"name": "Ada"}', answer], text_format=fmt)

    events = anyio.run(_structured, AgentkitModelProvider(model))

    assert events[-1] == {"output": Person(name="Ada", age=36)}
    assert "or with only a JSON value" in model.requests[0][-1].content
    assert "age: Field required" in model.requests[1][-1].content


def test_a_strands_agent_gets_typed_output_from_a_text_only_backend() -> None:
    """strands.Agent.structured_output (the model's own method) on a backend that answers with JSON text."""
    agent = _strands_agent(ScriptedModel(['{"name": "Ada", "age": 36}']), [])

    with pytest.warns(DeprecationWarning):
        assert agent.structured_output(Person, "who?") == Person(name="Ada", age=36)


def test_bad_inputs_get_clear_errors() -> None:
    with pytest.raises(ConfigError, match="AgentkitModelProvider wraps an agentkit Model"):
        AgentkitModelProvider("qwen")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="to_strands_tool takes an agentkit Tool"):
        to_strands_tool(lambda: 1)  # type: ignore[arg-type]


def test_strands_structured_output_model_path() -> None:
    """Strands 1.62's supported path: the agent registers a tool for the output model and the backend calls it."""
    agent = _strands_agent(ScriptedModel([ToolCall(name="Person", arguments={"name": "Ada", "age": 36})]), [])

    result = agent("who?", structured_output_model=Person)

    assert result.structured_output == Person(name="Ada", age=36)


def test_unreadable_text_calls_reach_the_model_as_errors(add_tool: Any, added: list[tuple[int, int]]) -> None:
    named = '<tool_call>\n{"name": "add", "arguments": "oops"}\n</tool_call>'
    nameless = '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": }}\n</tool_call>'
    agent = _strands_agent(ScriptedModel([named, nameless, "let me retry"]), [to_strands_tool(add_tool)])

    result = agent("add")

    assert added == []
    first, second = _tool_uses(agent)
    results = _tool_results(agent)
    assert first["name"] == "add"
    text = results[first["toolUseId"]]["content"][0]["text"]
    assert text == (
        'could not read this tool call: "arguments" is a string, not a JSON object. '
        "Send it again in the documented format."
    )
    # Without a readable name there is no tool to answer; Strands still reports an error instead of dropping it.
    assert second["name"] == "unreadable_tool_call"
    assert results[second["toolUseId"]]["status"] == "error"
    assert str(result).strip() == "let me retry"


def test_strands_blank_text_placeholder_is_not_shown_to_the_backend() -> None:
    model = ScriptedModel([Turn(text=""), "second answer"])
    agent = _strands_agent(model, [])

    agent("first")
    agent("again")

    earlier_reply = model.requests[1][1]
    assert earlier_reply.role == "assistant"
    assert earlier_reply.content == ""
    assert "[blank text]" not in str(model.requests[1])


class _Recorder(ScriptedModel):
    def __init__(self, script: Any) -> None:
        super().__init__(script)
        self.choices: list[Any] = []

    async def stream(self, messages, tools, settings):  # type: ignore[no-untyped-def,override]
        self.choices.append((settings.tool_choice, settings.extra.get("tool_choice")))
        async for event in super().stream(messages, tools, settings):
            yield event


def test_structured_output_forces_the_tool_in_agentkit_terms() -> None:
    """Strands' {"tool": {"name": N}} must not reach an OpenAI server as is (llama-cpp-python: HTTP 500)."""
    backend = _Recorder([ToolCall(name="Person", arguments={"name": "Ada", "age": 36})])
    anyio.run(_structured, AgentkitModelProvider(backend))
    assert backend.choices == [("Person", None)]


@pytest.mark.parametrize(
    ("strands", "ours"),
    [(None, None), ({"auto": {}}, "auto"), ({"any": {}}, "required"), ({"tool": {"name": "f"}}, "f")],
)
def test_strands_tool_choice_shapes(strands: Any, ours: Any) -> None:
    assert AgentkitModelProvider(ScriptedModel(["x"]))._settings(strands).tool_choice == ours


def test_unknown_strands_tool_choice_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown Strands tool_choice"):
        AgentkitModelProvider(ScriptedModel(["x"]))._settings({"some": 1})
