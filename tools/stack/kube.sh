# The local Kubernetes cluster, control-plane half: build of every cluster binary, the PKI and kubeconfigs,
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler. The node half (containerd, kubelet,
# kube-proxy, CNI, CoreDNS) is node.sh; the interfaces and the guard net.sh. Sourced by stack.sh after lib.sh.
#
# One real single-node cluster: pods run (containerd + runc), get IPs on the pod bridge, Services work
# (kube-proxy, iptables mode), DNS works (CoreDNS, cluster.local only), RBAC and the Node authorizer are on,
# ServiceAccount tokens are issued and verified. Host processes and pods use the same apiserver,
# https://NODE_IP:APISERVER_PORT (the admin kubeconfig is system:masters).
#
# No prebuilt binary can be downloaded on our machines, so every binary is built with `go build` from the Go
# module proxy, in a wrapper module under $SECKILL_CACHE/build, and kept in $SECKILL_BIN with a version stamp:
# once built, kube_install costs a few stat calls.

# Pinned versions (override from the environment to try another one; the stamp files make a change rebuild).
# - Kubernetes v1.37.2: newest patch of the newest minor the module proxy serves; its go.mod says
#   `go 1.26.0`, so it builds with the machine's Go 1.26.8 without a toolchain download. Every Kubernetes
#   command (apiserver, kubectl, kubelet, ...) is built from the same tree, so all minors match.
# - etcd v3.7.3: Kubernetes 1.37 is developed and tested against etcd 3.7 (its go.mod requires the
#   3.7.0 client); 3.7.3 is the newest 3.7 patch served. Also `go 1.26.0`.
# - helm v3.22.0: newest helm v3 served (`go 1.26.0`); it is compiled against client-go v0.37,
#   i.e. the same Kubernetes minor as the apiserver.
# - CoreDNS v1.15.0 (newest served, `go 1.26.0`) and crictl v1.37.0 (cri-tools, the kubelet's minor): plain
#   `go install`, neither has replace directives.
: "${KUBE_VERSION:=v1.37.2}"
: "${ETCD_VERSION:=v3.7.3}"
: "${HELM_VERSION:=v3.22.0}"
: "${COREDNS_VERSION:=v1.15.0}"
: "${CRICTL_VERSION:=v1.37.0}"

KUBE_DIR="$SECKILL_RUN/kube"                       # everything of the cluster's run: `down --purge` deletes it
KUBE_PKI="$KUBE_DIR/pki"
KUBE_KCFG="$KUBE_DIR/kubeconfig"                   # one kubeconfig per component
KUBECONFIG_ADMIN="$KUBE_DIR/admin.kubeconfig"      # O=system:masters: what KUBECONFIG points at
# Written once the data dir has the cluster's layout. A kube dir without it is from the apiserver-only stack
# (10.96.0.0/16, loopback apiserver, no node certificates): it is started over instead of half-reused.
KUBE_LAYOUT="$KUBE_DIR/.cluster-v1"
KUBE_COMMANDS=(kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy)
CONTROL_PLANE_DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler)

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

# _kube_built NAME VERSION: true when $SECKILL_BIN/NAME exists and its stamp names VERSION. A binary the
# single-node prototype built at the same version ($SECKILL_CACHE/k8s-node/bin, same stamps, same go
# flags) is adopted instead of rebuilt.
_kube_built() {
  [[ -x "$SECKILL_BIN/$1" && "$(cat "$SECKILL_BIN/.$1.version" 2>/dev/null)" == "$2" ]] && return 0
  local proto="$SECKILL_CACHE/k8s-node/bin"
  [[ -x "$proto/$1" && "$(cat "$proto/.$1.version" 2>/dev/null)" == "$2" ]] || return 1
  cp -f "$proto/$1" "$SECKILL_BIN/.$1.tmp" && mv -f "$SECKILL_BIN/.$1.tmp" "$SECKILL_BIN/$1" \
    && echo "$2" > "$SECKILL_BIN/.$1.version" && log "reused $1 $2 from $proto"
}

