# The HA profile's Redis (`stack.sh up --ha`, or the service redis-ha): a Redis Cluster of three masters with
# one replica each, six redis-server 7 processes on 127.0.0.1 (REDIS_HA_PORT .. + 5, cluster bus on port +
# 10000), AOF with appendfsync always as the single Redis (redis.sh). cluster-node-timeout is 2 s: a killed
# master's replica takes over within seconds. Each node keeps its directory (AOF and nodes.conf), so a node
# started again rejoins by itself: an old master whose replica took over comes back as that one's replica.
# Each node listens on 127.0.0.1 and on the node address, and announces the node address: a cluster tells
# its clients one address per node (CLUSTER SLOTS, MOVED), and that one must serve pods and host clients
# alike; host clients seed on 127.0.0.1 and are sent on to the node address (docs/STACK.md, "HA profile").
# Sourced after lib.sh and redis.sh, never run. Defines redis_ha_install, redis_ha_start, redis_ha_stop,
# redis_ha_status, redis_ha_env, redis_ha_reset, redis_ha_kill, redis_ha_in_use, redis_ha_running, and per
# node (1..6, daemon redis-ha-N): redis_ha_node_start/_stop/_kill.

REDIS_HA_COUNT=6                                  # three masters, one replica each
: "${REDIS_HA_NODE_TIMEOUT:=2000}"                # ms without an answer before a node is failing
: "${REDIS_HA_START_TIMEOUT:=60}"                 # seconds
REDIS_HA_DIR="$SECKILL_RUN/redis-ha"              # one directory per node: <n>/appendonlydir, <n>/nodes.conf

_rha_port() { echo $((REDIS_HA_PORT + $1 - 1)); }
_rha_log() { echo "$SECKILL_LOGS/redis-ha-$1.log"; }
_rha_nodes() { seq 1 "$REDIS_HA_COUNT"; }
_rha_cli() { local n="$1"; shift; timeout 5 redis-cli -h "$STACK_HOST" -p "$(_rha_port "$n")" "$@"; }

# redis_ha_nodes [HOST]: every node as host:port,host:port,... on STACK_HOST or HOST (a cluster client needs
# one; all six let it start while any one answers).
redis_ha_nodes() {
  local n host="${1:-$STACK_HOST}" out=()
  for n in $(_rha_nodes); do out+=("$host:$(_rha_port "$n")"); done
  (IFS=,; echo "${out[*]}")
}

redis_ha_install() { redis_install; }

_rha_running() { pid_alive "redis-ha-$1"; }
_rha_pong() { [[ "$(_rha_cli "$1" ping 2>/dev/null)" == PONG ]]; }
_rha_pong_or_dead() { ! _rha_running "$1" || _rha_pong "$1"; }

# _rha_launch N: starts node N (no wait); a no-op when it runs. Its settings are redis.sh's plus the
# cluster's; nodes.conf (the node's id, epoch and view of the cluster) is Redis' own, in the node's dir.
_rha_launch() {
  local n="$1" port dir
  port="$(_rha_port "$n")" dir="$REDIS_HA_DIR/$1"
  _rha_running "$n" && return 0
  port_open "$port" && die "redis-ha-$n start: port $port is taken by another process"
  port_open $((port + 10000)) && die "redis-ha-$n start: port $((port + 10000)) (cluster bus) is taken by another process"
  tcp_open "$NODE_IP" "$port" && die "redis-ha-$n start: $NODE_IP:$port is taken by another process"
  mkdir -p "$dir"
  start_daemon "redis-ha-$n" "$(_rha_log "$n")" redis-server \
    --bind "$STACK_HOST" "$NODE_IP" --port "$port" --dir "$dir" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout "$REDIS_HA_NODE_TIMEOUT" \
    --cluster-announce-ip "$NODE_IP" \
    --appendonly yes --appendfsync always --save "" \
    --daemonize no --protected-mode no --maxclients 10000
}

