"""A --sessions URL's options end up in the IAM policy, the CloudFormation template and the runtime's environment:
a region that is not a region name is refused (it could widen the grant: `?region=*` named every region, and
`?region=us-east-1:*:memory/*` every account), here and wherever a store URL is read."""

from __future__ import annotations

import pytest

from agentkit import deploy
from agentkit.errors import ConfigError
from agentkit.session_stores import open_store

MEMORY = "agentkit_sessions-a1B2c3D4e5"
HOSTILE_REGIONS = ["*", "us-east-1:*:memory/*%23", "us-west-2%0A", "${AWS::Region}", "us-west-2*", "", "US-WEST-2"]


@pytest.mark.parametrize("region", HOSTILE_REGIONS)
@pytest.mark.parametrize("store", [f"agentcore-memory://{MEMORY}", "s3://team-agents/prod"])
def test_a_store_url_with_a_region_that_is_not_a_region_name_is_refused(store: str, region: str) -> None:
    url = f"{store}?region={region}"
    with pytest.raises(ConfigError, match="not an AWS region name like us-west-2"):
        open_store(url)
    config = deploy.DeployConfig(agent="assistant", name="assistant", account="123456789012", sessions=url)
    with pytest.raises(ConfigError, match="not an AWS region name"):
        deploy.render(config)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "us-gov-west-1", "ap-southeast-2", "cn-north-1"])
def test_region_names_are_still_accepted(region: str) -> None:
    assert open_store(f"agentcore-memory://{MEMORY}?region={region}").region == region  # type: ignore[attr-defined]


def test_the_readme_commands_quote_every_value_for_the_shell() -> None:
    import re
    import shlex

    sessions = "s3://team-agents/prod?region=eu-west-1&lease=60"
    config = deploy.DeployConfig(
        agent="my agent.py", name="assistant", account="123456789012", sessions=sessions, model="m;touch x"
    )
    readme = deploy.render(config)["README.md"]
    commands = [c for c in re.findall(r"`(agentkit [^`]+)`", readme.replace("\n     ", " ")) if "deploy" in c]
    assert commands
    for command in commands:
        words = shlex.split(command)
        assert words[:4] == ["agentkit", "deploy", "agentcore", "my agent.py"]
        assert words[words.index("--sessions") + 1] == sessions
        assert words[words.index("--model") + 1] == "m;touch x"
