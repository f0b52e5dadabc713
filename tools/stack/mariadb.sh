# MariaDB 10.11 from Debian (MySQL protocol), on loopback and on the node address (for pods), its own data
# directory under the run directory. The `seckill` database and a `seckill` user are created here (allowed from
# loopback, the node address and the pod network); tables come from the project's migrations.

: "${MYSQL_USER:=seckill}"
: "${MYSQL_PASSWORD:=seckill}"

mariadb_install() { apt_ensure mariadb-server mariadb-client; }

mariadb_sock() { echo "$SECKILL_RUN/mariadb/mysqld.sock"; }

mariadb_start() {
  if pid_alive mariadb && mariadb-admin --socket="$(mariadb_sock)" -uroot ping >/dev/null 2>&1; then return 0; fi
  local dir="$SECKILL_RUN/mariadb" logfile="$SECKILL_RUN/logs/mariadb.log"
  mkdir -p "$dir" "$SECKILL_RUN/logs"
  if [[ ! -d "$dir/data/mysql" ]]; then
    log "initialising MariaDB data directory"
    mariadb-install-db --no-defaults --user=root --datadir="$dir/data" --auth-root-authentication-method=socket \
      --skip-test-db >>"$logfile" 2>&1 || die "mariadb-install-db failed (log: $logfile)"
  fi
  # innodb_flush_log_at_trx_commit=1 keeps committed orders across a kill -9 (the chaos run checks it).
  start_daemon mariadb "$logfile" mariadbd --no-defaults --user=root --datadir="$dir/data" \
    --bind-address="$STACK_HOST,$NODE_IP" --port="$MYSQL_PORT" --socket="$(mariadb_sock)" --pid-file="$dir/mysqld.pid" \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=1 --max-connections=500 \
    --skip-name-resolve --log-error="$logfile"
  wait_until "MariaDB to answer on $STACK_HOST:$MYSQL_PORT" "$logfile" 60 \
    mariadb-admin --socket="$(mariadb_sock)" -uroot ping
  mariadb --socket="$(mariadb_sock)" -uroot >>"$logfile" 2>&1 <<SQL || die "creating the seckill database failed (log: $logfile)"
CREATE DATABASE IF NOT EXISTS seckill;
$(_mariadb_grants)
DROP USER IF EXISTS '$MYSQL_USER'@'%';
FLUSH PRIVILEGES;
SQL
}

# The user from the hosts that connect: host processes (127.0.0.1), the node address, and the pods
# (10.244.0.0/24 written as MariaDB wants it, address/netmask). Pods reach NODE_IP unmasqueraded, so their
# connections come from their own pod IPs.
_mariadb_grants() {
  local h pod_net="${POD_CIDR%/*}/$(_mariadb_netmask "${POD_CIDR#*/}")"
  for h in "$STACK_HOST" "$NODE_IP" "$pod_net"; do
    printf "CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s';\nGRANT ALL PRIVILEGES ON *.* TO '%s'@'%s';\n" \
      "$MYSQL_USER" "$h" "$MYSQL_PASSWORD" "$MYSQL_USER" "$h"
  done
}
_mariadb_netmask() { local b=$1 i m=""; for i in 1 2 3 4; do m+="$(( b >= 8 ? 255 : 256 - 2 ** (8 - b) ))."; b=$(( b >= 8 ? b - 8 : 0 )); done; echo "${m%.}"; }

mariadb_stop() { stop_daemon mariadb 30; }

mariadb_status() {
  if pid_alive mariadb; then echo "mariadb                 running  $STACK_HOST:$MYSQL_PORT $NODE_IP:$MYSQL_PORT"; else echo "mariadb                 stopped  $STACK_HOST:$MYSQL_PORT $NODE_IP:$MYSQL_PORT"; return 1; fi
}

mariadb_env() {
  echo "export MYSQL_URL=mysql://$MYSQL_USER:$MYSQL_PASSWORD@$STACK_HOST:$MYSQL_PORT/seckill"
  echo "export POD_MYSQL_URL=mysql://$MYSQL_USER:$MYSQL_PASSWORD@$NODE_IP:$MYSQL_PORT/seckill"
}

mariadb_reset() { mariadb_stop; rm -rf "$SECKILL_RUN/mariadb"; }
