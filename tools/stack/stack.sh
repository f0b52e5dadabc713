#!/usr/bin/env bash
# The local stack: real Redis, MariaDB, Kafka (KRaft), a single-node Kubernetes cluster, helm and Prometheus.
#
#   stack.sh up [SERVICE...]      install what is missing (cached in $SECKILL_CACHE), start, print settings
#   stack.sh down [--purge]       stop everything and remove every trace on the host (--purge also deletes data)
#   stack.sh status               one line per daemon; non-zero when one is down
#   stack.sh env                  the settings as `export NAME=value` lines: eval "$(npm run -s stack -- env)"
#   stack.sh start|stop|kill SERVICE   one service (kill = SIGKILL, no cleanup, for chaos runs)
#   stack.sh leftovers            what of the cluster's node is on the host now (after a crash, say)
#   stack.sh trace                the host state the stack may touch, for a diff before/after (net.sh)
#
# Services: redis mariadb kafka kube prometheus. kube is the whole cluster: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd, kubelet, kube-proxy, CoreDNS (kube.sh, node.sh).
# Every address is loopback or on the interfaces the stack makes (net.sh): host processes use 127.0.0.1 and
# the apiserver at NODE_IP; pods reach Redis, MariaDB, Kafka and etcd at NODE_IP (the POD_* settings).
# Logs go to stderr, settings to stdout, so `eval "$(stack.sh up)"` works.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
for s in net redis mariadb kafka kube node prometheus; do source "$here/$s.sh"; done

ALL_SERVICES=(redis mariadb kafka kube)   # prometheus starts on demand only

install_all() {
  local services=("$@") started=$SECONDS
  # apt first (one dpkg lock), then the slow builds side by side: maven downloads while go compiles.
  for s in "${services[@]}"; do case $s in redis|mariadb|prometheus) "${s}_install" ;; kube) node_install_packages ;; esac; done
  apt_ensure prometheus
  local pids=() names=()
  for s in "${services[@]}"; do
    case $s in kafka|kube) ( "${s}_install" ) & pids+=($!); names+=("$s") ;; esac
  done
  local i failed=()
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done
  ((${#failed[@]} == 0)) || die "install failed for: ${failed[*]} (logs in $SECKILL_LOGS)"
  log "install step took $((SECONDS - started))s"
}

print_env() {
  echo "export SECKILL_RUN=$SECKILL_RUN"
  echo "export PATH=$SECKILL_BIN:\$PATH"
  for s in "${ALL_SERVICES[@]}" prometheus; do "${s}_env"; done
}

known() { [[ " ${ALL_SERVICES[*]} prometheus " == *" $1 "* ]] || die "unknown service '$1' (${ALL_SERVICES[*]} prometheus)"; }

cmd="${1:-status}"; shift || true
case "$cmd" in
  up)
    services=("$@"); ((${#services[@]})) || services=("${ALL_SERVICES[@]}")
    for s in "${services[@]}"; do known "$s"; done
    started=$SECONDS
    install_all "${services[@]}"
    # The interfaces first, whatever is asked for: every service listens on NODE_IP too.
    net_up
    for s in "${services[@]}"; do log "starting $s"; "${s}_start"; done
    log "stack up in $((SECONDS - started))s"
    print_env
    ;;
  down)
    for s in prometheus kube kafka mariadb redis; do
      if [[ "${1:-}" == --purge ]]; then "${s}_reset"; else "${s}_stop"; fi
    done
    net_down
    log "stack down"
    ;;
  status)
    rc=0
    net_status || rc=1
    for s in "${ALL_SERVICES[@]}"; do "${s}_status" || rc=1; done
    prometheus_status
    exit $rc
    ;;
  env) print_env ;;
  start) known "${1:?service}"; net_up; "$1_start" ;;
  stop) known "${1:?service}"; "$1_stop" ;;
  kill)
    # SIGKILL without cleanup, as a crash would: the chaos run uses it.
    known "${1:?service}"
    if [[ $1 == kube ]]; then kube_kill; else kill_daemon "$1"; fi ;;
  leftovers) node_leftovers_report ;;
  trace) net_trace ;;
  *) die "unknown command '$cmd' (use up, down, status, env, start, stop, kill, leftovers, trace)" ;;
esac
