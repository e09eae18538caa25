#!/usr/bin/env bash
# pnag-build's public API, as rustdoc documents it (hidden internals excluded), against the
# reviewed list in pnag-build/public-api.txt: an item that appears or disappears fails CI,
# so growing the API is a decision. Run after `cargo doc` (scripts/ci/test.sh does);
# `--bless` rewrites the list after a reviewed change.
set -euo pipefail
cd "$(dirname "$0")/../.."
ALL=target/doc/pnag_build/all.html
[ -f "$ALL" ] || { echo "error: $ALL missing; run cargo doc -p pnag-build first" >&2; exit 1; }
# all.html links every documented item as <a href="kind.Name.html"> (in a public module:
# "module/kind.Name.html"); other links (the crate index, settings) are not items.
found=$(grep -oE 'href="([a-z_]+/)*(struct|enum|fn|constant|trait|type|macro|static|union|derive|attr)\.[A-Za-z0-9_]+\.html"' "$ALL" \
    | sed -E 's/href="(.*)\.html"/\1/; s#^(.*/)?([a-z]+)\.([A-Za-z0-9_]+)$#\2 \1\3#; s#/#::#g' \
    | sort -u)
if [ "${1:-}" = "--bless" ]; then
    { echo "# pnag-build's public items (scripts/ci/public-api.sh --bless after a reviewed change)"; echo "$found"; } \
        > pnag-build/public-api.txt
    echo "wrote pnag-build/public-api.txt ($(echo "$found" | wc -l) items)"
    exit 0
fi
expected=$(grep -v '^#' pnag-build/public-api.txt | sort -u)
if [ "$found" != "$expected" ]; then
    echo "error: pnag-build's public API changed (< reviewed list, > documented now):" >&2
    diff <(echo "$expected") <(echo "$found") >&2 || true
    echo "If the change is intended: bash scripts/ci/public-api.sh --bless, and commit the list." >&2
    exit 1
fi
echo "pnag-build public API: $(echo "$found" | wc -l) items, as reviewed"
