#!/usr/bin/env bash
# Regenerates the tests/fixtures files (ofa_reference.json, ofa_logits.bin,
# ofa_extract.json, ofa_encoding.json, cost_models.json) from OFA's
# own PyTorch code (sets up the Python environment first, idempotently).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/python-env.sh)
(cd tests/fixtures && "$PY" make_ofa_fixtures.py && "$PY" make_extract_fixtures.py && "$PY" make_checkpoint_fixtures.py)
# Needs the shared data set's tools (../shared/data/tools) beside the repo.
"$PY" tests/fixtures/make_encoding_fixtures.py
"$PY" tests/fixtures/make_model_fixtures.py
