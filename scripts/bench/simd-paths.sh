#!/usr/bin/env bash
# Our kernels' vector paths end to end on this host: the smallest, a middle and the largest
# w1.2 subnet at 224 px, 1 thread, PNAG_SIMD=avx512 and avx2 alternating for 5 rounds
# (15 timed runs each), medians per round. Prints a markdown table (docs/perf/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked -p pnag-cli --bin pnag >&2
P=./target/release/pnag
S="2,2,2,2,2:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0"
M="3,3,3,3,3:5,5,5,0,5,5,5,0,5,5,5,0,5,5,5,0,5,5,5,0:4,4,4,0,4,4,4,0,4,4,4,0,4,4,4,0,4,4,4,0"
L="4,4,4,4,4:$(printf '7,%.0s' {1..19})7:$(printf '6,%.0s' {1..19})6"
$P profile --random 1 --runs 1 --warmup 0 | head -1
echo
echo "| round | path | smallest ms | middle ms | largest ms |"
echo "|---|---|---:|---:|---:|"
for round in 1 2 3 4 5; do
    for simd in avx512 avx2; do
        PNAG_SIMD=$simd $P profile --arch "$S" --arch "$M" --arch "$L" --runs 15 --warmup 3 --json 2>/dev/null \
            | python3 -c "import json,sys; r=json.load(sys.stdin); print('| $round | $simd | ' + ' | '.join('%.2f' % x['median_ms'] for x in r) + ' |')"
    done
done
