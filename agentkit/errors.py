"""Every exception agentkit raises, in one tree.

    AgentkitError
    ├── ConfigError          a developer mistake, raised at definition time (bad tool, unknown model name)
    │   └── MissingExtra     an optional dependency is not installed; the message names the pip command
    ├── ToolError            a tool call that cannot run; the loop turns it into an error ToolResult
    │   ├── ToolArgumentsError   arguments that fail the tool's JSON schema (every violation listed)
    │   └── RetryTool        raised by a tool on purpose: "tell the model this and let it try again"
    ├── ModelError           a backend failed (connection, credentials, throttling, bad response)
    │   ├── ModelHTTPError   an HTTP status from the backend
    │   ├── ModelTimeout
    │   ├── ModelUnavailable a failure that a fallback chain should route around
    │   ├── ContextOverflow  the request did not fit the model's context window (keeps `limit` when known)
    │   └── OutputError      the model's answer never matched the requested output type (keeps `raw`)
    ├── SandboxError         no isolating layer, or the sandbox itself broke
    ├── SessionError         a transcript that cannot be read or resumed
    │   ├── SessionBusy      another run (this process or another) is writing the session now
    │   └── SessionDamaged   a stored record cannot be read back (the message names it)
    └── LimitExceeded        turns, tool calls or time ran out (the loop reports these as stop reasons)

Constructors only store fields; every message says what to do next, and quotes input through `clip`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AgentkitError",
    "ConfigError",
    "ContextOverflow",
    "LimitExceeded",
    "MissingExtra",
    "ModelError",
    "ModelHTTPError",
    "ModelTimeout",
    "ModelUnavailable",
    "OutputError",
    "RetryTool",
    "SandboxError",
    "SessionBusy",
    "SessionDamaged",
    "SessionError",
    "ToolArgumentsError",
    "ToolError",
    "clip",
]

QUOTE_LIMIT = 200  # characters of an argument an error message quotes


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` cut to `limit` characters, with a marker saying how much was left out.

    Every error that quotes input it was given (an argument, a name, a pattern) quotes it through this, so a
    6,000-character argument cannot make a 6,000-character error for the model to read back."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters]"


class AgentkitError(Exception):
    """The root of every agentkit error."""


class ConfigError(AgentkitError):
    """A developer mistake found at definition time."""


class MissingExtra(ConfigError):
    """An optional dependency is missing."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed; run: pip install 'agentkit[{extra}]'")
        self.package = package
        self.extra = extra


class ToolError(AgentkitError):
    """A tool call that cannot run as given."""


class ToolArgumentsError(ToolError):
    """Arguments that fail the tool's schema; `violations` holds one line per problem."""

    def __init__(self, tool: str, violations: list[str]) -> None:
        lines = "\n".join(f"- {v}" for v in violations)
        super().__init__(f"invalid arguments for tool {tool!r}:\n{lines}")
        self.tool = tool
        self.violations = violations


class RetryTool(ToolError):
    """Raised by a tool to tell the model what to fix; the message goes back as an error result."""


class ModelError(AgentkitError):
    """A model backend failed."""


class ModelHTTPError(ModelError):
    """The backend answered with an HTTP error status."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


class ModelTimeout(ModelError):
    """The backend did not answer in time."""


class ModelUnavailable(ModelError):
    """A connection, credential or availability failure: a fallback chain moves on."""


class ContextOverflow(ModelError):
    """The conversation sent was longer than the model's context window. `limit` is the window in tokens when
    the backend said it; agentkit.context reduces what is sent and retries the turn once."""

    def __init__(self, message: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class OutputError(ModelError):
    def __init__(self, message: str, raw: str) -> None:
        super().__init__(message)
        self.raw = raw  # the last answer the model gave, as it gave it


class SandboxError(AgentkitError):
    """The sandbox cannot give the isolation asked for."""


class SessionError(AgentkitError):
    """A session transcript cannot be read or resumed."""


class SessionDamaged(SessionError):
    """A stored transcript holds a record agentkit cannot read back; the message names the session and record."""


class SessionBusy(SessionError):
    """Another run holds the session's writer lock; `holder` says who ("pid 123 on host-a")."""

    def __init__(self, session: str, holder: str) -> None:
        super().__init__(
            f"session {session!r} is in use by another run ({holder}); wait for it to finish, or use another session"
        )
        self.session = session
        self.holder = holder


class LimitExceeded(AgentkitError):
    """A run limit was reached."""
