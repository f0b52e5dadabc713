# Local Kubernetes control plane for the stack: etcd + kube-apiserver only, plus kubectl and helm.
# Sourced by the stack orchestrator after lib.sh, never run directly.
#
# There is no kubelet, scheduler or controller-manager: objects are stored and validated (RBAC,
# CRDs with CEL rules, status subresources, server-side dry-run, Leases, Events all work) but no
# pod ever runs. That is all the operator/helm tests need.
#
# No prebuilt binary can be downloaded on our machines, so every binary is built with `go build`
# from the Go module proxy, in a wrapper module under $SECKILL_CACHE/build, and kept in
# $SECKILL_BIN with a version stamp: once built, kube_install costs a few stat calls.

# Pinned versions (override from the environment to try another one; the stamp files make a change rebuild).
# - Kubernetes v1.37.2: newest patch of the newest minor the module proxy serves; its go.mod says
#   `go 1.26.0`, so it builds with the machine's Go 1.26.8 without a toolchain download.
#   kubectl is built from the same tree so client and server minors always match.
# - etcd v3.7.3: Kubernetes 1.37 is developed and tested against etcd 3.7 (its go.mod requires the
#   3.7.0 client); 3.7.3 is the newest 3.7 patch served. Also `go 1.26.0`.
# - helm v3.22.0: newest helm v3 served (`go 1.26.0`); it is compiled against client-go v0.37,
#   i.e. the same Kubernetes minor as the apiserver.
: "${KUBE_VERSION:=v1.37.2}"
: "${ETCD_VERSION:=v3.7.3}"
: "${HELM_VERSION:=v3.22.0}"

KUBE_DIR="$SECKILL_RUN/kube"
KUBE_PKI="$KUBE_DIR/pki"
KUBECONFIG_ADMIN="$KUBE_DIR/admin.kubeconfig"
: "${SERVICE_CLUSTER_IP_RANGE:=10.96.0.0/16}"   # only allocated from, never routed: nothing here runs pods

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------

# _kube_go ARGS...: the go command with caches kept under $SECKILL_CACHE/go (outside the repo, kept
# between runs). GOTOOLCHAIN defaults to local: a module that needs a newer Go fails loudly
# instead of silently fetching a toolchain (export GOTOOLCHAIN=go1.27.3 to allow one).
# GOFLAGS is reset so a caller's -mod=vendor etc. cannot leak in. CGO off: static binaries, as
# upstream builds them.
_kube_go() {
  GOPATH="$SECKILL_CACHE/go" GOMODCACHE="$SECKILL_CACHE/go/pkg/mod" GOCACHE="$SECKILL_CACHE/go/cache" \
    GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOWORK=off go "$@"
}

# _kube_built NAME VERSION: true when $SECKILL_BIN/NAME exists and its stamp names VERSION.
_kube_built() {
  [[ -x "$SECKILL_BIN/$1" && "$(cat "$SECKILL_BIN/.$1.version" 2>/dev/null)" == "$2" ]]
}

# _kube_go_build NAME VERSION DIR PACKAGE LDFLAGS: builds PACKAGE in wrapper module DIR into
# $SECKILL_BIN/NAME and writes its stamp. The binary is written next to its target and renamed,
# so an interrupted build never leaves a half-written binary behind a valid stamp.
_kube_go_build() {
  local name="$1" version="$2" dir="$3" pkg="$4" ldflags="$5" logf="$SECKILL_RUN/logs/build-$1.log" t0=$SECONDS
  log "building $name $version (go build, log: $logf)"
  (cd "$dir" && _kube_go build -trimpath -ldflags "-s -w $ldflags" -o "$SECKILL_BIN/.$name.tmp" "$pkg") >>"$logf" 2>&1 \
    || die "go build of $name $version failed (log: $logf)"
  mv -f "$SECKILL_BIN/.$name.tmp" "$SECKILL_BIN/$name"
  echo "$version" > "$SECKILL_BIN/.$name.version"
  log "built $name $version in $((SECONDS - t0))s"
}

