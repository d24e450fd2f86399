"""A real S3 endpoint on loopback for tests: moto in server mode, in a thread of the test process."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from _requires import require

MOTO = importlib.util.find_spec("moto") is not None and importlib.util.find_spec("flask") is not None
# what boto3 reads, in this process and in the servers the tests start
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def require_moto() -> None:
    require(MOTO, "moto's S3 server", "pip install 'moto[server]' (in agentkit[dev])")


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto's server on 127.0.0.1 and yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def new_bucket(endpoint: str) -> str:
    name = f"sessions-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name
