# Shared helpers for the local stack scripts. Sourced, never run.
# Every service script uses these so that paths, waits and errors look the same.

SECKILL_CACHE="${SECKILL_CACHE:-$HOME/.cache/seckill}"   # downloads and builds, kept between runs
SECKILL_RUN="${SECKILL_RUN:-$SECKILL_CACHE/run}"          # data, logs and pid files of the running stack
SECKILL_BIN="$SECKILL_CACHE/bin"                          # binaries we build or fetch (kube-apiserver, helm, ...)
mkdir -p "$SECKILL_CACHE" "$SECKILL_RUN" "$SECKILL_BIN"

# Loopback ports, each overridable from the environment.
: "${STACK_HOST:=127.0.0.1}"
: "${KAFKA_PORT:=19092}"
: "${KAFKA_CONTROLLER_PORT:=19093}"
: "${REDIS_PORT:=16379}"
: "${MYSQL_PORT:=13306}"
: "${ETCD_PORT:=12379}"
: "${ETCD_PEER_PORT:=12380}"
: "${APISERVER_PORT:=16443}"
: "${PROMETHEUS_PORT:=19090}"

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

# port_open PORT: true when something listens on STACK_HOST:PORT.
port_open() { (exec 3<>"/dev/tcp/$STACK_HOST/$1") 2>/dev/null; }

# pid_alive NAME: true when the pid file of service NAME names a live process.
pid_alive() {
  local f="$SECKILL_RUN/$1.pid"
  [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start_daemon NAME LOGFILE COMMAND...: runs COMMAND in the background, detached, records its pid.
start_daemon() {
  local name="$1" logfile="$2"; shift 2
  mkdir -p "$(dirname "$logfile")"
  setsid "$@" >>"$logfile" 2>&1 < /dev/null &
  echo $! > "$SECKILL_RUN/$name.pid"
}

# stop_daemon NAME [TIMEOUT]: SIGTERM, then SIGKILL after TIMEOUT seconds.
stop_daemon() {
  local name="$1" timeout="${2:-20}" f="$SECKILL_RUN/$1.pid" pid
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.3; done
    kill -0 "$pid" 2>/dev/null && { log "$name did not stop in ${timeout}s, killing"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$f"
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
