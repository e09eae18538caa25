#!/usr/bin/env bash
# Regenerates examples/classify/imagenet_classes.txt: torchvision's `_IMAGENET_CATEGORIES`
# (torchvision 0.28, models/_meta.py, BSD-3-Clause), one class name per line in logit order.
set -euo pipefail
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
python3 -m pip download -q --no-deps 'torchvision==0.28.*' -d "$TMP"
python3 - "$TMP" <<'PY'
import ast, glob, sys, zipfile
wheel = glob.glob(f"{sys.argv[1]}/torchvision-*.whl")[0]
tree = ast.parse(zipfile.ZipFile(wheel).read("torchvision/models/_meta.py"))
cats = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "_IMAGENET_CATEGORIES")
assert len(cats) == 1000
open("examples/classify/imagenet_classes.txt", "w").write("\n".join(cats) + "\n")
PY
rm -rf "$TMP"
