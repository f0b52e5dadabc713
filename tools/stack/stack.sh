#!/usr/bin/env bash
# The local stack: real Redis, MariaDB, Kafka (KRaft), etcd + kube-apiserver, helm and Prometheus on loopback.
#
#   stack.sh up [SERVICE...]      install what is missing (cached in $SECKILL_CACHE), start, print settings
#   stack.sh down [--purge]       stop everything (--purge also deletes data)
#   stack.sh status               one line per service; non-zero when one is down
#   stack.sh env                  the settings as `export NAME=value` lines: eval "$(npm run -s stack -- env)"
#   stack.sh start|stop|kill SERVICE   one service (kill = SIGKILL, for chaos runs)
#
# Services: redis mariadb kafka kube (etcd + kube-apiserver + kubectl + helm) prometheus.
# Logs go to stderr, settings to stdout, so `eval "$(stack.sh up)"` works.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
for s in redis mariadb kafka kube prometheus; do source "$here/$s.sh"; done

ALL_SERVICES=(redis mariadb kafka kube)   # prometheus starts on demand only

install_all() {
  local services=("$@") started=$SECONDS
  # apt first (one dpkg lock), then the slow builds side by side: maven downloads while go compiles.
  for s in "${services[@]}"; do case $s in redis|mariadb|prometheus) "${s}_install" ;; esac; done
  apt_ensure prometheus
  local pids=() names=()
  for s in "${services[@]}"; do
    case $s in kafka|kube) ( "${s}_install" ) & pids+=($!); names+=("$s") ;; esac
  done
  local i failed=()
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done
  ((${#failed[@]} == 0)) || die "install failed for: ${failed[*]} (logs in $SECKILL_RUN/logs)"
  log "install step took $((SECONDS - started))s"
}

print_env() {
  echo "export SECKILL_RUN=$SECKILL_RUN"
  echo "export PATH=$SECKILL_BIN:\$PATH"
  for s in "${ALL_SERVICES[@]}" prometheus; do "${s}_env"; done
}

cmd="${1:-status}"; shift || true
case "$cmd" in
  up)
    services=("$@"); ((${#services[@]})) || services=("${ALL_SERVICES[@]}")
    started=$SECONDS
    install_all "${services[@]}"
    for s in "${services[@]}"; do log "starting $s"; "${s}_start"; done
    log "stack up in $((SECONDS - started))s"
    print_env
    ;;
  down)
    for s in prometheus kube kafka mariadb redis; do
      if [[ "${1:-}" == --purge ]]; then "${s}_reset"; else "${s}_stop"; fi
    done
    log "stack down"
    ;;
  status)
    rc=0
    for s in "${ALL_SERVICES[@]}"; do "${s}_status" || rc=1; done
    prometheus_status
    exit $rc
    ;;
  env) print_env ;;
  start) "${1:?service}_start" ;;
  stop) "${1:?service}_stop" ;;
  kill)
    # SIGKILL without cleanup, as a crash would: the chaos run uses it.
    f="$SECKILL_RUN/${1:?service}.pid"; [[ -f $f ]] && kill -KILL "$(cat "$f")" 2>/dev/null || true ;;
  *) die "unknown command '$cmd' (use up, down, status, env, start, stop, kill)" ;;
esac
