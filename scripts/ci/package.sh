#!/usr/bin/env bash
# Packages the four publishable crates as `cargo publish` would (without uploading), then
# builds pnag-build from its .crate alone, outside the workspace: proof that every file it
# embeds (generators, cost and accuracy models, vendored data) is inside the crate.
# `--no-verify`: verifying the others needs their dependencies on crates.io (pnag-runtime
# 0.1.0 is not there) and would compile tract once more.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo package --locked --allow-dirty --no-verify -q \
    -p pnag-runtime -p pnag-macros -p pnag-build -p pnag-cli
ls -l target/package/*.crate
ROOT="$PWD"
CHECK="$(mktemp -d)"
trap 'rm -rf "$CHECK"' EXIT
tar xzf target/package/pnag-build-0.1.0.crate -C "$CHECK"
(cd "$CHECK/pnag-build-0.1.0" && CARGO_TARGET_DIR="$CHECK/target" cargo check -q \
    --config "patch.crates-io.pnag-runtime.path='$ROOT/pnag-runtime'")
echo "pnag-build builds from its package alone"
