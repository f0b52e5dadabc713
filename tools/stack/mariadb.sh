# MariaDB 10.11 from Debian (MySQL protocol), on loopback, its own data directory under the run directory.
# The `seckill` database and a `seckill` user are created here; tables come from the project's migrations.

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
    --bind-address="$STACK_HOST" --port="$MYSQL_PORT" --socket="$(mariadb_sock)" --pid-file="$dir/mysqld.pid" \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=1 --max-connections=500 \
    --skip-name-resolve --log-error="$logfile"
  wait_until "MariaDB to answer on $STACK_HOST:$MYSQL_PORT" "$logfile" 60 \
    mariadb-admin --socket="$(mariadb_sock)" -uroot ping
  mariadb --socket="$(mariadb_sock)" -uroot >>"$logfile" 2>&1 <<SQL || die "creating the seckill database failed (log: $logfile)"
CREATE DATABASE IF NOT EXISTS seckill;
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'%' IDENTIFIED BY '$MYSQL_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_USER'@'%';
FLUSH PRIVILEGES;
SQL
}

mariadb_stop() { stop_daemon mariadb 30; }

mariadb_status() {
  if pid_alive mariadb; then echo "mariadb     running  $STACK_HOST:$MYSQL_PORT"; else echo "mariadb     stopped  $STACK_HOST:$MYSQL_PORT"; return 1; fi
}

mariadb_env() { echo "export MYSQL_URL=mysql://$MYSQL_USER:$MYSQL_PASSWORD@$STACK_HOST:$MYSQL_PORT/seckill"; }

mariadb_reset() { mariadb_stop; rm -rf "$SECKILL_RUN/mariadb"; }
