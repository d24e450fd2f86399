"""Session stores: where `agentkit.sessions.Session` keeps transcripts, chosen by URL.

    /some/folder  or  file:///some/folder        one fsynced JSONL file per session (the default:
                                                 $AGENTKIT_HOME/sessions)
    s3://BUCKET/PREFIX                           one S3 object per record under PREFIX/ID/ (agentkit[aws])
    agentcore-memory://MEMORY_ID                 one AgentCore Memory short-term event per record, for the
    agentcore-memory://MEMORY_ID/ACTOR           actor ACTOR (default "agentkit") (agentkit[aws])

A URL names a store; the same URL followed by `/ID` names one session in it (`Agent(session=
"s3://bucket/prefix/ID")`). Options go in the query: `region=` (S3 and AgentCore Memory; default: boto3's
own), `lease=SECONDS` (S3: how long a writer that stopped renewing its lock keeps it, default 30). The
endpoint and credentials are boto3's usual settings (AWS_ENDPOINT_URL_S3, AWS_PROFILE, ...).

$AGENTKIT_SESSIONS names the default store (for `agentkit run`, `agentkit serve`, `agentkit sessions`).
"""

from __future__ import annotations

import re
import urllib.parse

from agentkit.errors import ConfigError
from agentkit.session_stores.base import RawRecord, SessionStore, StoredSession, Transcript
from agentkit.session_stores.local import LocalStore

__all__ = [
    "SESSIONS_ENV",
    "RawRecord",
    "SessionStore",
    "StoredSession",
    "Transcript",
    "open_store",
    "split_session_url",
]

SESSIONS_ENV = "AGENTKIT_SESSIONS"
_FORMS = "use a folder, s3://BUCKET/PREFIX or agentcore-memory://MEMORY_ID[/ACTOR]"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SEGMENT = re.compile(r"^[A-Za-z0-9!_.*'()=+@:-]{1,255}$")  # a prefix segment: S3's safe key characters
_MEMORY_ID = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,99}-[a-zA-Z0-9]{10}$")
_ACTOR = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_:/-]{0,254}$")
_MAX_URL = 2048  # S3 keys are at most 1,024 bytes; a longer URL names nothing
_OPTIONS = {"s3": {"region", "lease"}, "agentcore-memory": {"region"}}
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")  # it ends up in IAM ARNs `agentkit deploy` writes


def open_store(url: str) -> SessionStore:
    """The store a URL (or folder path) names; ConfigError, in one line, for a URL it cannot be."""
    if "://" not in url:
        if not url.strip():
            raise _bad(url, "is empty")
        return LocalStore(url)
    parts = _split(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise _bad(url, "is not a local folder (file:///ABSOLUTE/PATH)")
        return LocalStore(urllib.parse.unquote(parts.path))
    if scheme not in _OPTIONS:
        raise _bad(url, f"has an unknown scheme {parts.scheme!r}")
    if parts.fragment:
        raise _bad(url, "has a #fragment")
    options = _options(url, parts.query, _OPTIONS[scheme])
    segments = [s for s in parts.path.split("/") if s]
    if "//" in parts.path.strip("/"):
        raise _bad(url, "has an empty path segment")
    if scheme == "s3":
        return _s3_store(url, parts.netloc, segments, options)
    return _memory_store(url, parts.netloc, segments, options)


def split_session_url(url: str) -> tuple[str, str]:
    """A session URL (a store URL followed by `/ID`) -> (the store URL, the ID)."""
    parts = _split(url)
    head, _, name = parts.path.rpartition("/")
    if not name or (parts.scheme.lower() != "file" and not parts.netloc):
        raise _bad(url, "names no session: add /SESSION_ID to a store URL")
    return urllib.parse.urlunsplit(parts._replace(path=head)), urllib.parse.unquote(name)


def _split(url: str) -> urllib.parse.SplitResult:
    if len(url) > _MAX_URL:
        raise _bad(url, f"is longer than {_MAX_URL} characters")
    try:
        return urllib.parse.urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL" for an unclosed [, a bad port
        raise _bad(url, f"is not a URL ({exc})") from None


def _options(url: str, query: str, allowed: set[str]) -> dict[str, str]:
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _bad(url, "has a query that is not NAME=VALUE&...") from None
    options = dict(pairs)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise _bad(url, f"has an unknown option {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    if "region" in options and not _REGION.fullmatch(options["region"]):
        raise _bad(url, f"has region={options['region'][:40]!r}, which is not an AWS region name like us-west-2")
    return options


def _s3_store(url: str, bucket: str, segments: list[str], options: dict[str, str]) -> SessionStore:
    if not _BUCKET.match(bucket):
        raise _bad(url, f"has no valid bucket name ({bucket[:64]!r}: 3-63 lowercase letters, digits, '.', '-')")
    bad = next((s for s in segments if not _SEGMENT.match(s) or s in (".", "..")), None)
    if bad is not None:
        raise _bad(url, f"has a prefix segment {bad[:40]!r} that is not a plain S3 key name")
    lease = options.get("lease", "30")
    try:
        seconds = float(lease)
    except ValueError:
        seconds = -1.0
    if not 1 <= seconds <= 3600:
        raise _bad(url, f"has lease={lease[:20]!r}; give seconds between 1 and 3600")
    from agentkit.session_stores.s3 import S3Store

    return S3Store(bucket, "/".join(segments), region=options.get("region"), lease=seconds, url=url)


def _memory_store(url: str, memory_id: str, segments: list[str], options: dict[str, str]) -> SessionStore:
    if not _MEMORY_ID.match(memory_id):
        raise _bad(url, f"has no valid memory id ({memory_id[:100]!r}, such as my_memory-AbCdE12345)")
    actor = "/".join(segments) or "agentkit"
    if not _ACTOR.match(actor):
        raise _bad(url, f"has an actor id {actor[:40]!r} that AgentCore Memory does not accept")
    from agentkit.session_stores.agentcore_memory import AgentCoreMemoryStore

    return AgentCoreMemoryStore(memory_id, actor, region=options.get("region"), url=url)


def _bad(url: str, problem: str) -> ConfigError:
    shown = repr(url[:120]) + ("..." if len(url) > 120 else "")
    return ConfigError(f"session store {shown} {problem}; {_FORMS}")
