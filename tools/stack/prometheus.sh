# Prometheus for the stack, started only on demand (`up prometheus` / `start prometheus`), and Debian's
# prometheus + promtool (apt), which the observability tests run with their own static scrape configs and the
# rule checks use.
#
# The stack's own is built with `go install` from the Go module proxy (github.com/prometheus/prometheus
# v0.316.0 = Prometheus 3.16.0, `go 1.26.7`), because Debian's 2.42 has the Kubernetes service discovery
# patched out ("Disable kubernetes SD, until dependencies are more reasonable": kubernetes_sd_configs is an
# unknown field there). Built with -tags remove_all_sd,enable_kubernetes_sd: Kubernetes SD only (file and
# http SD are always in), no cloud SDKs; no UI assets (the API works). ~3 min once, then cached in
# $SECKILL_CACHE/prometheus/<version>, outside PATH: `prometheus` on PATH stays Debian's.
#
# Its default config scrapes itself and the cluster's pods, found through the apiserver
# (kubernetes_sd_configs, role pod, with the admin client certificate and the cluster's CA), straight at
# their pod IPs (the host routes POD_CIDR onto the pod bridge). A pod is scraped when it says so with the
# usual annotations (prometheus.io/scrape: "true", optional prometheus.io/port and prometheus.io/path), or
# when a container port is named `http` or `metrics`: the chart's api, operator and consumer pods name their
# port `http` and serve /metrics there (the ports its ServiceMonitors and PodMonitor scrape), CoreDNS names
# its `metrics`. prometheus.io/scrape: "false" opts a pod out. Target labels: namespace, pod, container,
# and event on the consumers (their seckill.io/event label), as the chart's monitors give them.

# Prometheus 3.x: the module is tagged v0.3xx.y for Prometheus 3.xx.y.
: "${PROMETHEUS_MODULE_VERSION:=v0.316.0}"
PROMETHEUS_VERSION="3.${PROMETHEUS_MODULE_VERSION#v0.3}"   # v0.316.0 -> 3.16.0
PROMETHEUS_BIN="$SECKILL_CACHE/prometheus/v$PROMETHEUS_VERSION/prometheus"

prometheus_install() { apt_ensure prometheus; }

_prometheus_build() {
  [[ -x "$PROMETHEUS_BIN" ]] && return 0
  local logf="$SECKILL_LOGS/build-prometheus.log" t0=$SECONDS v=github.com/prometheus/common/version dir
  dir="$(dirname "$PROMETHEUS_BIN")"
  command -v go >/dev/null || die "go is needed to build Prometheus"
  mkdir -p "$dir.tmp" "$SECKILL_CACHE/build"
  log "building Prometheus $PROMETHEUS_VERSION with Kubernetes service discovery (go install, ~3 min once; log: $logf)"
  (cd "$SECKILL_CACHE/build" && GOBIN="$dir.tmp" _kube_go install -trimpath -tags remove_all_sd,enable_kubernetes_sd \
    -ldflags "-s -w -X $v.Version=$PROMETHEUS_VERSION -X $v.Revision=$PROMETHEUS_MODULE_VERSION -X $v.Branch=HEAD -X $v.BuildUser=seckill" \
    "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_MODULE_VERSION") >>"$logf" 2>&1 \
    || die "go install of Prometheus $PROMETHEUS_MODULE_VERSION failed (log: $logf)"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  log "built Prometheus $PROMETHEUS_VERSION in $((SECONDS - t0))s"
}

# The labels both pod jobs give their targets (namespace, pod, container, and event on consumer pods), and
# the pods they never scrape (not running).
_prometheus_pod_relabels() {
  cat <<'YAML'
      - {source_labels: [__meta_kubernetes_pod_phase], regex: "Pending|Succeeded|Failed|Unknown", action: drop}
      - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
      - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
      - {source_labels: [__meta_kubernetes_pod_container_name], target_label: container}
      - {source_labels: [__meta_kubernetes_pod_label_seckill_io_event], regex: "(.+)", target_label: event}
YAML
}

_prometheus_default_config() {
  local api="https://$NODE_IP:$APISERVER_PORT"
  local tls="{ca_file: $KUBE_PKI/ca.crt, cert_file: $KUBE_PKI/admin.crt, key_file: $KUBE_PKI/admin.key}"
  cat <<YAML
# Written by tools/stack/prometheus.sh on every start with the default config.
global: {scrape_interval: 5s, scrape_timeout: 4s}
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["$STACK_HOST:$PROMETHEUS_PORT"]}]
  # Pods with a container port named http or metrics (one target per such port), unless annotated.
  - job_name: kubernetes-pods
    kubernetes_sd_configs: [{role: pod, api_server: "$api", tls_config: $tls}]
    fallback_scrape_protocol: PrometheusText0.0.4
    relabel_configs:
      - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], regex: "true|false", action: drop}
      - {source_labels: [__meta_kubernetes_pod_container_port_name], regex: "http|metrics", action: keep}
$(_prometheus_pod_relabels)
  # Pods annotated prometheus.io/scrape: "true": the port of prometheus.io/port (else the declared ones) and
  # the path of prometheus.io/path (else /metrics).
  - job_name: kubernetes-pods-annotated
    kubernetes_sd_configs: [{role: pod, api_server: "$api", tls_config: $tls}]
    fallback_scrape_protocol: PrometheusText0.0.4
    relabel_configs:
      - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], regex: "true", action: keep}
      - {source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port], regex: '([^:]+)(?::\d+)?;(\d+)', replacement: '\$1:\$2', target_label: __address__}
      - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path], regex: "(.+)", target_label: __metrics_path__}
$(_prometheus_pod_relabels)
YAML
}

# prometheus_start [CONFIG_FILE]: scrapes what CONFIG_FILE says (default: itself and the cluster's pods).
prometheus_start() {
  if pid_alive prometheus && port_open "$PROMETHEUS_PORT"; then return 0; fi
  local dir="$SECKILL_RUN/prometheus" config="${1:-}"
  _prometheus_build
  mkdir -p "$dir"
  if [[ -z "$config" ]]; then
    config="$dir/prometheus.yml"
    _prometheus_default_config > "$config"
  fi
  start_daemon prometheus "$SECKILL_LOGS/prometheus.log" "$PROMETHEUS_BIN" --config.file="$config" \
    --storage.tsdb.path="$dir/data" --web.listen-address="$STACK_HOST:$PROMETHEUS_PORT" --web.enable-lifecycle
  daemon_wait prometheus "Prometheus to listen on $STACK_HOST:$PROMETHEUS_PORT" "$SECKILL_LOGS/prometheus.log" 60 \
    port_open "$PROMETHEUS_PORT"
}

prometheus_stop() { stop_daemon prometheus 20; }

prometheus_status() {
  if pid_alive prometheus; then
    echo "prometheus              running  $STACK_HOST:$PROMETHEUS_PORT"
  else
    echo "prometheus              stopped  $STACK_HOST:$PROMETHEUS_PORT (started on demand)"
  fi
}

prometheus_env() { echo "export PROMETHEUS_URL=http://$STACK_HOST:$PROMETHEUS_PORT"; }

prometheus_reset() { prometheus_stop; rm -rf "$SECKILL_RUN/prometheus"; }
