#!/usr/bin/env bash
# Root on a machine whose cgroup hierarchy is read-only (a container's /sys/fs/cgroup): the sandbox,
# repo-optimizer and edit-tool tests once per isolating backend, under .ci/without-cgroups. Processes are then
# bounded by each sandbox's PID namespace (agentkit/sandbox/pid_namespace.py), memory by RLIMIT_AS.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
  echo "this step is about root without a writable cgroup; CI runs it as root (skipped: uid $(id -u))"
  exit 0
fi
backends=$(.ci/without-cgroups python - <<'PY'
from agentkit.sandbox.detect import probe
caps = probe()
assert not caps.cgroup.ok, caps.cgroup
print(" ".join(b for b in caps.available() if b in ("bwrap", "landlock")))
PY
)
for backend in $backends; do
  echo "== sandbox backend: $backend, as root, cgroups read-only"
  AGENTKIT_SANDBOX_BACKEND=$backend .ci/without-cgroups python -m pytest -q -p no:cacheprovider \
    tests/sandbox tests/agents tests/tools/test_edit.py
done
