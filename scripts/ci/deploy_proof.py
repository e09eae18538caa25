"""Checks that each classify binary embeds its own network and not the other's.

usage: deploy_proof.py BIN_A SELECTION_A BIN_B SELECTION_B BUDGET_NAME PLAIN_BIN
A network is "in" a binary when its arch string is there and a 256-byte run of
its weights that the other network's weights do not contain is there too. Also:
the other budgets of the same targets file are absent (their arch strings), and
the binary is no larger than the plain tract binary plus one network's weights
(plus 5 MB for the image decoder and class names).
"""
import os
import json
import struct
import sys


def tensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    base = 8 + n
    return {k: (tuple(v["shape"]), data[base + v["data_offsets"][0] : base + v["data_offsets"][1]]) for k, v in header.items()}


def network(selection, name):
    sel = json.load(open(selection))
    return next(n for n in sel["networks"] if n["name"] == name)


def main():
    bin_a, sel_a, bin_b, sel_b, name, plain = sys.argv[1:7]
    nets = [network(sel_a, name), network(sel_b, name)]
    if nets[0]["arch"] == nets[1]["arch"]:
        sys.exit("the two budgets chose the same arch: pick budgets further apart")
    weights = [tensors(n["weights_file"]) for n in nets]
    binaries = [open(bin_a, "rb").read(), open(bin_b, "rb").read()]
    ok = True
    for i, j in [(0, 1), (1, 0)]:
        other_bytes = b"".join(t for _, t in weights[j].values())
        probe = next(
            (t[k : k + 256], key)
            for key, (_, t) in sorted(weights[i].items())
            for k in range(0, max(len(t) - 256, 0) + 1, 256)
            if len(t) >= 256 and t[k : k + 256] not in other_bytes
        )
        arch = nets[i]["arch"].encode()
        for b, label in [(i, "own"), (j, "other")]:
            has_arch, has_weights = arch in binaries[b], probe[0] in binaries[b]
            expected = b == i
            status = "ok" if (has_arch, has_weights) == (expected, expected) else "FAIL"
            ok &= status == "ok"
            print(f"{status}: binary {'AB'[b]} {'contains' if has_arch else 'lacks'} arch {'AB'[i]} and {'contains' if has_weights else 'lacks'} its weights (`{probe[1]}`) ({label} network)")
    for b, sel in [(0, sel_a), (1, sel_b)]:
        for n in json.load(open(sel))["networks"]:
            if n["name"] != name and n["arch"] != nets[b]["arch"]:
                present = n["arch"].encode() in binaries[b]
                ok &= not present
                print(f"{'FAIL' if present else 'ok'}: binary {'AB'[b]} {'contains' if present else 'lacks'} budget `{n['name']}`'s arch (same targets file, not used)")
        size, limit = os.path.getsize([bin_a, bin_b][b]), os.path.getsize(plain) + os.path.getsize(nets[b]["weights_file"]) + 5_000_000
        ok &= size <= limit
        print(f"{'ok' if size <= limit else 'FAIL'}: binary {'AB'[b]} is {size/1e6:.1f} MB <= plain tract + its weights + 5 MB = {limit/1e6:.1f} MB")
    sys.exit(0 if ok else 1)


main()
