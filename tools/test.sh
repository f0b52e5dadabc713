#!/usr/bin/env bash
# The test command (`npm test`): installs and starts everything it needs, then runs every suite.
#   1. npm ci when node_modules does not match the lockfile, then build and lint.
#   2. unit tests (pure logic, no services).
#   3. the local stack (real Redis, MariaDB, Kafka, a single-node Kubernetes cluster, helm, promtool) and the
#      project's images loaded into it, then the integration and end-to-end suites against it.
# The stack is left running for the next run unless CI=true or STACK_DOWN=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$SECONDS
step() { printf '\n=== %s (%ss)\n' "$*" "$((SECONDS - started))"; }

step "node"
source tools/node.sh
echo "running under node $(node --version) at $(command -v node)"

step "npm dependencies"
bash tools/npm-deps.sh

step "build and lint"
npm run -s build
npm run -s lint

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
# suite NAME DIR [CONCURRENCY]: runs the compiled *.test.ts files of DIR with node's test runner (the helpers live
# in test/helpers/, outside the suite folders), keeping its pass/fail counts for the summary.
suite() {
  step "$1 tests"
  local files rc=0
  # From the sources, not dist/: a test renamed or deleted leaves its old .js behind in dist/.
  mapfile -t files < <(find "$2" -name '*.test.ts' | sort | sed -e 's#^#dist/#' -e 's#\.ts$#.js#')
  if ((${#files[@]} == 0)); then echo "no $1 tests yet"; return 0; fi
  node --test --test-concurrency="${3:-1}" --test-reporter=spec "${files[@]}" 2>&1 | tee -a "$results" || rc=$?
  return $rc
}

rc=0
suite unit test/unit 2 || rc=1

step "local stack"
# CI starts from empty data (the binaries and downloads stay cached): every run sees the same world,
# and topics, rows and objects of earlier runs do not pile up on a reused machine.
if [[ "${CI:-}" == true ]]; then bash tools/stack/stack.sh down --purge; fi
eval "$(bash tools/stack/stack.sh up)"
if [[ "${CI:-}" == true || "${STACK_DOWN:-}" == 1 ]]; then trap 'bash tools/stack/stack.sh down || true; rm -f "$results"' EXIT; fi

step "images"
# The three images from the Dockerfile, into the cluster's containerd (seconds when the sources are unchanged);
# their references go to the environment (and to $SECKILL_RUN/images.env) for the suites.
if images="$(bash tools/stack/images.sh)"; then eval "$images"; else rc=1; fi

suite integration test/integration || rc=1
suite e2e test/e2e || rc=1

step "HA engines"
# Three KRaft brokers and a Redis Cluster (3 masters + 3 replicas), started only now so the suites above
# have the cores to themselves, and stopped after their suite (docs/STACK.md "HA profile").
if ha="$(bash tools/stack/stack.sh up kafka-ha redis-ha)"; then
  eval "$ha"
  suite ha test/ha || rc=1
else
  rc=1
fi
bash tools/stack/stack.sh down kafka-ha redis-ha || true

passed=$(grep -E '^ℹ pass [0-9]+' "$results" | awk '{s += $3} END {print s + 0}')
failed=$(grep -E '^ℹ fail [0-9]+' "$results" | awk '{s += $3} END {print s + 0}')
step "done"
echo "tests: $passed passed, $failed failed"
exit $rc
