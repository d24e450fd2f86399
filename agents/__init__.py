"""Ready-made agents (installed as `agentkit.agents`), and how any agent definition is found.

An agent definition is small: a name, a one-line description, the options it takes, and `build(model,
options) -> Agent` that puts the model, tools, system prompt and limits together. The shipped agents
("assistant", "repo-optimizer") are registered under the `agentkit.agents` entry-point group, the same
seam a plugin uses. `load_definition` also reads a user's own file or module:

    # my_agent.py: any ONE of these
    agent = Agent(model=..., tools=[...])                 # a ready Agent
    def build(model=None): return Agent(model=model, ...)  # a factory taking the --model value
    AGENT = AgentDefinition(name=..., build=...)          # a full definition with options

`agentkit run path/to/my_agent.py "prompt"` or `agentkit run my_package.my_module:agent "prompt"`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit.agent import Agent
from agentkit.errors import ConfigError

__all__ = ["AgentDefinition", "AgentOption", "available_agents", "load_definition"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentOption:
    """One command-line option (or positional argument) of an agent."""

    name: str  # python name, e.g. "test" -> --test
    help: str
    default: Any = None
    is_flag: bool = False
    positional: bool = False
    required: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDefinition:
    name: str
    description: str
    build: Callable[..., Agent]  # build(model, **options) -> Agent
    options: tuple[AgentOption, ...] = ()
    takes_prompt: bool = True
    finish: Callable[[Agent, Any], str | None] | None = field(default=None)  # a closing report, if any

    def create(self, model: Any = None, **options: Any) -> Agent:
        return self.build(model, **options)


def available_agents() -> dict[str, AgentDefinition]:
    """The agents registered under the `agentkit.agents` entry-point group, by name."""
    found: dict[str, AgentDefinition] = {}
    for ep in importlib.metadata.entry_points(group="agentkit.agents"):
        try:
            definition = ep.load()
        except Exception as exc:  # one broken plugin must not hide the others
            print(f"warning: agent plugin {ep.name!r} failed to load: {exc}", file=sys.stderr)
            continue
        if isinstance(definition, AgentDefinition):
            found.setdefault(definition.name, definition)
    return dict(sorted(found.items()))


def load_definition(spec: str) -> AgentDefinition:
    """A registered agent name, a path to a .py file, or `module:attribute`."""
    registered = available_agents()
    if spec in registered:
        return registered[spec]
    if spec.endswith(".py") or os.sep in spec:
        return _from_namespace(_load_file(Path(spec)), spec, None)
    if ":" in spec:
        module_name, _, attribute = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(f"cannot import {module_name!r} for agent {spec!r}: {exc}") from None
        return _from_namespace(vars(module), spec, attribute)
    names = ", ".join(registered) or "(none)"
    raise ConfigError(f"unknown agent {spec!r}: use one of {names}, a path to a .py file, or module:attribute")


def _load_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"agent file {str(path)!r} does not exist")
    module_spec = importlib.util.spec_from_file_location(f"agentkit_user_agent_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise ConfigError(f"cannot load {str(path)!r} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(f"agent file {str(path)!r} failed to load: {type(exc).__name__}: {exc}") from None
    return vars(module)


def _from_namespace(namespace: dict[str, Any], spec: str, attribute: str | None) -> AgentDefinition:
    names = [attribute] if attribute else ["AGENT", "agent", "build"]
    for name in names:
        if name not in namespace:
            continue
        return _as_definition(namespace[name], Path(spec).stem if attribute is None else name)
    wanted = attribute or "one of AGENT (an AgentDefinition), agent (an Agent) or build (a function)"
    raise ConfigError(f"{spec!r} defines no {wanted}")


def _as_definition(obj: Any, name: str) -> AgentDefinition:
    if isinstance(obj, AgentDefinition):
        return obj
    if isinstance(obj, Agent):
        ready = obj

        def build_ready(model: Any = None) -> Agent:
            if model is not None:
                ready.model = Agent(model=model).model
            return ready

        return AgentDefinition(name=name, description=ready.system_prompt or name, build=build_ready)
    if callable(obj):
        takes_model = bool(inspect.signature(obj).parameters)

        def build_factory(model: Any = None) -> Agent:
            agent = obj(model) if takes_model else obj()
            if not isinstance(agent, Agent):
                raise ConfigError(f"{name}() returned {type(agent).__name__}, not an agentkit Agent")
            if model is not None and not takes_model:
                agent.model = Agent(model=model).model
            return agent

        return AgentDefinition(
            name=name, description=(obj.__doc__ or name).strip().splitlines()[0], build=build_factory
        )
    raise ConfigError(f"{name!r} is a {type(obj).__name__}; expected an AgentDefinition, an Agent or a function")
