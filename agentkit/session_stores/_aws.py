"""boto3 clients for the S3 and AgentCore Memory stores, made on first use.

Each client has a botocore session of its own (credentials are never shared between stores), but all share
one loader of the service models: parsing those JSON files is most of a new client's cost (~170 ms against
~15 ms), and `Agent(session="s3://...")` makes a store, and so a client, per agent.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from agentkit.errors import MissingExtra, SessionError

__all__ = ["LazyClient", "aws_errors", "error_said", "new_client"]


@functools.cache
def _shared_loader() -> Any:
    import botocore.loaders

    return botocore.loaders.create_loader()


def new_client(service: str, region: str | None) -> Any:
    try:
        import boto3
        import botocore.session
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingExtra("boto3", "aws") from exc
    core = botocore.session.Session()
    core.register_component("data_loader", _shared_loader())
    return boto3.session.Session(botocore_session=core).client(service, region_name=region)


class LazyClient:
    """A store's client: the one given, else `new_client(service, region)` on first use (once, from any thread)."""

    def __init__(self, service: str, region: str | None, client: Any = None) -> None:
        self.service, self.region = service, region
        self._client = client
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = new_client(self.service, self.region)
            return self._client


@contextmanager
def aws_errors(action: str, refused: Callable[[Any], NoReturn]) -> Iterator[None]:
    """botocore's errors become SessionErrors at a store's edge: `refused(exc)` raises for a service's answer
    (a ClientError), missing credentials and other botocore failures say what could not be done and why."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except ClientError as exc:
        refused(exc)
    except NoCredentialsError:
        raise SessionError(
            f"cannot {action}: no AWS credentials; configure them (AWS_PROFILE, aws configure, a role)"
        ) from None
    except BotoCoreError as exc:
        raise SessionError(f"cannot {action}: {exc}") from None


def error_said(exc: Any) -> tuple[str, str]:
    """A ClientError's code, and its message on one line of at most 200 characters."""
    error = exc.response.get("Error", {})
    return str(error.get("Code", "")), " ".join(str(error.get("Message", "")).split())[:200]
