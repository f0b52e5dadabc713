#!/usr/bin/env bash
# `npm ci` when node_modules does not match package-lock.json (a fresh clone, or a changed lockfile);
# nothing otherwise. Shared by the test command and the demo; its output goes to stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ! -f node_modules/.package-lock.json ]] || ! cmp -s package-lock.json node_modules/.seckill-lock; then
  echo "[npm] installing dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
  cp package-lock.json node_modules/.seckill-lock
fi
