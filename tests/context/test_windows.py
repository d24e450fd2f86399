"""The Bedrock window table: every figure names the AWS page it comes from."""

from __future__ import annotations

import inspect

import agentkit.context.windows as windows
from agentkit.context import BEDROCK_WINDOWS


def comment_above(lines: list[str], index: int) -> str:
    """The comment lines directly above lines[index], skipping entries that share them."""
    block: list[str] = []
    i = index - 1
    while i >= 0 and (lines[i].strip().startswith("#") or lines[i].strip().startswith('"')):
        if lines[i].strip().startswith("#"):
            block.insert(0, lines[i].strip())
        elif block:  # an entry above this comment block: the block belongs to our entry
            break
        i -= 1
    return " ".join(block)


def test_every_bedrock_window_cites_its_aws_page() -> None:
    lines = inspect.getsource(windows).splitlines()
    for model_id in BEDROCK_WINDOWS:
        (index,) = [i for i, line in enumerate(lines) if line.strip().startswith(f'"{model_id}"')]
        source = comment_above(lines, index)
        assert "docs.aws.amazon.com/bedrock/" in source, f"{model_id}: no AWS page named above its figure"