# _kube_go_build NAME VERSION DIR PACKAGE LDFLAGS: builds PACKAGE in wrapper module DIR into
# $SECKILL_BIN/NAME and writes its stamp. The binary is written next to its target and renamed,
# so an interrupted build never leaves a half-written binary behind a valid stamp.
_kube_go_build() {
  local name="$1" version="$2" dir="$3" pkg="$4" ldflags="$5" logf="$SECKILL_LOGS/build-$1.log" t0=$SECONDS
  log "building $name $version (go build, log: $logf)"
  (cd "$dir" && _kube_go build -trimpath -ldflags "-s -w $ldflags" -o "$SECKILL_BIN/.$name.tmp" "$pkg") >>"$logf" 2>&1 \
    || die "go build of $name $version failed (log: $logf)"
  mv -f "$SECKILL_BIN/.$name.tmp" "$SECKILL_BIN/$name"
  echo "$version" > "$SECKILL_BIN/.$name.version"
  log "built $name $version in $((SECONDS - t0))s"
}

# _kube_go_install NAME VERSION MODULE/PACKAGE@VERSION [LDFLAGS]: `go install` of a module that builds on
# its own (no replace directives), into $SECKILL_BIN/NAME with its stamp.
_kube_go_install() {
  local name="$1" version="$2" pkg="$3" logf="$SECKILL_LOGS/build-$1.log" t0=$SECONDS gobin="$SECKILL_CACHE/build/gobin"
  log "building $name $version (go install $pkg, log: $logf)"
  mkdir -p "$gobin"
  (cd "$SECKILL_CACHE/build" && GOBIN="$gobin" _kube_go install -trimpath -ldflags "-s -w ${4:-}" "$pkg") >>"$logf" 2>&1 \
    || die "go install $pkg failed (log: $logf)"
  mv -f "$gobin/$name" "$SECKILL_BIN/$name"
  echo "$version" > "$SECKILL_BIN/.$name.version"
  log "built $name $version in $((SECONDS - t0))s"
}

# _kube_tidy NAME DIR [MARK]: resolves the wrapper module's dependencies (fills go.sum), then marks the
# wrapper ready (with MARK), so that a wrapper whose preparation was interrupted is made again next time.
_kube_tidy() {
  local logf="$SECKILL_LOGS/build-$1.log"
  (cd "$2" && _kube_go mod tidy) >>"$logf" 2>&1 || die "go mod tidy for $1 failed (log: $logf)"
  echo "${3:-}" > "$2/.ready"
}

# _kube_wrapper_init DIR MODULE: an empty wrapper module (go commands then run inside it, never
# in whatever module may enclose $SECKILL_CACHE).
_kube_wrapper_init() {
  rm -rf "$1" && mkdir -p "$1"
  printf 'module %s\n\ngo 1.26.0\n' "$2" > "$1/go.mod"
}

# _kube_wrapper_kubernetes: wrapper module that builds the KUBE_COMMANDS of k8s.io/kubernetes $KUBE_VERSION.
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at v0.0.0 and
# replaces them with ./staging/src/... directories, and a dependency's replace directives are ignored,
# so the wrapper replaces each of them with its published v0.<minor>.<patch> release. The list is read
# from the release's own go.mod so a new staging module in a later release is picked up. Staging
# modules the proxy does not serve (the sample-* examples, imported by nothing we build) are replaced
# with an empty local stub module. The .ready mark names the commands: a wrapper made for fewer (the
# apiserver-only stack's) is made again.
_kube_wrapper_kubernetes() {
  local dir="$1" logf="$SECKILL_LOGS/build-kube-apiserver.log" gomod staging=() m stubs
  local staging_version="v0.${KUBE_VERSION#v1.}" mark="${KUBE_COMMANDS[*]}"
  [[ -f "$dir/.ready" && "$(cat "$dir/.ready")" == "$mark" ]] && return 0
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
    printf 'module seckill.local/build/kubernetes\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
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
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for m in "${KUBE_COMMANDS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$m"; done
    printf ')\n'
  } > "$dir/tools.go"
  _kube_tidy kube-apiserver "$dir" "$mark"
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
  local dir="$SECKILL_CACHE/build/kubernetes-$KUBE_VERSION" ldflags="" c
  for c in "${KUBE_COMMANDS[@]}"; do
    _kube_built "$c" "$KUBE_VERSION" && continue
    _kube_wrapper_kubernetes "$dir"
    [[ -n "$ldflags" ]] || ldflags="$(_kube_version_ldflags)"
    _kube_go_build "$c" "$KUBE_VERSION" "$dir" "k8s.io/kubernetes/cmd/$c" "$ldflags"
  done
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