# _rha_wait_pong N: node N answers PING; fails at once, naming its log, when it exited.
_rha_wait_pong() {
  daemon_wait "redis-ha-$1" "redis-ha-$1 to answer PING on $STACK_HOST:$(_rha_port "$1")" "$(_rha_log "$1")" \
    "$REDIS_HA_START_TIMEOUT" _rha_pong_or_dead "$1"
}

# _rha_info N FIELD: one field of node N's CLUSTER INFO (cluster_state, cluster_known_nodes, ...).
_rha_info() { _rha_cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }

# _rha_first_up: the first node that answers.
_rha_first_up() {
  local n
  for n in $(_rha_nodes); do _rha_pong "$n" && { echo "$n"; return 0; }; done
  return 1
}

# _rha_topology N: from node N's CLUSTER NODES, "MASTERS REPLICAS PAIRED": masters (not failing) that serve
# slots, replicas (not failing) of such a master, and how many of the masters have exactly one replica.
_rha_topology() {
  _rha_cli "$1" cluster nodes 2>/dev/null | tr -d '\r' | awk '
    $3 ~ /fail|handshake|noaddr/ { next }
    $3 ~ /master/ && NF >= 9 { m[$1] = 1; next }
    $3 ~ /slave/ { r[$4]++ }
    END {
      for (id in m) { masters++; if (r[id] == 1) paired++; replicas += r[id] }
      printf "%d %d %d\n", masters, replicas, paired
    }'
}

# _rha_replicas_online N: node N (a master) has a replica whose replication link is up (synced).
_rha_replicas_online() { _rha_cli "$1" info replication 2>/dev/null | grep -q '^slave0:.*state=online'; }

# _rha_role N: "master" or "replica of HOST:PORT (link connected|connecting|...)", from ROLE.
_rha_role() {
  local role=()
  mapfile -t role < <(_rha_cli "$1" role 2>/dev/null | tr -d '\r')
  case "${role[0]:-}" in
    master) echo master ;;
    slave) echo "replica of ${role[1]:-?}:${role[2]:-?} (link ${role[3]:-?})" ;;
    *) echo "role unknown" ;;
  esac
}

# _rha_healthy: seen from the first node up: cluster_state ok, all six known, three masters each with one
# replica, and every master's replica synced (a replica still loading could not take over).
_rha_healthy() {
  local first n
  first="$(_rha_first_up)" || return 1
  [[ "$(_rha_info "$first" cluster_state)" == ok && "$(_rha_info "$first" cluster_known_nodes)" == "$REDIS_HA_COUNT" ]] || return 1
  [[ "$(_rha_topology "$first")" == "3 3 3" ]] || return 1
  for n in $(_rha_nodes); do
    [[ "$(_rha_cli "$n" role 2>/dev/null | head -n 1)" == master ]] || continue
    _rha_replicas_online "$n" || return 1
  done
}

# _rha_create: forms the cluster when every node is new (knows only itself, no slot assigned); leaves a
# formed one alone; refuses a half-made one (some nodes joined, others not), which only a purge mends.
_rha_create() {
  local n fresh=0 addrs=() logf="$SECKILL_LOGS/redis-ha-create.log"
  for n in $(_rha_nodes); do
    [[ "$(_rha_info "$n" cluster_known_nodes)" == 1 && "$(_rha_info "$n" cluster_slots_assigned)" == 0 ]] && fresh=$((fresh + 1))
    addrs+=("$NODE_IP:$(_rha_port "$n")")   # the announced addresses (see above)
  done
  ((fresh == 0)) && return 0
  ((fresh == REDIS_HA_COUNT)) \
    || die "redis-ha: $fresh of $REDIS_HA_COUNT nodes are not part of the cluster (half made?): stack.sh down --purge redis-ha, then up again"
  log "redis-ha: creating the cluster: 3 masters, 1 replica each (log: $logf)"
  # (redis-cli warns that replicas share their master's host: here every node is on one machine.)
  timeout 60 redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >>"$logf" 2>&1 \
    || { tail -n 20 "$logf" >&2; die "redis-ha: redis-cli --cluster create failed (log: $logf)"; }
}

