#!/usr/bin/env bash
# `npm run demo [-- OPTIONS]`: one flash sale through the whole system on the local stack.
#   1. npm ci when node_modules does not match the lockfile; build.
#   2. the local stack (tools/stack/stack.sh up), unless KAFKA_BROKERS, REDIS_URL, MYSQL_URL and
#      KUBECONFIG are all given (then those services are used as they are; kubectl must be on PATH).
#   3. the database migrations (npm run migrate).
#   4. node dist/tools/demo/demo.js OPTIONS (see tools/demo/options.ts: --chaos, --json, --keep-running,
#      --products, --stock, --buyers, --requests, --rate, ...).
# Progress and logs go to stderr; with --json the last stdout line is the result as one JSON object.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tools/node.sh

bash tools/npm-deps.sh
echo "[demo] building" >&2
npm run -s build >&2

if [[ -n "${KAFKA_BROKERS:-}" && -n "${REDIS_URL:-}" && -n "${MYSQL_URL:-}" && -n "${KUBECONFIG:-}" ]]; then
  echo "[demo] using the services given in KAFKA_BROKERS, REDIS_URL, MYSQL_URL, KUBECONFIG" >&2
  eval "$(bash tools/stack/stack.sh env | grep -E '^export (PATH|SECKILL_RUN)=')"
else
  echo "[demo] starting the local stack" >&2
  eval "$(bash tools/stack/stack.sh up)"
fi

node dist/workloads/shared/mysql/migrate-cli.js >&2
exec node dist/tools/demo/demo.js "$@"
