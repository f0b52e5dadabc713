#!/usr/bin/env bash
# `npm run demo [-- OPTIONS]`: one flash sale through the whole system on the local Kubernetes cluster.
#   1. Node 24 (tools/node.sh); npm ci when node_modules does not match the lockfile; build.
#   2. the local stack (tools/stack/stack.sh up: Redis, MariaDB, Kafka, and the single-node cluster; with
#      --ha also the HA engines, which the sale then runs on).
#   3. the three images from the Dockerfile, loaded into the cluster (tools/stack/images.sh; seconds when
#      nothing changed), and the database migrations.
#   4. node dist/tools/demo/demo.js OPTIONS (see tools/demo/options.ts: --chaos, --json, --keep-running,
#      --products, --stock, --buyers, --requests, --rate, ...): helm install, the sale, the report.
# Progress and logs go to stderr; with --json the last stdout line is the result as one JSON object.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tools/node.sh

bash tools/npm-deps.sh
echo "[demo] building" >&2
npm run -s build >&2

# --ha: the sale runs on the HA engines (three Kafka brokers, a Redis Cluster), started beside the rest.
up=(up)
for a in "$@"; do [[ $a == --ha ]] && up+=(--ha); done
echo "[demo] starting the local stack${up[1]:+ with the HA engines}" >&2
eval "$(bash tools/stack/stack.sh "${up[@]}")"
echo "[demo] building and loading the images" >&2
npm run -s images >&2
source "$SECKILL_RUN/images.env"

node dist/workloads/shared/mysql/migrate-cli.js >&2
exec node dist/tools/demo/demo.js "$@"
