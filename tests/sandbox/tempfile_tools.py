"""Module-level tools for the per-call temp dir test (imported by the warm worker)."""

from __future__ import annotations

import os
import tempfile


def leave_a_temp_file() -> str:
    """Write a file where ordinary code puts temp files, and return its path."""
    with tempfile.NamedTemporaryFile(delete=False) as fh:
        fh.write(b"left behind")
    assert os.environ["TMPDIR"] == os.path.dirname(fh.name)
    return fh.name


def exists(path: str) -> bool:
    return os.path.exists(path)
