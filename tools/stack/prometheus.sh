# Prometheus and promtool from Debian. Prometheus is started only on demand (`up --with-prometheus` or by the
# observability tests with their own scrape config); promtool is always available for rule checks.

prometheus_install() { apt_ensure prometheus; }

# prometheus_start [CONFIG_FILE]: scrapes what CONFIG_FILE says (default: itself only).
prometheus_start() {
  if pid_alive prometheus && port_open "$PROMETHEUS_PORT"; then return 0; fi
  local dir="$SECKILL_RUN/prometheus" config="${1:-}"
  mkdir -p "$dir"
  if [[ -z "$config" ]]; then
    config="$dir/prometheus.yml"
    printf 'global: {scrape_interval: 5s}\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [{targets: ["%s:%s"]}]\n' \
      "$STACK_HOST" "$PROMETHEUS_PORT" > "$config"
  fi
  start_daemon prometheus "$SECKILL_RUN/logs/prometheus.log" prometheus --config.file="$config" \
    --storage.tsdb.path="$dir/data" --web.listen-address="$STACK_HOST:$PROMETHEUS_PORT" --web.enable-lifecycle
  wait_until "Prometheus to listen on $STACK_HOST:$PROMETHEUS_PORT" "$SECKILL_RUN/logs/prometheus.log" 60 port_open "$PROMETHEUS_PORT"
}

prometheus_stop() { stop_daemon prometheus 20; }

prometheus_status() {
  if pid_alive prometheus; then echo "prometheus  running  $STACK_HOST:$PROMETHEUS_PORT"; else echo "prometheus  stopped  $STACK_HOST:$PROMETHEUS_PORT (started on demand)"; fi
}

prometheus_env() { echo "export PROMETHEUS_URL=http://$STACK_HOST:$PROMETHEUS_PORT"; }

prometheus_reset() { prometheus_stop; rm -rf "$SECKILL_RUN/prometheus"; }
