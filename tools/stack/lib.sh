# Shared helpers, paths, addresses and ports of the local stack scripts. Sourced, never run.
# Every service script uses these so that paths, waits and errors look the same.

SECKILL_CACHE="${SECKILL_CACHE:-$HOME/.cache/seckill}"   # downloads and builds, kept between runs
SECKILL_RUN="${SECKILL_RUN:-$SECKILL_CACHE/run}"          # data, logs and pid files of the running stack
SECKILL_BIN="$SECKILL_CACHE/bin"                          # binaries we build or fetch (kube-apiserver, helm, ...)
SECKILL_LOGS="$SECKILL_RUN/logs"
STACK_TEMPLATES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/templates"
mkdir -p "$SECKILL_CACHE" "$SECKILL_RUN" "$SECKILL_BIN" "$SECKILL_LOGS"

# --- Addresses (network rule) -------------------------------------------------------------------------------
# Every address the stack uses is on loopback or on an interface the stack itself creates (net.sh); none is
# eth0's, none is another host's. The ranges are in no `ip addr`/`ip route` of these machines (eth0 is
# 192.0.2.2/24, the resolver 10.255.255.53).
#   STACK_HOST    127.0.0.1        host processes (tests, demo) reach every service here
#   NODE_IP       10.77.0.1/32     on NODE_IF (seckill0, made by net.sh): the Kubernetes node's address, the
#                                  apiserver's, and the second address of Redis/MariaDB/Kafka/etcd for pods
#   POD_CIDR      10.244.0.0/24    on POD_BRIDGE (seckill-br0, made by net.sh), gateway POD_GW
#   SERVICE_CIDR  10.97.0.0/16     ClusterIPs: only kube-proxy's DNAT rules (+ a route onto seckill0)
: "${STACK_HOST:=127.0.0.1}"
: "${NODE_NAME:=seckill-node}"
: "${NODE_IF:=seckill0}"
: "${NODE_IP:=10.77.0.1}"
: "${POD_BRIDGE:=seckill-br0}"
: "${POD_CIDR:=10.244.0.0/24}"
: "${POD_GW:=10.244.0.1}"
: "${SERVICE_CIDR:=10.97.0.0/16}"
: "${KUBERNETES_SVC_IP:=10.97.0.1}"
: "${DNS_SVC_IP:=10.97.0.10}"
: "${CLUSTER_DOMAIN:=cluster.local}"
: "${CNI_NET_NAME:=seckill-pods}"

# --- Ports, each overridable from the environment -----------------------------------------------------------
# On STACK_HOST and NODE_IP: Redis, MariaDB, etcd (same port on both); Kafka (a listener on each).
: "${KAFKA_PORT:=19092}"               # 127.0.0.1, advertised as such (host clients)
: "${KAFKA_POD_PORT:=19094}"           # NODE_IP, advertised as such (pods)
: "${KAFKA_CONTROLLER_PORT:=19093}"    # 127.0.0.1 only
: "${REDIS_PORT:=16379}"
: "${MYSQL_PORT:=13306}"
: "${ETCD_PORT:=12379}"
: "${ETCD_PEER_PORT:=12380}"           # 127.0.0.1 only
# On NODE_IP only: the apiserver (host processes and pods alike) and the kubelet.
: "${APISERVER_PORT:=16443}"
: "${KUBELET_PORT:=20250}"
# On 127.0.0.1 only: health and metrics of the cluster daemons, containerd's CRI stream server, Prometheus.
: "${KUBELET_HEALTHZ_PORT:=20248}"
: "${CONTROLLER_MANAGER_PORT:=20257}"
: "${SCHEDULER_PORT:=20259}"
: "${PROXY_HEALTHZ_PORT:=20256}"
: "${PROXY_METRICS_PORT:=20249}"
: "${CRI_STREAM_PORT:=20010}"
: "${PROMETHEUS_PORT:=19090}"
# The HA profile (`up --ha`: kafka-ha.sh, redis-cluster.sh); node N of each uses the first port + N - 1.
: "${KAFKA_HA_PORT:=19192}"            # 127.0.0.1: brokers 19192..19194, advertised as such (host clients)
: "${KAFKA_HA_POD_PORT:=19392}"        # NODE_IP: the same brokers' pod listeners 19392..19394 (pods)
: "${KAFKA_HA_CONTROLLER_PORT:=19292}" # 127.0.0.1: controllers 19292..19294 (the 3-voter quorum)
: "${REDIS_HA_PORT:=17000}"            # 127.0.0.1 and NODE_IP: Redis Cluster nodes 17000..17005, announced
                                       # on NODE_IP; cluster bus on port + 10000

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# wait_until STEP LOGFILE TIMEOUT_SECONDS COMMAND...
# Polls COMMAND until it succeeds; on timeout fails naming the step and its log file.
wait_until() {
  local step="$1" logfile="$2" timeout="$3"; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "last lines of $logfile:"; tail -n 20 "$logfile" >&2 2>/dev/null || true
      die "timed out after ${timeout}s waiting for: $step (log: $logfile)"
    fi
    sleep 0.5
  done
}

