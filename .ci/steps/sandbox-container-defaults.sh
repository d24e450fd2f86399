#!/usr/bin/env bash
# Root in a container with a runtime's defaults: no namespace can be made (.ci/container-defaults) and the cgroup
# hierarchy is read-only (.ci/without-cgroups), so bubblewrap cannot run and landlock runs commands as uid 65534
# on the host. The sandbox, repo-optimizer and edit-tool tests then run on landlock, from a copy of the repository
# and a virtual environment of the system's Python, both of which uid 65534 can reach (a Python beneath /root,
# as pyenv installs it, is out of its reach: agentkit refuses that with one clear error, tested in
# tests/sandbox/test_root_identity.py). CI is unset for pytest: the parts that cannot work here by design
# (bubblewrap) are skipped, not failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ] || [ "$(uname -m)" != x86_64 ]; then
  echo "this step is about root in a container on x86_64; CI runs it so (skipped: uid $(id -u), $(uname -m))"
  exit 0
fi
python=/usr/bin/python3
[ -x "$python" ] || { echo "this step needs the system's Python: apt-get install python3 python3-venv" >&2; exit 1; }
work=$(mktemp -d /tmp/agentkit-container-XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
git clone -q "$PWD" "$work/repo"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q -e "$work/repo" pytest pytest-timeout hypothesis
cd "$work/repo"
echo "== sandbox backend: landlock, as root with a container's defaults (no namespaces, cgroups read-only)"
AGENTKIT_SANDBOX_BACKEND=landlock PATH="$work/venv/bin:$PATH" env -u CI .ci/without-cgroups \
  .ci/container-defaults "$work/venv/bin/python" -m pytest -q -p no:cacheprovider \
  tests/sandbox tests/agents tests/tools/test_edit.py
