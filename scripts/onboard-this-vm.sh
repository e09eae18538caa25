#!/usr/bin/env bash
# The any-device flow, for real, on this machine at 2 threads (a setting no model or device
# space was built from): pnag-probe → pnag device add → a targets file with three budgets →
# the build API's choices (`pnag targets`, what build.rs runs) → each chosen subnet measured
# with tract at the same threads. Writes docs/devices/this-vm.md.
# Budgets are placed at 25 / 50 / 75 % between the probe's cheapest and dearest references,
# so the study adapts to how fast the VM is today.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
NAME=this-vm-${THREADS}t
W=target/onboard
cargo build --release --locked -p pnag-runtime --features engine --bin pnag-probe
cargo build --release --locked -p pnag-cli --bin pnag
rm -rf "$W" && mkdir -p "$W/devices"
t0=$(date +%s.%N)
./target/release/pnag-probe --threads "$THREADS" --runs 40 --out "$W/$NAME.csv"
t1=$(date +%s.%N)
./target/release/pnag device add "$NAME" --probe "$W/$NAME.csv" --dir "$W/devices" | tee "$W/add.txt"
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
python3 -c 'import json,sys; [print(n["arch"]) for n in json.load(open(sys.argv[1]))["networks"]]' "$W/selection.json" > "$W/archs.txt"
args=(); while read -r a; do args+=(--arch "$a"); done < "$W/archs.txt"
./target/release/pnag profile --threads "$THREADS" --runs 40 "${args[@]}" --json > "$W/measured.json"
python3 - "$W" "$NAME" "$t0" "$t1" "$t2" > docs/devices/this-vm.md <<'PY'
import json, sys
w, name, t0, t1, t2 = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
dev = json.load(open(f"{w}/devices/{name}.json"))
sel = json.load(open(f"{w}/selection.json"))
meas = json.load(open(f"{w}/measured.json"))
print(f"# Onboarding this VM at {dev['probe']['threads']} threads, measured\n")
print("Regenerate: `bash scripts/onboard-this-vm.sh` (probe, `pnag device add`, `pnag targets`, then `pnag profile` of each chosen subnet; budgets at 25/50/75 % of the probe's reference range).\n")
print(f"- machine: {dev['probe']['machine']}; tool: {dev['probe']['tool']}")
print(f"- probe: 20 references × 40 runs in **{t1 - t0:.0f} s**; `pnag device add`: **{t2 - t1:.1f} s**; no training")
print(f"- chosen latency model: **{dev['method']}** (mean leave-one-out error: " + ", ".join(f"{m} {e*100:.1f} %" for m, e in dev['candidates']) + ")")
print(f"- leave-one-out error over the references: median {dev['loo_median_error']*100:.1f} %, p90 {dev['loo_p90_error']*100:.1f} % (the smallest margin; each budget's is the largest error of the 5 references predicted nearest it); generator: `{dev['generator']}`\n")
print("| budget | chosen subnet | predicted (ms) | measured median (p10–p90) | within budget | measured vs predicted |")
print("|---|---|---:|---:|---|---:|")
for n, m in zip(sel["networks"], meas):
    b, p, med = n["budget"], n["predicted_cost"], m["median_ms"]
    ok = "yes" if med <= b else f"**no** (+{(med / b - 1) * 100:.1f} %)"
    print(f"| {n['name']} {b} ms | `{n['arch']}` | {p:.2f} | {med:.2f} ({m['p10_ms']:.2f}–{m['p90_ms']:.2f}) | {ok} | {(med / p - 1) * 100:+.1f} % |")
PY
cat docs/devices/this-vm.md
