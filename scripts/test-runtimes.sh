#!/usr/bin/env bash
# `npm test` on each extra supported Node (default: 22 and 24; RUNTIMES="24" for one), each from the
# npm registry's node@MAJOR package (scripts/node-runtime.sh). The machine's own Node runs `npm test` as usual.
# Extra arguments go to vitest; `{node}` in them becomes the major version (e.g. a per-runtime report file).
set -euo pipefail
cd "$(dirname "$0")/.."
for major in ${RUNTIMES:-22 24}; do
  bin="$(bash scripts/node-runtime.sh "$major")"
  echo "=== npm test on Node $("$bin/node" --version) ==="
  PATH="$bin:$PATH" npm test -- "${@//\{node\}/$major}"
done
