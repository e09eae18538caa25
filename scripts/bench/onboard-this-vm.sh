#!/usr/bin/env bash
# The any-device flow, for real, on this machine at 2 threads (a setting no model or device
# space was built from): pnag-probe → pnag device add → a targets file with three budgets →
# the build API's choices (`pnag targets`) → the example app (examples/classify) built by
# cargo for each budget (its build.rs reads the targets file) and run: the app's own median
# latency at the same threads. Writes docs/devices/this-vm.md.
# Budgets are placed at 25 / 50 / 75 % between the probe's cheapest and dearest references,
# so the study adapts to how fast the VM is today.
# GENERATOR=device-conditioned answers with the one device-conditioned generator instead of
# the borrowed built-in one (writes docs/devices/this-vm-device-conditioned.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS=${THREADS:-2}
GENERATOR=${GENERATOR:-borrowed}
NAME=this-vm-${THREADS}t
W=target/onboard
REPORT=docs/devices/this-vm.md
[[ $GENERATOR == borrowed ]] || REPORT=docs/devices/this-vm-$GENERATOR.md
cargo build --release --locked -p pnag-runtime --features engine --bin pnag-probe
cargo build --release --locked -p pnag-cli --bin pnag
rm -rf "$W" && mkdir -p "$W/devices"
t0=$(date +%s.%N)
./target/release/pnag-probe --threads "$THREADS" --runs 40 --out "$W/$NAME.csv"
t1=$(date +%s.%N)
./target/release/pnag device add "$NAME" --probe "$W/$NAME.csv" --dir "$W/devices" --generator "$GENERATOR" | tee "$W/add.txt"
t2=$(date +%s.%N)
read -r B1 B2 B3 < <(python3 - "$W/$NAME.csv" <<'PY'
import sys
ms = [float(l.split('"')[2].split(",")[1]) for l in open(sys.argv[1]) if l[0].isdigit()]
lo, hi = min(ms), max(ms)
print(*(round(lo + f * (hi - lo), 1) for f in (0.25, 0.5, 0.75)))
PY
)
cat > "$W/$NAME.toml" <<TOML
device = "$NAME"
device_file = "devices/$NAME.json"
threads = $THREADS
[[budget]]
name = "small"
latency_ms = $B1
[[budget]]
name = "medium"
latency_ms = $B2
[[budget]]
name = "large"
latency_ms = $B3
TOML
./target/release/pnag targets "$W/$NAME.toml" --json > "$W/selection.json"
# The app: one build per budget (classify embeds the budget named "balanced"; synthetic weights).
python3 scripts/lib/test-png.py "$W/img.png"
for b in "$B1" "$B2" "$B3"; do
    sed -e '/^\[\[budget\]\]/,$d' "$W/$NAME.toml" > "$W/app-$b.toml"
    printf '[[budget]]\nname = "balanced"\nlatency_ms = %s\n' "$b" >> "$W/app-$b.toml"
    PNAG_TARGETS="$PWD/$W/app-$b.toml" cargo build --release --locked -q -p classify
    cp target/release/classify "$W/classify-$b"
    : > "$W/app-$b.txt"
done
# The three apps in interleaved rounds (40 runs each), as the probe interleaves its
# references: a slow minute of the VM then hits every budget, not one.
for round in 1 2 3; do
    for b in "$B1" "$B2" "$B3"; do
        "$W/classify-$b" "$W/img.png" --runs 40 --threads "$THREADS" | tee -a "$W/app-$b.txt"
    done
done
python3 - "$W" "$NAME" "$t0" "$t1" "$t2" "$GENERATOR" "$B1" "$B2" "$B3" > "$REPORT" <<'PY'
import json, sys
w, name, t0, t1, t2, generator = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:6]), sys.argv[6]
dev = json.load(open(f"{w}/devices/{name}.json"))
sel = json.load(open(f"{w}/selection.json"))
import re, statistics
meas, archs = [], []
for b in sys.argv[7:]:
    app = open(f"{w}/app-{b}.txt").read()
    rounds = [float(m) for m in re.findall(r"latency on this machine: median ([0-9.]+) ms", app)]
    assert len(rounds) == 3, app
    meas.append({"median_ms": statistics.median(rounds), "rounds": rounds})
    archs += sorted(set(re.findall(r"\): arch (\S+)", app)))
assert len(meas) == len(sel["networks"]) == len(archs), archs
assert all(a == n["arch"] for a, n in zip(archs, sel["networks"])), "the app embeds what pnag targets chose"
print(f"# Onboarding this VM at {dev['probe']['threads']} threads, measured\n")
env = "" if generator == "borrowed" else f"GENERATOR={generator} "
print(f"Regenerate: `{env}bash scripts/bench/onboard-this-vm.sh` (probe, `pnag device add`, `pnag targets`, then examples/classify built by cargo for each budget, the three apps run in 3 interleaved rounds of 40 runs; budgets at 25/50/75 % of the probe's reference range).\n")
print(f"- machine: {dev['probe']['machine']}; tool: {dev['probe']['tool']}")
print(f"- probe: 20 references × 40 runs (3 interleaved rounds) in **{t1 - t0:.0f} s**; `pnag device add`: **{t2 - t1:.1f} s**; no training")
print(f"- chosen latency model: **{dev['method']}** (mean leave-one-out error: " + ", ".join(f"{m} {e*100:.1f} %" for m, e in dev['candidates']) + ")")
print(f"- leave-one-out error over the references: median {dev['loo_median_error']*100:.1f} %, p90 {dev['loo_p90_error']*100:.1f} % (the smallest margin; each budget's is the largest error of the 5 references predicted nearest it); generator: " + (f"`{dev['generator']}` (borrowed)" if generator == "borrowed" else f"`{generator}`, conditioned on the probe") + "\n")
print("| budget | chosen subnet (the app's `network!`) | predicted (ms) | the app's measured median (ms; the 3 rounds) | within budget | measured vs predicted |")
print("|---|---|---:|---:|---|---:|")
for n, m in zip(sel["networks"], meas):
    b, p, med = n["budget"], n["predicted_cost"], m["median_ms"]
    ok = "yes" if med <= b else f"**no** (+{(med / b - 1) * 100:.1f} %)"
    rounds = " / ".join(f"{r:.2f}" for r in m["rounds"])
    print(f"| {n['name']} {b} ms | `{n['arch']}` | {p:.2f} | {med:.2f} ({rounds}) | {ok} | {(med / p - 1) * 100:+.1f} % |")
PY
cat "$REPORT"
