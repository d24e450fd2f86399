"""A chain of backends: when one cannot serve a turn, the next one does.

`FallbackModel([primary, secondary, ...])` moves on when a backend raises ModelUnavailable (connection,
credentials, throttling, availability) or ModelTimeout before it yielded any event of the turn. A
validation error (a bad request) is raised at once: the next backend would reject it too. Once a backend
has yielded part of a turn, its failure is raised as is, so no turn is ever stitched from two models.

Which backend served a turn is in `TurnEnd.meta["served_by"]` and in the `served_by` attribute;
`TurnEnd.meta["skipped"]` lists the backends that failed first, with their errors.

Its context window (`fetch_context_window`) is the smallest its backends know: the view is made before the
turn, when which backend will serve it is not yet known, so it must fit any of them. A backend whose window
nothing says is left out of that minimum; should it be the one to overflow, the retry fits the window it names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from agentkit.errors import ConfigError, ModelTimeout, ModelUnavailable
from agentkit.messages import Message, StreamEvent, TurnEnd
from agentkit.models.base import Model, ModelSettings, with_text_calls
from agentkit.tooling import ToolDefinition

__all__ = ["FallbackModel"]


class FallbackModel:
    """Try each backend in order for every turn."""

    def __init__(
        self,
        models: Sequence[Model | str],
        *,
        fall_back_on: tuple[type[BaseException], ...] = (ModelUnavailable, ModelTimeout),
        name: str | None = None,
    ) -> None:
        if not models:
            raise ConfigError("FallbackModel needs at least one backend, for example FallbackModel([primary, backup])")
        from agentkit.models.resolve import resolve_model

        self.models: list[Model] = [resolve_model(m) for m in models]
        self.fall_back_on = fall_back_on
        self.name = name or "fallback(" + ", ".join(m.name for m in self.models) + ")"
        # Each backend's text is read with its own format as it serves, so the loop parses nothing more.
        self.text_format: str | None = None
        # a typed result may force its answer tool only if whichever backend serves the turn can (agentkit.output)
        self.supports_tool_choice = all(getattr(m, "supports_tool_choice", False) for m in self.models)
        self.served_by: str | None = None
        self.last_errors: list[tuple[str, BaseException]] = []  # backends skipped on the last turn

    def __repr__(self) -> str:
        return f"FallbackModel({self.models!r})"

    async def fetch_context_window(self) -> int | None:
        """The smallest window among the backends that know theirs (see the module docstring)."""
        from agentkit.context.windows import find_window  # agentkit.context imports the models package

        windows = [w for w in [await find_window(m) for m in self.models] if w is not None]
        return min(windows, default=None)

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        skipped: list[tuple[str, BaseException]] = []
        for model in self.models:
            try:
                progress = [False]
                raw = _noting_output(model.stream(messages, tools, settings), progress)
                async for event in with_text_calls(raw, model, tools):
                    if isinstance(event, TurnEnd):
                        self._mark(event, model, skipped)
                    yield event
                return
            except self.fall_back_on as exc:
                if progress[0]:  # the backend already produced part of the turn (even if the parser held it)
                    raise
                skipped.append((model.name, exc))
        self.last_errors = list(skipped)
        raise _exhausted(skipped)

    def _mark(self, event: TurnEnd, model: Model, skipped: list[tuple[str, BaseException]]) -> None:
        self.served_by = model.name
        self.last_errors = list(skipped)
        event.meta["served_by"] = model.name
        if skipped:
            event.meta["skipped"] = [{"model": name, "error": str(exc)} for name, exc in skipped]


def _exhausted(skipped: list[tuple[str, BaseException]]) -> ModelUnavailable:
    lines = "\n".join(f"- {name}: {exc}" for name, exc in skipped)
    error = ModelUnavailable(f"no backend could serve this turn; each failed:\n{lines}\nFix one of them and retry")
    error.__cause__ = skipped[-1][1] if skipped else None
    return error


async def _noting_output(stream: AsyncIterator[StreamEvent], progress: list[bool]) -> AsyncIterator[StreamEvent]:
    async for event in stream:
        progress[0] = True
        yield event
