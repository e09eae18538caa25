#!/usr/bin/env bash
# The engine benchmark of the README: tract (ours) vs onnxruntime vs PyTorch.
# Sets up the Python environment (idempotently), then writes bench-out/engines/engines.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=$(bash scripts/setup/python-env.sh)
cargo run --release --locked --bin pnag -- bench engines --python "$PY" "$@"
