"""A listing from AgentCore Memory (or whatever AWS_ENDPOINT_URL points at) stays bounded: a page token handed
back again, or pages that never end, give a SessionError saying so, never an endless loop."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.errors import SessionError
from agentkit.session_stores import agentcore_memory
from agentkit.session_stores.agentcore_memory import AgentCoreMemoryStore
from agentkit.sessions import Session, list_sessions

MEMORY = "agentkit_mem-AbCdE12345"


class Endless:
    """A client whose every listing page has a next token: the same one, or a new one each time."""

    def __init__(self, same_token: bool) -> None:
        self.same_token = same_token
        self.calls = 0

    def _page(self, key: str) -> dict[str, Any]:
        self.calls += 1
        if self.calls > 20_000:
            raise AssertionError("still listing after 20,000 pages")
        return {key: [], "nextToken": "again" if self.same_token else f"t{self.calls}"}

    def list_events(self, **params: Any) -> dict[str, Any]:
        return self._page("events")

    def list_sessions(self, **params: Any) -> dict[str, Any]:
        return self._page("sessionSummaries")


@pytest.mark.parametrize("same_token", [True, False], ids=["the same token", "new tokens forever"])
def test_a_listing_that_never_ends_is_a_session_error(same_token: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agentcore_memory, "MAX_PAGES", 50)
    client = Endless(same_token)
    store = AgentCoreMemoryStore(MEMORY, client=client)
    words = "the same page token twice" if same_token else "more than 50 pages of 100"
    with pytest.raises(SessionError, match=words):
        Session(store.transcript("s1")).load()
    with pytest.raises(SessionError, match=words):
        list_sessions(store)
    assert client.calls <= 2 * 50


class OddSessions:
    def list_sessions(self, **params: Any) -> dict[str, Any]:
        import datetime

        now = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)
        return {
            "sessionSummaries": [
                {"sessionId": "ok-1", "createdAt": now},
                {"sessionId": "\x1b[2Jevil", "createdAt": now},
                {"sessionId": "../x", "createdAt": now},
                {"createdAt": now},
                {"sessionId": "no-date"},
            ]
        }


def test_sessions_listed_by_the_service_that_agentkit_cannot_have_named_are_left_out() -> None:
    listed = AgentCoreMemoryStore(MEMORY, client=OddSessions()).list()
    assert [(s.id, s.updated > 0) for s in listed] == [("ok-1", True), ("no-date", False)]
