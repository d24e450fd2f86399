"""Long runs that fit the model's context window.

The transcript stays whole; the model is sent a view of it (`ContextManager`), reduced by a
`ContextStrategy` when its estimate passes the window: `ClearToolResults`, `SlidingWindow`, `Summarize`, or a
`Chain` of them (the default clears old tool results, then leaves out the oldest turns). The window comes from
`find_window` (the agent's `context_window=`, the backend, the server, or the Bedrock table); an overflow
the backend still reports (`agentkit.errors.ContextOverflow`) reduces the view and retries the turn once.
"""

from agentkit.context.manager import ContextManager, ContextReduced
from agentkit.context.strategies import (
    Chain,
    ClearToolResults,
    ContextStrategy,
    SlidingWindow,
    Summarize,
    View,
    default_strategy,
)
from agentkit.context.view import Counter, Entry
from agentkit.context.windows import BEDROCK_WINDOWS, find_window

__all__ = [
    "BEDROCK_WINDOWS",
    "Chain",
    "ClearToolResults",
    "ContextManager",
    "ContextReduced",
    "ContextStrategy",
    "Counter",
    "Entry",
    "SlidingWindow",
    "Summarize",
    "View",
    "default_strategy",
    "find_window",
]
