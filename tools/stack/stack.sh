#!/usr/bin/env bash
# The local stack: real Redis, MariaDB, Kafka (KRaft), a single-node Kubernetes cluster, helm and Prometheus.
#
#   stack.sh up [--ha] [SERVICE...]  install what is missing (cached in $SECKILL_CACHE), start, print settings;
#                                 --ha adds the HA engines (kafka-ha, redis-ha) to the services
#   stack.sh down [--purge] [SERVICE...]  stop everything and remove every trace on the host (--purge also
#                                 deletes data); with SERVICEs, only those (the network stays)
#   stack.sh status               one line per daemon; non-zero when one is down
#   stack.sh env                  the settings as `export NAME=value` lines: eval "$(npm run -s stack -- env)"
#   stack.sh start|stop|kill SERVICE   one service (kill = SIGKILL, no cleanup, for chaos runs); SERVICE may
#                                 also be one daemon of kube (etcd, kube-apiserver, ..., containerd, kubelet)
#                                 or one node of an HA engine (kafka-ha-1..3, redis-ha-1..6)
#   stack.sh leftovers            what of the cluster's node is on the host now (after a crash, say)
#   stack.sh trace                the host state the stack may touch, for a diff before/after (net.sh)
#   stack.sh measure [SECONDS]    RSS and CPU of every process of the stack over an idle window
#
# Services: redis mariadb kafka kube prometheus. kube is the whole cluster: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd, kubelet, kube-proxy, CoreDNS (kube.sh, node.sh).
# Every address is loopback or on the interfaces the stack makes (net.sh): host processes use 127.0.0.1 and
# the apiserver at NODE_IP; pods reach Redis, MariaDB, Kafka and etcd at NODE_IP (the POD_* settings).
# The HA profile (`up --ha`) runs alongside: kafka-ha, three KRaft nodes (kafka-ha.sh), and redis-ha, a Redis
# Cluster of three masters and three replicas (redis-cluster.sh), for host clients and pods alike; env
# exports HA_KAFKA_BROKERS, POD_HA_KAFKA_BROKERS, HA_KAFKA_BROKER_COUNT, HA_REDIS_NODES, HA_REDIS_URL and
# POD_HA_REDIS_URL while they run.
# Logs go to stderr, settings to stdout, so `eval "$(stack.sh up)"` works.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
for s in net redis mariadb kafka kube node prometheus kafka-ha redis-cluster; do source "$here/$s.sh"; done

ALL_SERVICES=(redis mariadb kafka kube)   # prometheus starts on demand only
HA_SERVICES=(kafka-ha redis-ha)           # `up --ha`, or by name

# fn_of SERVICE: the prefix of its functions (kafka-ha -> kafka_ha_start, ...).
fn_of() { echo "${1//-/_}"; }
ha_service() { [[ " ${HA_SERVICES[*]} " == *" $1 "* ]]; }
# ha_node NAME: NAME is one node of an HA engine, kafka-ha-N (1..KAFKA_HA_COUNT) or redis-ha-N (1..REDIS_HA_COUNT).
ha_node() {
  [[ $1 =~ ^(kafka|redis)-ha-([1-9][0-9]*)$ ]] || return 1
  local count="KAFKA_HA_COUNT"; [[ ${BASH_REMATCH[1]} == redis ]] && count="REDIS_HA_COUNT"
  ((BASH_REMATCH[2] <= ${!count}))
}
# ha_node_do ACTION NAME: start|stop|kill one node (kafka-ha-2 -> kafka_ha_node_kill 2).
ha_node_do() { "${2%%-*}_ha_node_$1" "${2##*-}"; }

install_all() {
  local services=("$@") started=$SECONDS
  # apt first (one dpkg lock), then the slow builds side by side: maven downloads while go compiles.
  for s in "${services[@]}"; do case $s in redis|mariadb|prometheus|redis-ha) "$(fn_of "$s")_install" ;; kube) node_install_packages ;; esac; done
  apt_ensure prometheus
  local pids=() names=()
  for s in "${services[@]}"; do
    case $s in
      kafka|kube) ( "${s}_install" ) & pids+=($!); names+=("$s") ;;
      # The same jars as kafka's: fetched once, not by two Mavens at a time.
      kafka-ha) [[ " ${services[*]} " == *" kafka "* ]] || { ( kafka_ha_install ) & pids+=($!); names+=("$s"); } ;;
    esac
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
  for s in "${HA_SERVICES[@]}"; do "$(fn_of "$s")_env"; done   # only while they run
  echo "export AUTH_JWT_SECRET=$(local_jwt_secret)"
}