# _kube_tidy NAME DIR: resolves the wrapper module's dependencies (fills go.sum), then marks the
# wrapper ready, so that a wrapper whose preparation was interrupted is made again next time.
_kube_tidy() {
  local logf="$SECKILL_RUN/logs/build-$1.log"
  (cd "$2" && _kube_go mod tidy) >>"$logf" 2>&1 || die "go mod tidy for $1 failed (log: $logf)"
  touch "$2/.ready"
}

# _kube_wrapper_init DIR MODULE: an empty wrapper module (go commands then run inside it, never
# in whatever module may enclose $SECKILL_CACHE).
_kube_wrapper_init() {
  rm -rf "$1" && mkdir -p "$1"
  printf 'module %s\n\ngo 1.26.0\n' "$2" > "$1/go.mod"
}

# _kube_wrapper_kubernetes: wrapper module that builds cmd/kube-apiserver and cmd/kubectl of
# k8s.io/kubernetes $KUBE_VERSION. k8s.io/kubernetes requires its staging modules (k8s.io/api,
# k8s.io/client-go, ...) at v0.0.0 and replaces them with ./staging/src/... directories, and a
# dependency's replace directives are ignored, so the wrapper replaces each of them with its
# published v0.<minor>.<patch> release. The list is read from the release's own go.mod so a new
# staging module in a later release is picked up. Staging modules the proxy does not serve (the
# sample-* examples, imported by nothing we build) are replaced with an empty local stub module.
_kube_wrapper_kubernetes() {
  local dir="$1" logf="$SECKILL_RUN/logs/build-kube-apiserver.log" gomod staging=() m stubs
  local staging_version="v0.${KUBE_VERSION#v1.}"
  [[ -f "$dir/.ready" ]] && return 0
  _kube_wrapper_init "$dir" seckill.local/build/kubernetes
  log "preparing the k8s.io/kubernetes $KUBE_VERSION wrapper module (log: $logf)"
  gomod="$(cd "$dir" && _kube_go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>>"$logf" \
    | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  [[ -n "$gomod" && -f "$gomod" ]] || die "cannot fetch k8s.io/kubernetes@$KUBE_VERSION from the module proxy (log: $logf)"
  mapfile -t staging < <(sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$gomod")
  ((${#staging[@]} > 0)) || die "no staging replace directives in $gomod (log: $logf)"
  # One `go list -e` answers for all staging modules; a module the proxy refuses gets an Error line.
  stubs="$(cd "$dir" && _kube_go list -m -e -f '{{if .Error}}{{.Path}}{{end}}' \
    "${staging[@]/%/@$staging_version}" 2>>"$logf")"
  {
    echo "module seckill.local/build/kubernetes"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    for m in "${staging[@]}"; do
      if grep -qxF "$m" <<<"$stubs"; then
        mkdir -p "$dir/stub/$m" && printf 'module %s\n\ngo 1.22\n' "$m" > "$dir/stub/$m/go.mod"
        printf '\t%s => ./stub/%s\n' "$m" "$m"
      else
        printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"
      fi
    done
    echo ")"
  } > "$dir/go.mod"
  [[ -n "$stubs" ]] && log "not served by the proxy, stubbed: $(paste -sd' ' <<<"$stubs")"
  # Blank imports of the commands so that `go mod tidy` keeps what they need (the usual tools.go).
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' \
    > "$dir/tools.go"
  _kube_tidy kube-apiserver "$dir"
}

# _kube_version_ldflags: what Kubernetes' hack/lib/version.sh stamps, so that `kubectl version`
# and the apiserver's /version report $KUBE_VERSION instead of v0.0.0-master. Both packages exist:
# kubectl reads client-go's, the apiserver component-base's.
_kube_version_ldflags() {
  local minor="${KUBE_VERSION#v1.}" pkg out="" date
  minor="${minor%%.*}"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    out+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    out+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  echo "$out"
}

_kube_install_kubernetes() {
  local dir="$SECKILL_CACHE/build/kubernetes-$KUBE_VERSION" ldflags
  _kube_built kube-apiserver "$KUBE_VERSION" && _kube_built kubectl "$KUBE_VERSION" && return 0
  _kube_wrapper_kubernetes "$dir"
  ldflags="$(_kube_version_ldflags)"
  _kube_built kube-apiserver "$KUBE_VERSION" \
    || _kube_go_build kube-apiserver "$KUBE_VERSION" "$dir" k8s.io/kubernetes/cmd/kube-apiserver "$ldflags"
  _kube_built kubectl "$KUBE_VERSION" \
    || _kube_go_build kubectl "$KUBE_VERSION" "$dir" k8s.io/kubernetes/cmd/kubectl "$ldflags"
}

# etcd's own main package lives in the root module go.etcd.io/etcd/v3, which only builds inside
# the etcd repository (relative replace directives); the server module exports etcdmain.Main, so
# a two-line main package calling it builds the same etcd binary.
_kube_install_etcd() {
  local dir="$SECKILL_CACHE/build/etcd-$ETCD_VERSION"
  _kube_built etcd "$ETCD_VERSION" && return 0
  if [[ ! -f "$dir/.ready" ]]; then
    _kube_wrapper_init "$dir" seckill.local/build/etcd
    printf '\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >> "$dir/go.mod"
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' \
      > "$dir/main.go"
    _kube_tidy etcd "$dir"
  fi
  _kube_go_build etcd "$ETCD_VERSION" "$dir" . ""
}

_kube_install_helm() {
  local dir="$SECKILL_CACHE/build/helm-$HELM_VERSION" kv kmaj kmin ldflags
  _kube_built helm "$HELM_VERSION" && return 0
  if [[ ! -f "$dir/.ready" ]]; then
    _kube_wrapper_init "$dir" seckill.local/build/helm
    printf '\nrequire helm.sh/helm/v3 %s\n' "$HELM_VERSION" >> "$dir/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n' > "$dir/tools.go"
    _kube_tidy helm "$dir"
  fi
  # As helm's Makefile: its version, and the default Kubernetes version for `helm template`
  # (client-go's minor, major+1 since client-go is v0.x).
  kv="$(cd "$dir" && _kube_go list -m -f '{{.Version}}' k8s.io/client-go 2>/dev/null)"
  kmaj=1 kmin="$(cut -d. -f2 <<<"$kv")"
  ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  if [[ -n "$kmin" ]]; then
    ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$kmaj -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kmin"
    ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$kmaj -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kmin"
  fi
  _kube_go_build helm "$HELM_VERSION" "$dir" helm.sh/helm/v3/cmd/helm "$ldflags"
}

# kube_install: builds whatever of etcd, kube-apiserver, kubectl and helm is missing or stale.
# One go build at a time: they are CPU and memory heavy and the machine has 2 cores.
kube_install() {
  command -v go >/dev/null || die "go is needed to build the Kubernetes binaries"
  mkdir -p "$SECKILL_RUN/logs" "$SECKILL_CACHE/build"
  _kube_install_etcd
  _kube_install_kubernetes
  _kube_install_helm
}

# ---------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------

# _kube_pki: CA, apiserver serving cert, service-account key pair and admin client cert, made
# once with openssl and kept (a restart keeps the same CA, so kubeconfigs handed out stay valid).
# Made in a scratch dir and renamed at the end, so an interrupted run leaves no half-made PKI.
_kube_pki() {
  [[ -f "$KUBE_PKI/admin.crt" ]] && return 0
  local tmp="$KUBE_DIR/pki.tmp" logf="$SECKILL_RUN/logs/kube-pki.log"
  rm -rf "$tmp" && mkdir -p "$tmp" && chmod 700 "$tmp"
  log "generating the Kubernetes PKI in $KUBE_PKI"
  # The first address of the service range is the `kubernetes` Service's ClusterIP: in the SANs
  # as on any cluster (nothing routes it here, but in-cluster style clients validate against it).
  local svc_ip="${SERVICE_CLUSTER_IP_RANGE%.*/*}.1" host_san=""
  [[ "$STACK_HOST" != 127.0.0.1 ]] && host_san=",IP:$STACK_HOST"
  (
    set -e
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=seckill-kube-ca" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
    # _sign NAME SUBJECT EXTENSIONS: a key and a CA-signed cert valid 10 years.
    _sign() {
      openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
      printf '%s\n' "$3" > "$1.ext"
      openssl x509 -req -sha256 -days 3650 -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
        -out "$1.crt" -extfile "$1.ext"
      rm -f "$1.csr" "$1.ext"
    }
    _sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1$host_san,IP:$svc_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    # O=system:masters is bound to cluster-admin by the apiserver's bootstrap RBAC policy.
    _sign admin "/O=system:masters/CN=admin" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    # Service-account tokens: signed with sa.key, verified with sa.pub.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
    openssl pkey -in sa.key -pubout -out sa.pub
  ) >"$logf" 2>&1 || die "generating the Kubernetes PKI failed (log: $logf)"
  rm -rf "$KUBE_PKI" && mv "$tmp" "$KUBE_PKI"
}

# _kube_kubeconfig: the admin kubeconfig, certs embedded so it can be copied anywhere.
# Rewritten on every start (cheap), so a change of STACK_HOST/APISERVER_PORT is picked up.
_kube_kubeconfig() {
  local b64="base64 -w0"
  rm -f "$KUBECONFIG_ADMIN.tmp"
  (umask 077 && : > "$KUBECONFIG_ADMIN.tmp")   # holds the admin key: not world-readable
  cat >> "$KUBECONFIG_ADMIN.tmp" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: seckill
  cluster:
    server: https://$STACK_HOST:$APISERVER_PORT
    certificate-authority-data: $($b64 "$KUBE_PKI/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $($b64 "$KUBE_PKI/admin.crt")
    client-key-data: $($b64 "$KUBE_PKI/admin.key")
contexts:
- name: seckill
  context:
    cluster: seckill
    user: admin
    namespace: default
current-context: seckill
YAML
  mv -f "$KUBECONFIG_ADMIN.tmp" "$KUBECONFIG_ADMIN"
}

_kube_etcd_healthy() {
  curl -fsS --max-time 2 "http://$STACK_HOST:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'
}

_kube_apiserver_ready() {
  [[ "$(curl -fsS --max-time 3 --cacert "$KUBE_PKI/ca.crt" --cert "$KUBE_PKI/admin.crt" --key "$KUBE_PKI/admin.key" \
    "https://$STACK_HOST:$APISERVER_PORT/readyz" 2>/dev/null)" == ok ]]
}

_kube_kubectl() { "$SECKILL_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# _kube_wait NAME STEP LOGFILE TIMEOUT COMMAND...: wait_until COMMAND succeeds, but fail at once
# (instead of at the timeout) when daemon NAME has exited, e.g. on a bad flag.
_kube_wait() {
  local name="$1" step="$2" logf="$3" timeout="$4"; shift 4
  wait_until "$step" "$logf" "$timeout" _kube_ready_or_exited "$name" "$@"
  if ! pid_alive "$name"; then
    log "last lines of $logf:"; tail -n 20 "$logf" >&2 2>/dev/null || true
    die "$name exited while waiting for: $step (log: $logf)"
  fi
}
_kube_ready_or_exited() { ! pid_alive "$1" || "${@:2}"; }

_kube_start_etcd() {
  local logf="$SECKILL_RUN/logs/etcd.log"
  if pid_alive etcd && _kube_etcd_healthy; then return 0; fi
  pid_alive etcd && stop_daemon etcd          # ours but unhealthy: restart it
  port_open "$ETCD_PORT" && die "port $ETCD_PORT (ETCD_PORT) is taken by another process"
  port_open "$ETCD_PEER_PORT" && die "port $ETCD_PEER_PORT (ETCD_PEER_PORT) is taken by another process"
  mkdir -p "$KUBE_DIR/etcd" && chmod 700 "$KUBE_DIR/etcd"
  log "starting etcd on $STACK_HOST:$ETCD_PORT (log: $logf)"
  # Plain http on loopback: only the apiserver talks to it. --unsafe-no-fsync: a throwaway test
  # store, and fsync latency on CI disks is the main cause of slow etcd and apiserver timeouts.
  start_daemon etcd "$logf" "$SECKILL_BIN/etcd" \
    --name seckill \
    --data-dir "$KUBE_DIR/etcd" \
    --listen-client-urls "http://$STACK_HOST:$ETCD_PORT" \
    --advertise-client-urls "http://$STACK_HOST:$ETCD_PORT" \
    --listen-peer-urls "http://$STACK_HOST:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://$STACK_HOST:$ETCD_PEER_PORT" \
    --initial-cluster "seckill=http://$STACK_HOST:$ETCD_PEER_PORT" \
    --initial-cluster-state new \
    --unsafe-no-fsync \
    --log-level warn
  _kube_wait etcd "etcd health" "$logf" 60 _kube_etcd_healthy
}

_kube_start_apiserver() {
  local logf="$SECKILL_RUN/logs/kube-apiserver.log"
  if pid_alive kube-apiserver && _kube_apiserver_ready; then return 0; fi
  pid_alive kube-apiserver && stop_daemon kube-apiserver 30
  port_open "$APISERVER_PORT" && die "port $APISERVER_PORT (APISERVER_PORT) is taken by another process"
  log "starting kube-apiserver on https://$STACK_HOST:$APISERVER_PORT (log: $logf)"
  # --endpoint-reconciler-type=none: the default reconciler publishes the advertise address in
  #   the `kubernetes` Endpoints, and the apiserver refuses to start with a loopback one ("cannot
  #   use public IP 127.0.0.1 with endpoint reconciler ... may not be in the loopback range").
  # --disable-admission-plugins=ServiceAccount: that plugin rejects every Pod whose service
  #   account does not exist ("error looking up service account default/default"), and without
  #   kube-controller-manager no namespace ever gets its `default` ServiceAccount, so no bare Pod
  #   could be created. Deployments, CRs, ServiceAccounts and TokenRequests are not affected.
  # --authorization-mode=RBAC: as in production; the admin cert is in system:masters.
  # --allow-privileged: charts that ask for privileged containers are accepted as on kind/k3s.
  start_daemon kube-apiserver "$logf" "$SECKILL_BIN/kube-apiserver" \
    --bind-address "$STACK_HOST" \
    --advertise-address "$STACK_HOST" \
    --secure-port "$APISERVER_PORT" \
    --etcd-servers "http://$STACK_HOST:$ETCD_PORT" \
    --tls-cert-file "$KUBE_PKI/apiserver.crt" \
    --tls-private-key-file "$KUBE_PKI/apiserver.key" \
    --client-ca-file "$KUBE_PKI/ca.crt" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$KUBE_PKI/sa.pub" \
    --service-account-signing-key-file "$KUBE_PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CLUSTER_IP_RANGE" \
    --endpoint-reconciler-type none \
    --disable-admission-plugins ServiceAccount \
    --allow-privileged=true \
    --profiling=false
  _kube_wait kube-apiserver "kube-apiserver /readyz" "$logf" 120 _kube_apiserver_ready
  # /readyz can answer before the bootstrap controller has created the system namespaces.
  _kube_wait kube-apiserver "namespace default" "$logf" 30 _kube_kubectl get namespace default
}

# kube_start: etcd, then kube-apiserver once etcd is healthy; returns when kubectl works.
# Builds the binaries first if they are missing (kube_install is a no-op once they are).
kube_start() {
  kube_install
  mkdir -p "$KUBE_DIR" "$SECKILL_RUN/logs" && chmod 700 "$KUBE_DIR"
  _kube_pki
  _kube_kubeconfig
  _kube_start_etcd
  _kube_start_apiserver
}

# kube_stop: apiserver first (so it does not spin on a vanished etcd while draining), then etcd.
# Data and PKI are kept.
kube_stop() {
  stop_daemon kube-apiserver 30
  stop_daemon etcd 20
}

# kube_status: one line per component; non-zero when any is down.
kube_status() {
  local rc=0 name port state
  for name in etcd kube-apiserver; do
    if [[ $name == etcd ]]; then port=$ETCD_PORT; else port=$APISERVER_PORT; fi
    if pid_alive "$name" && port_open "$port"; then state=running; else state=stopped; rc=1; fi
    printf '%-15s %-8s %s:%s\n' "$name" "$state" "$STACK_HOST" "$port"
  done
  return "$rc"
}

# kube_env: the line that points kubectl and helm at the stack (PATH is the orchestrator's).
kube_env() {
  printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_ADMIN"
  # The same etcd serves the consumer's optional etcd-lock stock guard (its own key prefix).
  echo "export ETCD_ENDPOINTS=http://$STACK_HOST:$ETCD_PORT"
}

# kube_reset: for `down --purge`: stops and forgets all cluster data and the PKI (binaries stay).
kube_reset() {
  kube_stop
  rm -rf "$KUBE_DIR"
}