# tcp_open HOST PORT: true when something listens there. port_open PORT: the same on STACK_HOST.
tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
port_open() { tcp_open "$STACK_HOST" "$1"; }

# Pid files hold "PID STARTTIME" (field 22 of /proc/PID/stat): after a crash, or when every process of a
# session was ended, a stale file may name a pid the kernel has since given to another process; the start
# time tells them apart, so the stack never takes a stranger for its daemon nor signals it.
pid_file() { echo "$SECKILL_RUN/$1.pid"; }
_start_time() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
# pid_of NAME: the pid its pid file records (whether alive or not).
pid_of() { local p _; read -r p _ <"$(pid_file "$1")" 2>/dev/null && echo "$p"; }
# pid_alive NAME: the pid file names a live process that is the one started (a zombie, killed but not yet
# reaped, counts as dead).
pid_alive() {
  local f p t state
  f="$(pid_file "$1")"
  [[ -f "$f" ]] && read -r p t <"$f" && [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)"
  [[ -n "$state" && "$state" != Z ]] || return 1
  [[ -z "$t" || "$t" == "$(_start_time "$p")" ]]
}

# start_daemon NAME LOGFILE COMMAND...: runs COMMAND in the background, detached, records its pid.
start_daemon() {
  local name="$1" logfile="$2" pid; shift 2
  mkdir -p "$(dirname "$logfile")"
  printf '\n===== %s start %s =====\n' "$name" "$(date -Is)" >>"$logfile"
  setsid "$@" >>"$logfile" 2>&1 < /dev/null &
  pid=$!
  echo "$pid $(_start_time "$pid")" > "$(pid_file "$name")"
}

# stop_daemon NAME [TIMEOUT]: SIGTERM, then SIGKILL after TIMEOUT seconds.
stop_daemon() {
  local name="$1" timeout="${2:-20}" pid
  [[ -f "$(pid_file "$name")" ]] || return 0
  if pid_alive "$name"; then
    pid="$(pid_of "$name")"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while pid_alive "$name" && ((SECONDS < deadline)); do sleep 0.2; done
    pid_alive "$name" && { log "$name did not stop in ${timeout}s, killing"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$(pid_file "$name")"
}

# kill_daemon NAME: SIGKILL, no cleanup (a crash, for chaos runs); the pid file stays, as after a crash.
kill_daemon() { pid_alive "$1" && kill -KILL "$(pid_of "$1")" 2>/dev/null; return 0; }

# daemon_wait NAME STEP LOGFILE TIMEOUT COMMAND...: wait_until COMMAND succeeds, but fail at once (instead
# of at the timeout) when daemon NAME has exited, e.g. on a bad flag.
daemon_wait() {
  local name="$1" step="$2" logf="$3" timeout="$4"; shift 4
  wait_until "$step" "$logf" "$timeout" _ready_or_exited "$name" "$@"
  if ! pid_alive "$name"; then
    log "last lines of $logf:"; tail -n 20 "$logf" >&2 2>/dev/null || true
    die "$name exited while waiting for: $step (log: $logf)"
  fi
}
_ready_or_exited() { ! pid_alive "$1" || "${@:2}"; }

# render TEMPLATE OUT: copies templates/TEMPLATE to OUT with every @NAME@ replaced by the value of the shell
# variable NAME; a name that is not set is an error (no silently empty setting).
render() {
  local tmpl="$STACK_TEMPLATES/$1" out="$2" content var
  content="$(cat "$tmpl")"
  for var in $(grep -o '@[A-Z_][A-Z0-9_]*@' "$tmpl" | sort -u | tr -d @); do
    [[ -v $var ]] || die "template $tmpl uses @$var@, which is not set"
    content="${content//@$var@/${!var}}"
  done
  mkdir -p "$(dirname "$out")"
  printf '%s\n' "$content" > "$out.tmp" && mv -f "$out.tmp" "$out"
}

# apt_ensure PACKAGE...: installs Debian packages that are missing (root on these machines).
apt_ensure() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  log "installing from apt: ${missing[*]}"
  if [[ ! -f "$SECKILL_CACHE/.apt-updated" ]] || ! apt-get install -y --no-install-recommends "${missing[@]}" >>"$SECKILL_RUN/apt.log" 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update >>"$SECKILL_RUN/apt.log" 2>&1 || die "apt-get update failed (log: $SECKILL_RUN/apt.log)"
    touch "$SECKILL_CACHE/.apt-updated"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$SECKILL_RUN/apt.log" 2>&1 \
      || die "apt-get install ${missing[*]} failed (log: $SECKILL_RUN/apt.log)"
  fi
}
