#!/usr/bin/env bash
# Installs libtorch 2.13 for tch 0.26 (the `train` feature), idempotently, from the PyPI
# torch wheel (no internet beyond the package registries is needed). Prints LIBTORCH.
# Measured route (see README "Training"): torch --no-deps plus the two NVIDIA runtime
# packages libtorch_cpu.so links against even on CPU; CUDA-only libraries are removed.
set -euo pipefail
D="${PNAG_LIBTORCH_DIR:-$HOME/.local/libtorch-2.13}"
if [ ! -f "$D/torch/lib/libtorch_cpu.so" ] || [ ! -f "$D/.pnag-complete" ]; then
    rm -rf "$D"
    python3 -m pip install -q --no-deps --target "$D" \
        torch==2.13.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85 >&2
    rm -f "$D"/torch/lib/{libtorch_cuda,libtorch_cuda_linalg,libc10_cuda,libtorch_nvshmem,libcaffe2_nvrtc,libtorch_python}.so
    touch "$D/.pnag-complete"
fi
echo "$D/torch"
