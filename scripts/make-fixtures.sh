#!/usr/bin/env bash
# Regenerates tests/fixtures/ofa_reference.json and ofa_logits.bin from OFA's
# own PyTorch code (sets up the Python environment first, idempotently).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/python-env.sh)
"$PY" tests/fixtures/make_ofa_fixtures.py
