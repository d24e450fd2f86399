from __future__ import annotations

from collections.abc import Iterator

import pytest
from s3_support import FAKE_AWS, moto_server, new_bucket, require_moto


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    require_moto()
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the loopback S3; boto3 in this process (and its children) goes there."""
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    return new_bucket(moto_endpoint)