# kube_install: the node's apt packages, then builds whatever of etcd, the Kubernetes commands, helm,
# CoreDNS and crictl is missing or stale. One go build at a time: they are CPU and memory heavy and
# the machine has 2 cores.
kube_install() {
  node_install_packages
  command -v go >/dev/null || die "go is needed to build the Kubernetes binaries"
  mkdir -p "$SECKILL_LOGS" "$SECKILL_CACHE/build"
  _kube_install_etcd
  _kube_install_kubernetes
  _kube_install_helm
  _kube_built coredns "$COREDNS_VERSION" \
    || _kube_go_install coredns "$COREDNS_VERSION" "github.com/coredns/coredns@$COREDNS_VERSION"
  _kube_built crictl "$CRICTL_VERSION" \
    || _kube_go_install crictl "$CRICTL_VERSION" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" \
      "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
}

# ---------------------------------------------------------------------------------------------
# PKI and kubeconfigs
# ---------------------------------------------------------------------------------------------

# _kube_pki: a CA of our own and every certificate the cluster needs, made once with openssl and kept (a
# restart keeps the same CA, so kubeconfigs handed out stay valid). Made in a scratch dir and renamed at the
# end, so an interrupted run leaves no half-made PKI.
_kube_pki() {
  [[ -f "$KUBE_PKI/.done" ]] && return 0
  local tmp="$KUBE_DIR/pki.tmp" logf="$SECKILL_LOGS/kube-pki.log"
  rm -rf "$tmp" && mkdir -p "$tmp" && chmod 700 "$tmp"
  log "generating the Kubernetes PKI in $KUBE_PKI (log: $logf)"
  (
    set -e
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=seckill-kube-ca" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
    # _sign NAME SUBJECT EXTENDED-KEY-USAGE [SUBJECT-ALT-NAMES]: a key and a CA-signed cert valid 10 years.
    _sign() {
      openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
      { echo "basicConstraints=CA:FALSE"; echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$3"; [[ -z "${4:-}" ]] || echo "subjectAltName=$4"; } > "$1.ext"
      openssl x509 -req -sha256 -days 3650 -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
        -out "$1.crt" -extfile "$1.ext"
      rm -f "$1.csr" "$1.ext"
    }
    # Serving: the node IP (host processes and pods, through the `kubernetes` Service's endpoint), the
    # Service's ClusterIP and in-cluster names, loopback for completeness.
    _sign apiserver "/CN=kube-apiserver" serverAuth \
      "IP:$NODE_IP,IP:$KUBERNETES_SVC_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
    # O=system:masters is bound to cluster-admin by the apiserver's bootstrap RBAC policy.
    _sign admin "/O=system:masters/CN=admin" clientAuth
    # The apiserver's client cert towards the kubelet (logs, exec, port-forward).
    _sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
    # The Node authorizer and NodeRestriction admit a kubelet by CN=system:node:<node>, O=system:nodes.
    _sign kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
    _sign kubelet "/CN=$NODE_NAME" serverAuth "IP:$NODE_IP,DNS:$NODE_NAME"
    # The bootstrap RBAC policy has roles for these user names.
    _sign kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
    _sign kube-scheduler "/CN=system:kube-scheduler" clientAuth
    _sign kube-proxy "/CN=system:kube-proxy" clientAuth
    # Service-account tokens: signed with sa.key (apiserver, controller-manager), verified with sa.pub.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
    openssl pkey -in sa.key -pubout -out sa.pub
    chmod 600 ./*.key
    touch .done
  ) >"$logf" 2>&1 || die "generating the Kubernetes PKI failed (log: $logf)"
  rm -rf "$KUBE_PKI" && mv "$tmp" "$KUBE_PKI"
}

# _kube_kubeconfig FILE USER CERT: a kubeconfig for client cert $KUBE_PKI/CERT.{crt,key}, certs embedded so
# it can be copied anywhere. Rewritten on every start (cheap), so a change of NODE_IP/APISERVER_PORT is
# picked up. Not world-readable: it holds a key.
_kube_kubeconfig() {
  local f="$1" b64="base64 -w0"
  mkdir -p "$(dirname "$f")"
  rm -f "$f.tmp"
  (umask 077 && : > "$f.tmp")
  cat >> "$f.tmp" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: seckill
  cluster:
    server: https://$NODE_IP:$APISERVER_PORT
    certificate-authority-data: $($b64 "$KUBE_PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 "$KUBE_PKI/$3.crt")
    client-key-data: $($b64 "$KUBE_PKI/$3.key")
contexts:
- name: seckill
  context:
    cluster: seckill
    user: $2
    namespace: default
current-context: seckill
YAML
  mv -f "$f.tmp" "$f"
}

_kube_kubeconfigs() {
  _kube_kubeconfig "$KUBECONFIG_ADMIN" admin admin
  local c
  for c in kube-controller-manager kube-scheduler kube-proxy; do _kube_kubeconfig "$KUBE_KCFG/$c.kubeconfig" "$c" "$c"; done
  _kube_kubeconfig "$KUBE_KCFG/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet-client
}

# ---------------------------------------------------------------------------------------------
# Control plane
# ---------------------------------------------------------------------------------------------

_kube_etcd_healthy() {
  curl -fsS --max-time 2 "http://$STACK_HOST:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'
}

_kube_apiserver_ready() {
  [[ "$(curl -fsS --max-time 3 --cacert "$KUBE_PKI/ca.crt" --cert "$KUBE_PKI/admin.crt" --key "$KUBE_PKI/admin.key" \
    "https://$NODE_IP:$APISERVER_PORT/readyz" 2>/dev/null)" == ok ]]
}

# _kube_healthz PORT: the /healthz of a component serving TLS on loopback (self-signed: not verified).
_kube_healthz() { curl -fsSk --max-time 2 "https://127.0.0.1:$1/healthz" 2>/dev/null | grep -q ok; }

kube_kubectl() { "$SECKILL_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# _kube_port_free HOST PORT VARIABLE: fails naming the setting when someone else listens there.
_kube_port_free() { ! tcp_open "$1" "$2" || die "$1:$2 ($3) is taken by another process"; }

_kube_start_etcd() {
  local logf="$SECKILL_LOGS/etcd.log"
  if pid_alive etcd && _kube_etcd_healthy; then return 0; fi
  pid_alive etcd && stop_daemon etcd          # ours but unhealthy: restart it
  _kube_port_free "$STACK_HOST" "$ETCD_PORT" ETCD_PORT
  _kube_port_free "$NODE_IP" "$ETCD_PORT" ETCD_PORT
  _kube_port_free "$STACK_HOST" "$ETCD_PEER_PORT" ETCD_PEER_PORT
  mkdir -p "$KUBE_DIR/etcd" && chmod 700 "$KUBE_DIR/etcd"
  log "starting etcd on $STACK_HOST:$ETCD_PORT and $NODE_IP:$ETCD_PORT (log: $logf)"
  # Plain http. On NODE_IP too: the consumer's optional etcd-lock stock guard runs in pods (its own key
  # prefix). --unsafe-no-fsync: a throwaway test store, and fsync latency on CI disks is the main cause of
  # slow etcd and apiserver timeouts. No metrics listener.
  start_daemon etcd "$logf" "$SECKILL_BIN/etcd" \
    --name seckill \
    --data-dir "$KUBE_DIR/etcd" \
    --listen-client-urls "http://$STACK_HOST:$ETCD_PORT,http://$NODE_IP:$ETCD_PORT" \
    --advertise-client-urls "http://$STACK_HOST:$ETCD_PORT,http://$NODE_IP:$ETCD_PORT" \
    --listen-peer-urls "http://$STACK_HOST:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://$STACK_HOST:$ETCD_PEER_PORT" \
    --initial-cluster "seckill=http://$STACK_HOST:$ETCD_PEER_PORT" \
    --initial-cluster-state new \
    --listen-metrics-urls "" \
    --unsafe-no-fsync \
    --log-level warn
  daemon_wait etcd "etcd health" "$logf" 60 _kube_etcd_healthy
}

_kube_start_apiserver() {
  local logf="$SECKILL_LOGS/kube-apiserver.log"
  if pid_alive kube-apiserver && _kube_apiserver_ready; then return 0; fi
  pid_alive kube-apiserver && stop_daemon kube-apiserver 30
  _kube_port_free "$NODE_IP" "$APISERVER_PORT" APISERVER_PORT
  log "starting kube-apiserver on https://$NODE_IP:$APISERVER_PORT (log: $logf)"
  # --bind-address/--advertise-address NODE_IP: host processes and pods use the same address (pods through
  #   the `kubernetes` Service, whose endpoint the default lease reconciler publishes); nothing on eth0.
  # --authorization-mode Node,RBAC + NodeRestriction: the kubelet acts as system:node:<name> only.
  # ServiceAccount admission is on (the default): the controller-manager creates the `default` SAs and the
  #   kube-root-ca.crt ConfigMaps, tokens are signed with sa.key and issued for the cluster's issuer.
  # --kubelet-*: apiserver -> kubelet (logs, exec, port-forward) over TLS, the kubelet's serving cert
  #   verified against our CA, reached by its InternalIP (NODE_IP).
  # --allow-privileged: charts that ask for privileged containers are accepted as on kind/k3s.
  start_daemon kube-apiserver "$logf" "$SECKILL_BIN/kube-apiserver" \
    --bind-address "$NODE_IP" \
    --advertise-address "$NODE_IP" \
    --secure-port "$APISERVER_PORT" \
    --etcd-servers "http://$STACK_HOST:$ETCD_PORT" \
    --tls-cert-file "$KUBE_PKI/apiserver.crt" \
    --tls-private-key-file "$KUBE_PKI/apiserver.key" \
    --client-ca-file "$KUBE_PKI/ca.crt" \
    --kubelet-client-certificate "$KUBE_PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$KUBE_PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$KUBE_PKI/ca.crt" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file "$KUBE_PKI/sa.pub" \
    --service-account-signing-key-file "$KUBE_PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --allow-privileged=true \
    --profiling=false
  daemon_wait kube-apiserver "kube-apiserver /readyz" "$logf" 120 _kube_apiserver_ready
  # /readyz can answer before the bootstrap controller has created the system namespaces.
  daemon_wait kube-apiserver "namespace default" "$logf" 30 kube_kubectl get namespace default
}

_kube_start_controller_manager() {
  local logf="$SECKILL_LOGS/kube-controller-manager.log" k="$KUBE_KCFG/kube-controller-manager.kubeconfig"
  pid_alive kube-controller-manager && return 0
  _kube_port_free 127.0.0.1 "$CONTROLLER_MANAGER_PORT" CONTROLLER_MANAGER_PORT
  log "starting kube-controller-manager (log: $logf)"
  # One credential per controller (--use-service-account-credentials), SA tokens and kube-root-ca.crt,
  # certificate signing with our CA, the node's pod CIDR, no leader election (one instance).
  start_daemon kube-controller-manager "$logf" "$SECKILL_BIN/kube-controller-manager" \
    --kubeconfig "$k" --authentication-kubeconfig "$k" --authorization-kubeconfig "$k" \
    --bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$KUBE_PKI/sa.key" --root-ca-file "$KUBE_PKI/ca.crt" \
    --cluster-signing-cert-file "$KUBE_PKI/ca.crt" --cluster-signing-key-file "$KUBE_PKI/ca.key" \
    --allocate-node-cidrs=true --cluster-cidr "$POD_CIDR" --node-cidr-mask-size-ipv4 "${POD_CIDR#*/}" \
    --service-cluster-ip-range "$SERVICE_CIDR" --profiling=false
  daemon_wait kube-controller-manager "kube-controller-manager /healthz" "$logf" 60 _kube_healthz "$CONTROLLER_MANAGER_PORT"
}

_kube_start_scheduler() {
  local logf="$SECKILL_LOGS/kube-scheduler.log" k="$KUBE_KCFG/kube-scheduler.kubeconfig"
  pid_alive kube-scheduler && return 0
  _kube_port_free 127.0.0.1 "$SCHEDULER_PORT" SCHEDULER_PORT
  log "starting kube-scheduler (log: $logf)"
  start_daemon kube-scheduler "$logf" "$SECKILL_BIN/kube-scheduler" \
    --kubeconfig "$k" --authentication-kubeconfig "$k" --authorization-kubeconfig "$k" \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --leader-elect=false --profiling=false
  daemon_wait kube-scheduler "kube-scheduler /healthz" "$logf" 60 _kube_healthz "$SCHEDULER_PORT"
}

# _kube_timed STEP: runs STEP and appends its wall time to logs/kube-start-times.txt (docs/STACK.md's table).
_kube_timed() {
  local t0; t0="$(date +%s%N)"
  "$1"
  printf '%-32s %6d ms\n' "${1#_}" $((($(date +%s%N) - t0) / 1000000)) >> "$SECKILL_LOGS/kube-start-times.txt"
}

# kube_start: the whole cluster, in order (etcd, apiserver, controller-manager, scheduler, then the node:
# containerd, kubelet, kube-proxy, CoreDNS); returns once the node is Ready and DNS answers. Builds the
# binaries first if they are missing (a no-op once they are). Idempotent: running daemons are kept.
kube_start() {
  local t0=$SECONDS step
  kube_install
  if [[ -d "$KUBE_DIR" && ! -f "$KUBE_LAYOUT" ]]; then
    log "$KUBE_DIR is from the apiserver-only stack: starting the cluster's data over"
    kube_stop
    rm -rf "$KUBE_DIR"
  fi
  mkdir -p "$KUBE_DIR" && chmod 700 "$KUBE_DIR" && touch "$KUBE_LAYOUT"
  printf '\n== kube start %s\n' "$(date -Is)" >> "$SECKILL_LOGS/kube-start-times.txt"
  node_sweep_if_crashed
  net_up   # (idempotent: the interfaces and the guard, whatever happened to them since `stack up`)
  for step in _kube_pki _kube_kubeconfigs _kube_start_etcd _kube_start_apiserver _kube_start_controller_manager \
      _kube_start_scheduler "${NODE_START_STEPS[@]}"; do
    _kube_timed "$step"
  done
  log "kube: cluster up in $((SECONDS - t0))s (node $NODE_NAME Ready, CoreDNS answering; step times: $SECKILL_LOGS/kube-start-times.txt)"
}

# kube_stop: the node first (no new pods; every pod's sandbox torn down through the CRI, then the sweep of
# what is left on the host), then the control plane, apiserver before etcd. Data and PKI are kept.
kube_stop() {
  node_stop
  stop_daemon kube-scheduler 10
  stop_daemon kube-controller-manager 10
  stop_daemon kube-apiserver 30
  stop_daemon etcd 20
}

# One daemon of the cluster on its own (`stack.sh start|stop|kill DAEMON`, e.g. the demo's chaos restarts the
# kubelet): the others keep running, so pods keep running through a kubelet or containerd restart.
KUBE_DAEMONS=("${CONTROL_PLANE_DAEMONS[@]}" containerd kubelet kube-proxy)
kube_daemon_start() {
  local fn
  case $1 in
    etcd) fn=_kube_start_etcd ;;
    kube-apiserver) fn=_kube_start_apiserver ;;
    kube-controller-manager) fn=_kube_start_controller_manager ;;
    kube-scheduler) fn=_kube_start_scheduler ;;
    containerd) fn=_node_start_containerd ;;
    kubelet) fn=_node_start_kubelet ;;
    kube-proxy) fn=_node_start_proxy ;;
    *) die "not a daemon of the cluster: $1 (${KUBE_DAEMONS[*]})" ;;
  esac
  [[ -f "$KUBE_LAYOUT" ]] || die "no cluster yet: stack.sh up kube"
  _kube_pki
  _kube_kubeconfigs
  "$fn"
}
kube_daemon_stop() {
  local timeout=20
  [[ $1 == kube-apiserver ]] && timeout=30
  stop_daemon "$1" "$timeout"
}

