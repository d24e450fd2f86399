"""Packing the installed agentkit back into a wheel takes only files inside the install: a RECORD line naming an
absolute path or climbing out with `..` never puts a host file (credentials, /etc) into the image."""

from __future__ import annotations

from importlib.metadata import PackagePath

import pytest

from agentkit.deploy_wheel import _belongs_in_wheel


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "agentkit/../../../.aws/credentials", "../../../bin/agentkit", "agentkit/x/../../../../etc/shadow"],
)
def test_a_record_path_outside_the_install_is_left_out(path: str) -> None:
    assert not _belongs_in_wheel(PackagePath(path))


@pytest.mark.parametrize("path", ["agentkit/__init__.py", "agentkit-0.1.dist-info/METADATA", "agentkit/py.typed"])
def test_files_of_the_install_are_packed(path: str) -> None:
    assert _belongs_in_wheel(PackagePath(path))