# The HS256 key that signs buyer tokens on this stack (the front door verifies, the load generator and
# the tests sign): random per run dir, so `npm run api` and `npm run load` against the stack env agree.
local_jwt_secret() {
  local f="$SECKILL_RUN/auth-jwt-secret"
  if [[ ! -s $f ]]; then
    mkdir -p "$SECKILL_RUN"
    (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f")
  fi
  cat "$f"
}

# measure [SECONDS]: RSS and CPU (% of one core over an idle window) of every process of the stack: the
# daemons of the pid files, the containerd shims and the pods' processes.
measure() {
  local window="${1:-30}" hz f n p pids rows
  pids="$(for f in "$SECKILL_RUN"/*.pid; do n="$(basename "$f" .pid)"; pid_alive "$n" && pid_of "$n"; done; _node_orphan_pids)"
  pids="$(grep -E '^[0-9]+$' <<<"$pids" | sort -un | tr '\n' ' ')"
  [[ -n "${pids// }" ]] || die "nothing of the stack is running"
  hz="$(getconf CLK_TCK)"
  declare -A t1
  for p in $pids; do t1[$p]="$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)"; done
  sleep "$window"
  rows="$(for p in $pids; do
    [[ -r "/proc/$p/stat" ]] || continue
    awk -v pid="$p" -v a="${t1[$p]}" -v hz="$hz" -v w="$window" -v comm="$(cat "/proc/$p/comm")" \
      -v rss="$(awk '/^VmRSS/ {print $2}' "/proc/$p/status")" \
      '{printf "%-7s %-24s %7.1f MiB %7.2f\n", pid, comm, rss/1024, ($14+$15-a)/hz/w*100}' "/proc/$p/stat"
  done)"
  printf '%-7s %-24s %11s %7s\n' pid process RSS "CPU%"
  sort -k3 -rn <<<"$rows"
  awk -v w="$window" '{rss+=$3; cpu+=$5} END {printf "total   %-24s %7.1f MiB %7.2f  (%d processes, %ds window)\n", "", rss, cpu, NR, w}' <<<"$rows"
}

known() { [[ " ${ALL_SERVICES[*]} prometheus ${HA_SERVICES[*]} " == *" $1 "* ]]; }
daemon() { [[ " ${KUBE_DAEMONS[*]} " == *" $1 "* ]]; }
known_or_die() {
  known "$1" || daemon "$1" || ha_node "$1" \
    || die "unknown service '$1' (${ALL_SERVICES[*]} prometheus ${HA_SERVICES[*]}, a daemon of kube: ${KUBE_DAEMONS[*]}, or an HA node: kafka-ha-1..$KAFKA_HA_COUNT, redis-ha-1..$REDIS_HA_COUNT)"
}

cmd="${1:-status}"; shift || true
case "$cmd" in
  up)
    ha=0 services=()
    for a in "$@"; do if [[ $a == --ha ]]; then ha=1; else services+=("$a"); fi; done
    ((${#services[@]})) || services=("${ALL_SERVICES[@]}")
    if ((ha)); then for s in "${HA_SERVICES[@]}"; do [[ " ${services[*]} " == *" $s "* ]] || services+=("$s"); done; fi
    for s in "${services[@]}"; do known "$s" || die "unknown service '$s' (${ALL_SERVICES[*]} prometheus ${HA_SERVICES[*]})"; done
    started=$SECONDS
    install_all "${services[@]}"
    # The interfaces first, whatever is asked for: every service listens on NODE_IP too.
    net_up
    for s in "${services[@]}"; do log "starting $s"; "$(fn_of "$s")_start"; done
    log "stack up in $((SECONDS - started))s"
    print_env
    ;;
  down)
    purge=0 only=()
    for a in "$@"; do
      if [[ $a == --purge ]]; then purge=1; else known "$a" || die "unknown service '$a'"; only+=("$a"); fi
    done
    list=(kafka-ha redis-ha prometheus kube kafka mariadb redis)
    ((${#only[@]} == 0)) || list=("${only[@]}")
    for s in "${list[@]}"; do
      if ((purge)); then "$(fn_of "$s")_reset"; else "$(fn_of "$s")_stop"; fi
    done
    if ((${#only[@]} == 0)); then net_down; log "stack down"; else log "down: ${only[*]}"; fi
    ;;
  status)
    rc=0
    net_status || rc=1
    for s in "${ALL_SERVICES[@]}"; do "${s}_status" || rc=1; done
    # The HA engines once started (a killed node shows as stopped until it is started or the engine stopped).
    for s in "${HA_SERVICES[@]}"; do if "$(fn_of "$s")_in_use"; then "$(fn_of "$s")_status" || rc=1; fi; done
    prometheus_status
    exit $rc
    ;;
  env) print_env ;;
  start)
    known_or_die "${1:?service}"
    net_up
    if ha_node "$1"; then ha_node_do start "$1"; elif ha_service "$1"; then "$(fn_of "$1")_start"
    elif daemon "$1"; then kube_daemon_start "$1"; else "$1_start"; fi ;;
  stop)
    known_or_die "${1:?service}"
    if ha_node "$1"; then ha_node_do stop "$1"
    elif daemon "$1"; then kube_daemon_stop "$1"; else "$(fn_of "$1")_stop"; fi ;;
  kill)
    # SIGKILL without cleanup, as a crash would: the chaos run uses it (kafka-ha-N / redis-ha-N: one node).
    known_or_die "${1:?service}"
    if ha_node "$1"; then ha_node_do kill "$1"; elif ha_service "$1"; then "$(fn_of "$1")_kill"
    elif [[ $1 == kube ]]; then kube_kill; else kill_daemon "$1"; fi ;;
  leftovers) node_leftovers_report ;;
  trace) net_trace ;;
  measure) measure "$@" ;;
  *) die "unknown command '$cmd' (use up, down, status, env, start, stop, kill, leftovers, trace, measure)" ;;
esac