# redis_ha_start: the six nodes, the cluster formed once, then healthy (see _rha_healthy).
redis_ha_start() {
  local n t0=$SECONDS
  redis_ha_install
  for n in $(_rha_nodes); do _rha_launch "$n"; done
  for n in $(_rha_nodes); do _rha_wait_pong "$n"; done
  _rha_create
  wait_until "redis-ha: cluster_state ok, $REDIS_HA_COUNT nodes, 3 masters with a synced replica each" \
    "$(_rha_log 1)" "$REDIS_HA_START_TIMEOUT" _rha_healthy
  log "redis-ha: cluster ready on $(redis_ha_nodes) in $((SECONDS - t0))s"
}

# redis_ha_node_start N (`stack.sh start redis-ha-N`): one node, e.g. after a kill; returns once the cluster
# is healthy again (the node rejoined, as a replica when its replica took over meanwhile).
redis_ha_node_start() {
  local n="$1" t0=$SECONDS
  redis_ha_install
  _rha_launch "$n"
  _rha_wait_pong "$n"
  wait_until "redis-ha-$n to rejoin: cluster_state ok, 3 masters with a synced replica each" \
    "$(_rha_log "$n")" "$REDIS_HA_START_TIMEOUT" _rha_healthy
  log "redis-ha-$n: back as $(_rha_role "$n"), cluster healthy, in $((SECONDS - t0))s"
}

# redis_ha_node_stop N: SIGTERM (nodes.conf written, AOF fsynced). redis_ha_node_kill N: SIGKILL, as a crash
# (the pid file stays); redis_ha_kill: every node so.
redis_ha_node_stop() { stop_daemon "redis-ha-$1" 20; }
redis_ha_node_kill() { kill_daemon "redis-ha-$1"; }
redis_ha_kill() { local n; for n in $(_rha_nodes); do redis_ha_node_kill "$n"; done; }

# redis_ha_stop: all nodes at once.
redis_ha_stop() {
  local n
  for n in $(_rha_nodes); do redis_ha_node_stop "$n" & done
  wait
}

redis_ha_in_use() {
  local n
  for n in $(_rha_nodes); do [[ -f "$(pid_file "redis-ha-$n")" ]] && return 0; done
  return 1
}

redis_ha_running() {
  local n
  for n in $(_rha_nodes); do _rha_running "$n" && return 0; done
  return 1
}

# redis_ha_status: one line per node (its role), one for the cluster; non-zero when a node is down or the
# cluster is not healthy.
redis_ha_status() {
  local n rc=0 first m r p
  for n in $(_rha_nodes); do
    if _rha_running "$n" && _rha_pong "$n"; then
      printf '%-23s running  %s %s\n' "redis-ha-$n" "$STACK_HOST:$(_rha_port "$n")" "$(_rha_role "$n")"
    else
      printf '%-23s stopped  %s\n' "redis-ha-$n" "$STACK_HOST:$(_rha_port "$n")"; rc=1
    fi
  done
  if first="$(_rha_first_up)"; then
    read -r m r p <<<"$(_rha_topology "$first")"
    printf '%-23s %-8s %s\n' redis-ha-cluster "$(_rha_info "$first" cluster_state)" \
      "$(_rha_info "$first" cluster_known_nodes) nodes known, $m masters, $r replicas, $p masters with one replica"
    _rha_healthy || rc=1
  fi
  return "$rc"
}

redis_ha_env() {
  redis_ha_running || return 0
  echo "export HA_REDIS_NODES=$(redis_ha_nodes)"
  # What REDIS_URL takes to point the workloads at the cluster (workloads/shared/redis/client.ts).
  echo "export HA_REDIS_URL=redis+cluster://$(redis_ha_nodes)"
  echo "export POD_HA_REDIS_URL=redis+cluster://$(redis_ha_nodes "$NODE_IP")"
}

# redis_ha_reset: stops the nodes and deletes their data (AOF, nodes.conf): the next start forms a new cluster.
redis_ha_reset() { redis_ha_stop; rm -rf "$REDIS_HA_DIR"; }
