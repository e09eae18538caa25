#!/usr/bin/env bash
# Kept for old instructions: the test command is scripts/ci/test.sh.
exec bash "$(dirname "$0")/ci/test.sh" "$@"
