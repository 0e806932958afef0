#!/usr/bin/env bash
# Prints the bin directory of Node MAJOR (22, 24, …), installing it first if needed from the npm
# registry's `node@MAJOR` package (which ships the real binary) into the gitignored .cache/nodeMAJOR.
# Nothing comes from anywhere but the npm registry. Usage: PATH="$(scripts/node-runtime.sh 24):$PATH" npm test
set -euo pipefail
major="${1:?usage: node-runtime.sh MAJOR}"
case "$major" in *[!0-9]*) echo "node-runtime.sh: MAJOR must be a number, got '$major'" >&2; exit 2;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/node$major"
bin="$dir/node_modules/.bin"
if ! "$bin/node" --version >/dev/null 2>&1; then
  mkdir -p "$dir"
  printf '{ "name": "node%s-runtime", "private": true }\n' "$major" >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "node@$major" >&2)
fi
got="$("$bin/node" --version)"
case "$got" in "v$major."*) ;; *) echo "node-runtime.sh: .cache/node$major holds $got, not Node $major" >&2; exit 1;; esac
echo "$bin"