# kube_kill: SIGKILL every process of the cluster (daemons, shims, containers) and clean nothing, as a crash.
kube_kill() {
  local d
  for d in "${CONTROL_PLANE_DAEMONS[@]}"; do kill_daemon "$d"; done
  node_kill
}

# kube_status: one line per daemon; non-zero when any is down.
kube_status() {
  local rc=0 name where
  for name in "${CONTROL_PLANE_DAEMONS[@]}"; do
    case $name in
      etcd) where="$STACK_HOST:$ETCD_PORT $NODE_IP:$ETCD_PORT" ;;
      kube-apiserver) where="https://$NODE_IP:$APISERVER_PORT" ;;
      kube-controller-manager) where="127.0.0.1:$CONTROLLER_MANAGER_PORT" ;;
      kube-scheduler) where="127.0.0.1:$SCHEDULER_PORT" ;;
    esac
    _kube_status_line "$name" "$where" || rc=1
  done
  node_status || rc=1
  return "$rc"
}
# _kube_status_line DAEMON WHERE: "name running|stopped where (pid N)"; false when stopped.
_kube_status_line() {
  if pid_alive "$1"; then
    printf '%-23s running  %s (pid %s)\n' "$1" "$2" "$(pid_of "$1")"
  else
    printf '%-23s stopped  %s\n' "$1" "$2"; return 1
  fi
}

# kube_env: the lines that point kubectl, helm and the tests at the cluster (PATH is the orchestrator's).
kube_env() {
  printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_ADMIN"
  # The same etcd serves the consumer's optional etcd-lock stock guard (its own key prefix).
  echo "export ETCD_ENDPOINTS=http://$STACK_HOST:$ETCD_PORT"
  echo "export POD_ETCD_ENDPOINTS=http://$NODE_IP:$ETCD_PORT"
  node_env
}

# kube_reset: for `down --purge`: stops and forgets all cluster data, the PKI, containerd's images and the
# kubelet's root (binaries and image archives stay cached).
kube_reset() {
  kube_stop
  node_forget
  rm -rf "$KUBE_DIR"
}
