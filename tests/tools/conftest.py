from __future__ import annotations

from collections.abc import Iterator

import pytest

from .open_meteo_server import FakeOpenMeteo


@pytest.fixture
def open_meteo() -> Iterator[FakeOpenMeteo]:
    server = FakeOpenMeteo().start()
    try:
        yield server
    finally:
        server.stop()
