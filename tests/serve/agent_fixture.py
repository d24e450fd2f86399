"""The agent `agentkit serve` runs in these tests: a FunctionModel, no network.

- "slow ..." sleeps 1 s inside the model (a blocking call), so /ping can be seen saying HealthyBusy.
- "boom" fails with an error whose text holds a fake secret; it must never reach the client.
  "boom later" fails the same way, after a first turn has already streamed events.
- "pause ..." calls the `note` tool, then waits 2 s (awaiting, as a network backend does) in the next model
  turn; a test disconnects there.
- "transfer ..." calls the `transfer` tool, which takes 1 s and appends a line to
  $AGENTKIT_HOME/transfers.txt (not idempotent); a test disconnects while it runs.
Otherwise the reply lists every user prompt of the conversation so far, so sessions are visible.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio

from agentkit import Agent, FunctionModel, ToolCall, Turn, tool
from agentkit.tooling import InProcessExecutor

SECRET = "AKIAFAKESECRET1234567890"


@tool
def note(text: str = "") -> str:
    """Remember a note."""
    return "noted"


@tool
def transfer(amount: int) -> str:
    """Move money (takes a second)."""
    time.sleep(1.0)
    with (Path(os.environ["AGENTKIT_HOME"]) / "transfers.txt").open("a") as fh:
        fh.write(f"{amount}\n")
    return f"moved {amount}"


def reply(messages, tools):
    prompts = [m.content for m in messages if m.role == "user"]
    last = prompts[-1]
    if last.startswith("slow"):
        time.sleep(1.0)
    if last == "boom":
        raise RuntimeError(f"backend refused key {SECRET}")
    if last == "boom later":
        if messages[-1].role != "tool":
            return Turn(text="first a note", calls=[ToolCall(name="note", arguments={"text": "y"})])
        raise RuntimeError(f"backend refused key {SECRET}")
    if last.startswith("transfer"):
        if messages[-1].role != "tool":
            return Turn(text="transferring", calls=[ToolCall(name="transfer", arguments={"amount": 5})])
        return "transfer done"
    if last.startswith("pause"):
        if messages[-1].role != "tool":
            return Turn(text="working on it", calls=[ToolCall(name="note", arguments={"text": "x"})])
        return "finished the pause"
    return "heard: " + " | ".join(prompts)


class PausingModel:
    """FunctionModel(reply), except that the turn after the `note` call first awaits 2 s."""

    name = "pausing"
    text_format = "auto"

    def __init__(self) -> None:
        self.inner = FunctionModel(reply)

    async def stream(self, messages, tools, settings):
        if messages[-1].role == "tool":
            await anyio.sleep(2.0)
        async for event in self.inner.stream(messages, tools, settings):
            yield event


agent = Agent(model=PausingModel(), tools=[note, transfer], executor=InProcessExecutor())
