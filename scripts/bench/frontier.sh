#!/usr/bin/env bash
# Regenerates docs/generator/<device>/frontier.{md,json,svg} (README "Generator" tables):
# the shipped generator of every device against random search and OFA's evolutionary
# search (the oracle). Pass --ablations (needs LIBTORCH, see scripts/setup/libtorch.sh)
# to also train and measure the paper's RL and K ablations (about half an hour per device).
set -euo pipefail
cd "$(dirname "$0")/../.."
features=()
if [[ " $* " == *" --ablations "* ]]; then features=(--features train); fi
cargo build --release --locked -p pnag-cli "${features[@]}" --bin pnag
for d in ${PNAG_DEVICES:-note10 i7-8700k titan-xp host macs}; do
    ./target/release/pnag bench frontier --device "$d" --out "docs/generator/$d" "$@" >/dev/null
done
# One table over all devices (README "Frontier benchmark"), from the JSON reports on disk,
# so that re-running one device (PNAG_DEVICES=host) keeps the others' rows.
python3 - note10 i7-8700k titan-xp host macs > docs/generator/summary.md <<'PY'
import json, sys
print("| device | method | feasible | mean regret (points) | worst regret | hypervolume | ms per budget |")
print("|---|---|---:|---:|---:|---:|---:|")
for d in sys.argv[1:]:
    r = json.load(open(f"docs/generator/{d}/frontier.json"))
    for s in r["summary"]:
        print(f"| {d} ({r['unit']}) | {s['name']} | {s['feasible']}/10 | {s['mean_regret']:.3f} | {s['worst_regret']:.3f} | {s['hypervolume']:.1f} | {s['ms_per_budget']:.1f} |")
PY
