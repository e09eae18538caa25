#!/usr/bin/env bash
# Kept for old instructions: libtorch is installed by scripts/setup/libtorch.sh.
exec bash "$(dirname "$0")/setup/libtorch.sh" "$@"
