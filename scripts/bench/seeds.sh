#!/usr/bin/env bash
# Repeats the note10 ablation comparison that decides issue 5's goal — PNAG
# against the MnasNet-reward, TuNAS-reward and independent-search generators —
# with several training seeds, and summarizes top-1 per budget over the seeds
# (a single run's per-budget order moves with the seed).
#
#   bash scripts/bench/seeds.sh [SEED ...]      (default: 0 1 2)
#
# Needs the `train` feature (libtorch: scripts/setup/libtorch.sh). Seed 0 reuses
# the shipped note10 generator and the models of `scripts/bench/frontier.sh`'s
# ablation run (docs/generator/note10-ablations/models) when present; other seeds
# train PNAG and the three baselines (~35 minutes per seed on 2 idle cores).
# Trained models and per-seed tables go to bench-out/seeds/ (reused by a rerun);
# the summary to docs/generator/note10-seeds.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LIBTORCH="${LIBTORCH:-$HOME/.local/libtorch-2.13/torch}"
export LD_LIBRARY_PATH="$LIBTORCH/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cargo build --release -q -p pnag-cli --features pnag-cli/train --bin pnag
pnag=target/release/pnag
out=bench-out/seeds
seeds=("$@")
[[ ${#seeds[@]} -gt 0 ]] || seeds=(0 1 2)
for s in "${seeds[@]}"; do
    dir="$out/s$s"
    mkdir -p "$dir"
    if [[ $s == 0 ]]; then
        model=pnag-build/models/note10
        ablation_models=docs/generator/note10-ablations/models
    else
        model="$dir/pnag"
        ablation_models="$dir/models"
        [[ -f $model/generator.json ]] || "$pnag" train --device note10 --seed "$s" --out "$model"
    fi
    for mode in samples refined; do
        flags=()
        [[ $mode == refined ]] && flags=(--refine-ablations)
        "$pnag" bench frontier --device note10 --model "$model" --seed "$s" \
            --ablations --only mnas,tunas,independent --ablation-models "$ablation_models" \
            "${flags[@]}" --out "$dir/$mode"
    done
done
python3 scripts/bench/seed_summary.py "$out" "${seeds[@]}" >docs/generator/note10-seeds.md.tmp
mv docs/generator/note10-seeds.md.tmp docs/generator/note10-seeds.md
echo "wrote docs/generator/note10-seeds.md"
