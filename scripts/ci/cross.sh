#!/usr/bin/env bash
# Cross-compiles examples/classify and the device probe (pnag-probe) and runs them where this
# machine can:
#  - aarch64-unknown-linux-gnu: built with Debian's cross gcc, run under qemu-user, and
#    pnag-runtime's depthwise and 1x1 kernel tests (the NEON code) run under qemu-user too;
#  - aarch64-linux-android: linked with the NDK when ANDROID_NDK_HOME is set, otherwise
#    `cargo check` (tract-linalg's NEON assembly is assembled by the aarch64 gcc).
# Installs what it needs (idempotently). Usage: scripts/ci/cross.sh [IMAGE.png]
set -euo pipefail
cd "$(dirname "$0")/../.."
need_apt=()
command -v aarch64-linux-gnu-gcc >/dev/null || need_apt+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user)
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
    $SUDO apt-get install -y -q "${need_apt[@]}" >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q "${need_apt[@]}" >/dev/null; }
fi
for t in aarch64-unknown-linux-gnu aarch64-linux-android; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

echo "== aarch64-unknown-linux-gnu (qemu-user)"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
# The probe binary too (pnag-runtime's only binary): what a user pushes to a new device.
cargo build --release --locked -q -p classify -p pnag-runtime --bins --target aarch64-unknown-linux-gnu
BIN=target/aarch64-unknown-linux-gnu/release/classify
file "$BIN" 2>/dev/null || true
IMAGE="${1:-}"
if [ -z "$IMAGE" ]; then
    IMAGE=target/cross-test.png
    python3 scripts/lib/test-png.py "$IMAGE"
fi
qemu-aarch64 -L /usr/aarch64-linux-gnu "$BIN" "$IMAGE" --runs 1

echo "== pnag-probe under qemu-user (the flow; qemu timings mean nothing)"
qemu-aarch64 -L /usr/aarch64-linux-gnu target/aarch64-unknown-linux-gnu/release/pnag-probe \
    --runs 1 --warmup 0 --resolution 128 --out target/cross-probe.csv
grep -c '^[0-9]' target/cross-probe.csv | grep -qx 20 || { echo "pnag-probe: expected 20 reference lines" >&2; exit 1; }
grep '^# machine' target/cross-probe.csv

echo "== pnag-runtime depthwise and 1x1 kernels, NEON path, under qemu-user"
# `-p classify` too: same feature unification as the build above, so tract is not rebuilt.
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
    cargo test --release --locked -q -p classify -p pnag-runtime --target aarch64-unknown-linux-gnu --test depthwise --test pointwise

echo "== aarch64-linux-android"
if [ -n "${ANDROID_NDK_HOME:-}" ]; then
    TC="$ANDROID_NDK_HOME/toolchains/llvm/prebuilt/linux-x86_64/bin"
    export CARGO_TARGET_AARCH64_LINUX_ANDROID_LINKER="$TC/aarch64-linux-android24-clang"
    export CC_aarch64_linux_android="$TC/aarch64-linux-android24-clang"
    cargo build --release --locked -q -p classify -p pnag-runtime --bins --target aarch64-linux-android
    echo "built target/aarch64-linux-android/release/{classify,pnag-probe} (adb push them)"
else
    export CC_aarch64_linux_android=aarch64-linux-gnu-gcc
    cargo check --release --locked -q -p classify -p pnag-runtime --bins --target aarch64-linux-android
    echo "checked (no ANDROID_NDK_HOME: not linked); uses targets/note10.toml via build.rs's triple mapping"
fi
