#!/usr/bin/env bash
# The sandbox, repo-optimizer and edit-tool tests once per sandbox backend that works on this machine
# (AGENTKIT_SANDBOX_BACKEND forces it wherever no backend is passed explicitly); rlimits isolates nothing, so
# it is not one of them (tests/sandbox/test_attacks.py covers it). The plain `pytest -q` run
# already covers the strongest backend; this covers the fallbacks a machine without bubblewrap would use.
set -euo pipefail
cd "$(dirname "$0")/../.."
backends=$(python - <<'PY'
from agentkit.sandbox.detect import probe
print(" ".join(b for b in probe().available() if b in ("bwrap", "landlock")))
PY
)
if [ -z "$backends" ]; then
  echo "no isolating sandbox backend works here (run: agentkit sandbox doctor)" >&2
  exit 1
fi
for backend in $backends; do
  echo "== sandbox backend: $backend"
  AGENTKIT_SANDBOX_BACKEND=$backend python -m pytest -q -p no:cacheprovider tests/sandbox tests/agents tests/tools/test_edit.py
done
