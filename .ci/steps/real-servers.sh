#!/usr/bin/env bash
# Real OpenAI-compatible servers (llama-cpp-python, transformers serve) and the local backend on the GGUF, with
# the real SmolLM2 model: about 3 min on 2 cores, so apart from the main pytest run (which deselects the
# real_servers marker). The parts come from .ci/setup.d/real-servers.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
pytest -q -m real_servers tests/real_servers
