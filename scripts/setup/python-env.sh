#!/usr/bin/env bash
# Creates (idempotently) the Python environment for the reference fixtures and
# the engine benchmark: OFA's PyTorch code, onnxruntime. Not needed for tests.
# Prints the interpreter path on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${PNAG_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" >&2
fi
PY="$VENV/bin/python"
if ! "$PY" -c "import torch, torchvision, ofa, onnxruntime, onnx, safetensors" 2>/dev/null; then
    "$PY" -m pip install -q torch==2.13.0 'torchvision==0.28.*' pillow numpy safetensors onnx onnxruntime >&2
    # ofa pins old dependencies; install its (MIT) source only.
    "$PY" -m pip install -q --no-deps ofa >&2
fi
echo "$PY"
