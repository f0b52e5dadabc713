# The local Kubernetes cluster, node half: containerd, the pause and CoreDNS images, kubelet, kube-proxy, the
# bridge CNI network, CoreDNS; the teardown that leaves no trace on the host, and the sweep after a crash.
# Sourced by stack.sh after lib.sh, net.sh and kube.sh (kube_start/kube_stop call in here).
#
# Everything lives under $SECKILL_RUN/kube, the kubelet's root too (a shared bind mount of itself while the
# kubelet runs). Outside it, only while the node runs: /run/containerd/s (containerd 1.6 puts shim sockets
# there whatever its state dir) and /var/lib/cni/results (libcni's cache); `down` removes both.

KUBELET_ROOT="$KUBE_DIR/kubelet-root"
POD_LOG_DIR="$KUBE_DIR/pod-logs"
: "${SNAPSHOTTER:=overlayfs}"
: "${PAUSE_VERSION:=3.10.2}"
CTRD_DIR="$KUBE_DIR/containerd"                     # root (images), state, runc root, config, socket
CTRD_SOCK="$CTRD_DIR/containerd.sock"
CNI_DIR="$KUBE_DIR/cni"                             # net.d (the conflist) and ipam (host-local leases)
KUBELET_DIR="$KUBE_DIR/kubelet"                     # config and the tunables shown to the kubelet
PAUSE_IMAGE="localhost/seckill-base/pause:$PAUSE_VERSION"
COREDNS_IMAGE="localhost/seckill-base/coredns:$COREDNS_VERSION"
# docker-archive tars of the node's own images (kept by `down --purge`); the project's images are built and
# imported by tools/stack/images.sh.
: "${NODE_IMAGE_DIR:=$SECKILL_CACHE/images/node}"
# containerd pulls through this "proxy", a closed loopback port: an image that was not imported fails at once
# ("proxyconnect tcp: ... connection refused") instead of being fetched from a registry on another host.
NO_REGISTRY_PROXY="http://127.0.0.1:9"
NODE_DAEMONS=(containerd kubelet kube-proxy)
NODE_START_STEPS=(_node_start_containerd _node_images _node_start_kubelet _node_start_proxy _node_start_dns)
# Kernel tunables the kubelet checks (pkg/kubelet/cm/container_manager_linux.go setupKernelTunables) and the
# values it wants: shown to the kubelet only, in its own mount namespace (the host keeps its own).
KUBELET_TUNABLES=(vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1
  kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000)

node_install_packages() {
  apt_ensure containerd runc containernetworking-plugins iptables conntrack nftables nfacct util-linux curl openssl gcc libc6-dev
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback && -x /usr/lib/cni/portmap ]] \
    || die "CNI plugins missing in /usr/lib/cni (apt package containernetworking-plugins)"
}

ctr_() { ctr --address "$CTRD_SOCK" -n k8s.io "$@"; }
_crictl() { "$SECKILL_BIN/crictl" --runtime-endpoint "unix://$CTRD_SOCK" --timeout 20s "$@"; }

# ---------------------------------------------------------------------------------------------
# containerd and the node's images
# ---------------------------------------------------------------------------------------------

_node_start_containerd() {
  local logf="$SECKILL_LOGS/containerd.log"
  pid_alive containerd && ctr_ version >/dev/null 2>&1 && return 0
  pid_alive containerd && stop_daemon containerd
  mkdir -p "$CTRD_DIR/root" "$CNI_DIR/net.d"
  render containerd.toml.tmpl "$CTRD_DIR/config.toml"
  render cni.conflist.tmpl "$CNI_DIR/net.d/10-$CNI_NET_NAME.conflist"
  log "starting containerd on $CTRD_SOCK (log: $logf)"
  start_daemon containerd "$logf" env HTTP_PROXY="$NO_REGISTRY_PROXY" HTTPS_PROXY="$NO_REGISTRY_PROXY" \
    http_proxy="$NO_REGISTRY_PROXY" https_proxy="$NO_REGISTRY_PROXY" NO_PROXY= no_proxy= \
    containerd --config "$CTRD_DIR/config.toml"
  daemon_wait containerd "containerd socket" "$logf" 30 ctr_ version
}

# _node_archive IMAGE: the docker-archive of IMAGE in NODE_IMAGE_DIR.
_node_archive() { local n="${1#localhost/}"; echo "$NODE_IMAGE_DIR/${n//[\/:]/_}.tar"; }

# _node_docker_archive DIR IMAGE CONFIG: a one-layer docker-archive of the tree DIR (owners root) named
# IMAGE, CONFIG the image config's "config" object (JSON). Written by hand: a layer tar, the image config
# naming its digest, manifest.json; `ctr images import` reads it like any `docker save` output.
_node_docker_archive() {
  local dir="$1" image="$2" cfg="$3" out work layer cfg_json cfg_sha
  out="$(_node_archive "$image")" work="$(mktemp -d)"
  tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$dir" -cf "$work/layer.tar" .
  layer="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  mkdir "$work/$layer" && mv "$work/layer.tar" "$work/$layer/layer.tar"
  cfg_json="$(printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$cfg" "$layer")"
  cfg_sha="$(printf '%s' "$cfg_json" | sha256sum | cut -d' ' -f1)"
  printf '%s' "$cfg_json" > "$work/$cfg_sha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg_sha" "$image" "$layer" > "$work/manifest.json"
  mkdir -p "$NODE_IMAGE_DIR"
  tar -C "$work" -cf "$out.tmp" manifest.json "$cfg_sha.json" "$layer" && mv -f "$out.tmp" "$out"
  echo "sha256:$cfg_sha" > "$out.id"
  rm -rf "$work"
  log "made $image ($out)"
}

# pause, as build/pause/Makefile builds it (-Os -static) from pause.c of the k8s.io/kubernetes module kube.sh
# fetched; it runs as 65535 like upstream's.
_node_make_pause() {
  local src="$SECKILL_CACHE/go/pkg/mod/k8s.io/kubernetes@$KUBE_VERSION/build/pause/linux/pause.c" dir
  [[ -f "$src" ]] || (cd "$SECKILL_CACHE/build" && _kube_go mod download "k8s.io/kubernetes@$KUBE_VERSION") \
    || die "cannot fetch k8s.io/kubernetes@$KUBE_VERSION for pause.c"
  dir="$(mktemp -d)"
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-seckill" -o "$dir/pause" "$src" || die "gcc -static pause.c failed"
  strip "$dir/pause"
  _node_docker_archive "$dir" "$PAUSE_IMAGE" '{"User":"65535:65535","Entrypoint":["/pause"]}'
  rm -rf "$dir"
}

# CoreDNS: FROM scratch with the binary kube.sh built.
_node_make_coredns() {
  local dir; dir="$(mktemp -d)"
  cp "$SECKILL_BIN/coredns" "$dir/coredns"
  _node_docker_archive "$dir" "$COREDNS_IMAGE" '{"Entrypoint":["/coredns"],"ExposedPorts":{"53/tcp":{},"53/udp":{}}}'
  rm -rf "$dir"
}

# _node_images: pause and CoreDNS in containerd (archives made once, imported when containerd lacks them:
# after `down --purge`, or a new archive).
_node_images() {
  local img f have
  [[ -f "$(_node_archive "$PAUSE_IMAGE")" ]] || _node_make_pause
  [[ -f "$(_node_archive "$COREDNS_IMAGE")" ]] || _node_make_coredns
  have="$(ctr_ images ls -q 2>/dev/null)"   # (not piped into grep -q: pipefail + SIGPIPE would fail the check)
  for img in "$PAUSE_IMAGE" "$COREDNS_IMAGE"; do
    grep -qxF "$img" <<<"$have" && continue
    f="$(_node_archive "$img")"
    log "importing $img into containerd"
    ctr_ images import "$f" >>"$SECKILL_LOGS/containerd-import.log" 2>&1 \
      || die "ctr images import $f failed (log: $SECKILL_LOGS/containerd-import.log)"
  done
}

# ---------------------------------------------------------------------------------------------
# kubelet, kube-proxy, CoreDNS
# ---------------------------------------------------------------------------------------------

# The kubelet runs in its own mount namespace: there, and only there, the kernel tunables it checks read as
# it wants (small files bind-mounted over /proc/sys/...), so it neither changes the host nor refuses to
# start. The namespace is a copy of the host's (all private here) in which the kubelet root, a shared bind
# mount, stays in the host's peer group: the volume mounts the kubelet makes (secrets, projected tokens,
# configmaps) propagate to the host, where containerd and runc bind them into containers.
_node_start_kubelet() {
  local logf="$SECKILL_LOGS/kubelet.log" t k v fake="$KUBELET_DIR/sysctl"
  pid_alive kubelet && return 0
  mkdir -p "$KUBELET_ROOT" "$POD_LOG_DIR" "$fake"
  mountpoint -q "$KUBELET_ROOT" || mount --bind "$KUBELET_ROOT" "$KUBELET_ROOT"
  mount --make-shared "$KUBELET_ROOT"
  # In the new namespace: first drop its copies of containerd's private mounts (pod netns, rootfs, shm) so
  # that they do not pin netns and overlays while the kubelet runs; then the tunables.
  local binds="{ awk '{print \$5}' /proc/self/mountinfo | grep '^$CTRD_DIR/' | sort -r | xargs -r umount -l; true; } && "
  for t in "${KUBELET_TUNABLES[@]}"; do
    k="${t%%=*}" v="${t#*=}"
    echo "$v" > "$fake/${k//\//.}"
    binds+="mount --bind $fake/${k//\//.} /proc/sys/$k && "
  done
  render kubelet-config.yaml.tmpl "$KUBELET_DIR/config.yaml"
  log "starting kubelet (node $NODE_NAME, $NODE_IP:$KUBELET_PORT, log: $logf)"
  _KUBELET_STARTED_AT="$(date +%s)"
  start_daemon kubelet "$logf" unshare --mount --propagation unchanged -- /bin/sh -c "${binds}exec \"\$0\" \"\$@\"" \
    "$SECKILL_BIN/kubelet" --config "$KUBELET_DIR/config.yaml" --kubeconfig "$KUBE_KCFG/kubelet.kubeconfig" \
    --root-dir "$KUBELET_ROOT" --node-ip "$NODE_IP" --hostname-override "$NODE_NAME" --v=1
  daemon_wait kubelet "kubelet /healthz" "$logf" 60 _node_http_ok "$KUBELET_HEALTHZ_PORT"
  daemon_wait kubelet "node $NODE_NAME Ready" "$logf" 90 _node_ready
}
_node_http_ok() { curl -fsS --max-time 2 "http://127.0.0.1:$1/healthz" 2>/dev/null | grep -q ok; }
# Ready, as reported by THIS kubelet: after a restart etcd still holds the last run's Ready=True for a while.
_node_ready() {
  local st hb
  read -r st hb < <(kube_kubectl get node "$NODE_NAME" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}' 2>/dev/null)
  [[ "$st" == True && -n "$hb" ]] && (($(date -d "$hb" +%s) >= ${_KUBELET_STARTED_AT:-0}))
}

_node_start_proxy() {
  local logf="$SECKILL_LOGS/kube-proxy.log"
  pid_alive kube-proxy && return 0
  render kube-proxy.yaml.tmpl "$KUBE_DIR/kube-proxy/config.yaml"
  log "starting kube-proxy (iptables mode, log: $logf)"
  start_daemon kube-proxy "$logf" "$SECKILL_BIN/kube-proxy" --config "$KUBE_DIR/kube-proxy/config.yaml"
  # (its /healthz answers JSON, 200 when healthy)
  daemon_wait kube-proxy "kube-proxy /healthz" "$logf" 60 \
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz"
  daemon_wait kube-proxy "iptables rules of the kubernetes Service" "$logf" 30 _node_svc_rules
}
_node_svc_rules() { grep -q -- "-d $KUBERNETES_SVC_IP/32 .*KUBE-SVC-" <<<"$(iptables-save -t nat)"; }

_node_start_dns() {
  local f="$KUBE_DIR/manifests/coredns.yaml" logf="$SECKILL_LOGS/kubectl.log"
  render coredns.yaml.tmpl "$f"
  kube_kubectl apply -f "$f" >>"$logf" 2>&1 || die "kubectl apply of CoreDNS failed (log: $logf)"
  wait_until "CoreDNS Deployment available" "$SECKILL_LOGS/kubelet.log" 120 \
    kube_kubectl -n kube-system wait --for=condition=Available --timeout=2s deployment/coredns
  wait_until "cluster DNS to answer for kubernetes.default.svc (host -> $DNS_SVC_IP)" "$SECKILL_LOGS/kube-proxy.log" 30 _node_dns_answers
}
_node_dns_answers() { [[ "$(node_dig "kubernetes.default.svc.$CLUSTER_DOMAIN")" == "$KUBERNETES_SVC_IP" ]]; }
# node_dig NAME: the A records of NAME from the cluster DNS, asked from the host through the kube-dns ClusterIP.
node_dig() {
  node -e 'const d=require("dns");const r=new d.Resolver({timeout:1000,tries:1});r.setServers([process.argv[2]]);
    r.resolve4(process.argv[1],(e,a)=>{if(e){console.error(e.code);process.exit(1)}console.log(a.join("\n"))})' "$1" "$DNS_SVC_IP"
}

# ---------------------------------------------------------------------------------------------
# Stop, kill, and the sweep of what a run leaves on the host
# ---------------------------------------------------------------------------------------------

# node_stop: the kubelet first (no new pods), then every pod sandbox through the CRI (CNI DEL: veth, IPAM
# lease), containerd, kube-proxy; then the sweep of whatever is still left.
node_stop() {
  stop_daemon kubelet 20
  if pid_alive containerd && [[ -x "$SECKILL_BIN/crictl" ]]; then
    local pods; pods="$(_crictl pods -q 2>/dev/null || true)"
    if [[ -n "$pods" ]]; then
      # shellcheck disable=SC2086
      { _crictl stopp $pods; _crictl rmp -f $pods; } >>"$SECKILL_LOGS/kube-stop.log" 2>&1 || true
    fi
  fi
  stop_daemon containerd 20
  stop_daemon kube-proxy 10
  node_sweep
}

# node_kill: SIGKILL the node's daemons, shims and containers, and clean nothing (a crash).
node_kill() {
  local p i
  for p in "${NODE_DAEMONS[@]}"; do kill_daemon "$p"; done
  for p in $(_node_orphan_pids | sort -u); do kill -KILL "$p" 2>/dev/null || true; done
  for i in $(seq 50); do
    [[ -z "$(_node_orphan_pids)" ]] && ! pid_alive containerd && ! pid_alive kubelet && break
    sleep 0.1
  done
}

# Pids of our shims (they name our containerd socket) and of every process in a pod cgroup.
_node_orphan_pids() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -q -- "containerd-shim.* -address $CTRD_SOCK" && echo "${p#/proc/}"
  done
  cat /sys/fs/cgroup/*/kubepods/cgroup.procs /sys/fs/cgroup/*/kubepods/*/cgroup.procs \
    /sys/fs/cgroup/*/kubepods/*/*/cgroup.procs /sys/fs/cgroup/*/kubepods/*/*/*/cgroup.procs 2>/dev/null
  return 0   # (an unmatched glob must not end the caller under set -e)
}

# Mount points under the node's dirs, deepest first (so the kubelet root's bind mount itself comes last).
# Only these two: $SECKILL_RUN also holds buildah's run root (images.sh), whose mounts are not ours.
_node_mounts() {
  awk '{print $5}' /proc/self/mountinfo | grep -E "^$KUBE_DIR(/|$)" \
    | awk '{print length, $0}' | sort -rn | cut -d' ' -f2- | uniq
  return 0
}

# node_leftovers: true when a dead run left something of the node on the host.
node_leftovers() {
  [[ -n "$(_node_orphan_pids)" ]] && return 0
  [[ -n "$(_node_mounts)" ]] && return 0
  [[ -d "$CTRD_DIR/state" || -S "$CTRD_SOCK" ]] && return 0
  compgen -G '/sys/fs/cgroup/*/kubepods' >/dev/null && return 0
  grep -qE '^:(KUBE|CNI)-' <<<"$(iptables-save 2>/dev/null; ip6tables-save 2>/dev/null)" && return 0
  [[ -n "$(ip -o link show master "$POD_BRIDGE" 2>/dev/null)" ]] && return 0
  return 1
}

# node_sweep_if_crashed: before a start. containerd not running but its traces there: the last run died
# (SIGKILL, or every process of the session ended). containerd must not start over a dead run's state (it
# would try to recover containers that no longer exist), so the kubelet and kube-proxy, if somehow alive,
# are stopped and every trace is swept first; they all start again from the cluster's data in etcd.
node_sweep_if_crashed() {
  pid_alive containerd && return 0
  node_leftovers || return 0
  log "kube: clearing what a run that did not stop left behind (processes, mounts, veths, cgroups, rules)"
  stop_daemon kubelet 20
  stop_daemon kube-proxy 10
  node_sweep
}

# node_sweep: every trace of a node whose daemons are gone: pod processes and shims, mounts, veths, IPAM
# leases, libcni's cache, shim sockets, runc and containerd state, the kubepods cgroups of every hierarchy,
# the KUBE-*/CNI-* iptables/ip6tables rules and chains, kube-proxy's nfacct counters, conntrack entries of
# our ranges, sockets, pid files, and the kubelet root's bind mount. Keeps the cluster's data (etcd, PKI,
# containerd's images, the kubelet root's contents) and the interfaces and guard (net.sh: `stack down`).
node_sweep() {
  local pids p m f c
  pid_alive containerd && die "node sweep: containerd is running (use stack.sh stop kube)"
  # 1. processes that outlived their daemons: shims of our containerd, anything in our pod cgroups.
  pids="$(_node_orphan_pids | sort -u)"
  if [[ -n "$pids" ]]; then
    log "kube: killing $(wc -w <<<"$pids") leftover pod/shim processes"
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    for _ in $(seq 50); do [[ -z "$(_node_orphan_pids)" ]] && break; sleep 0.1; done
  fi
  # 2. shim sockets: containerd 1.6 puts them in the fixed /run/containerd/s, and a SIGKILLed shim leaves its
  # socket behind. Removed: every socket there that no live process has bound (/proc/net/unix), so a live
  # one of any other containerd is kept.
  if [[ -d /run/containerd/s ]]; then
    local bound; bound="$(awk 'NR > 1 && $8 != "" {print $8}' /proc/net/unix)"
    for f in /run/containerd/s/*; do
      [[ -S "$f" ]] && ! grep -qxF "$f" <<<"$bound" && rm -f "$f"
    done
  fi
  # 3. mounts: container rootfs (overlay), sandbox shm, netns binds, kubelet volumes, the kubelet root.
  for m in $(_node_mounts); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "kube: could not unmount $m"
  done
  # 4. veths left on our bridge (normally gone with their netns).
  for c in $(ip -o link show master "$POD_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$c" 2>/dev/null || true
  done
  # 5. runtime state: containerd state and runc root (the containers are gone), IPAM leases, libcni cache.
  rm -rf "$CTRD_DIR/state" "$CTRD_DIR/runc" "$CNI_DIR/ipam"
  rm -f /var/lib/cni/results/"$CNI_NET_NAME"-* 2>/dev/null || true
  rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
  # 6. cgroups: kubepods under every v1 hierarchy (runc and the kubelet create it in all of them, name=systemd
  # included) and the unified one, deepest first.
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d "$c" ]] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
    [[ -d "$c" ]] && log "kube: cgroup $c not removable (processes left?)"
  done
  # 7. kube-proxy's and the CNI plugins' rules, kube-proxy's nfacct counters, conntrack entries of our ranges.
  iptables_clean 'KUBE|CNI'
  if command -v nfacct >/dev/null; then
    for c in ct_state_invalid_dropped_pkts localhost_nps_accepted_pkts; do nfacct del "$c" >/dev/null 2>&1 || true; done
  fi
  if command -v conntrack >/dev/null; then
    for c in "-s $POD_CIDR" "-d $POD_CIDR" "-d $SERVICE_CIDR"; do
      # shellcheck disable=SC2086
      conntrack -D $c >/dev/null 2>&1 || true
    done
  fi
  # 8. sockets and pid files.
  rm -f "$CTRD_SOCK" "$CTRD_SOCK.ttrpc"
  rmdir /run/containerd/s /run/containerd 2>/dev/null || true
  for p in "${NODE_DAEMONS[@]}"; do pid_alive "$p" || rm -f "$(pid_file "$p")"; done
  return 0
}

# node_forget: for `down --purge`, after node_stop: the host dirs of the node (kubelet root, pod logs).
node_forget() {
  mountpoint -q "$KUBELET_ROOT" 2>/dev/null && die "$KUBELET_ROOT is still mounted"
  rm -rf "$KUBELET_ROOT" "$POD_LOG_DIR"
}

# node_leftovers_report: what of the node is on the host right now (`stack.sh leftovers`).
node_leftovers_report() {
  echo "processes (shims, pods): $(_node_orphan_pids | sort -u | paste -sd' ')"
  echo "mounts:                  $(_node_mounts | wc -l)"
  echo "veths on $POD_BRIDGE:     $(ip -o link show master "$POD_BRIDGE" 2>/dev/null | wc -l)"
  echo "kubepods cgroups:        $(find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods -type d 2>/dev/null | wc -l)"
  echo "KUBE/CNI chains:         iptables $(iptables-save 2>/dev/null | grep -cE '^:(KUBE|CNI)-'), ip6tables $(ip6tables-save 2>/dev/null | grep -cE '^:(KUBE|CNI)-')"
  echo "nfacct objects:          $(nfacct list 2>/dev/null | wc -l)"
  echo "state dirs/sockets:      $(ls -d "$CTRD_DIR/state" "$CTRD_SOCK" /run/containerd/s /var/lib/cni 2>/dev/null | paste -sd' ')"
  if node_leftovers; then echo "=> node leftovers: yes"; else echo "=> node leftovers: none"; fi
}

# ---------------------------------------------------------------------------------------------
# Status and settings
# ---------------------------------------------------------------------------------------------

node_status() {
  local rc=0 ready dns
  _kube_status_line containerd "unix://$CTRD_SOCK" || rc=1
  if pid_alive kubelet; then
    ready="$(kube_kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)"
    _kube_status_line kubelet "$NODE_IP:$KUBELET_PORT, node $NODE_NAME Ready=${ready:-unknown}"
    [[ "$ready" == True ]] || rc=1
  else
    _kube_status_line kubelet "$NODE_IP:$KUBELET_PORT" || rc=1
  fi
  _kube_status_line kube-proxy "iptables mode, healthz 127.0.0.1:$PROXY_HEALTHZ_PORT" || rc=1
  if pid_alive kube-apiserver; then
    dns="$(kube_kubectl -n kube-system get deployment coredns -o jsonpath='{.status.readyReplicas}/{.spec.replicas}' 2>/dev/null)"
  fi
  if [[ "${dns:-}" =~ ^[1-9][0-9]*/ ]]; then
    printf '%-23s running  %s (pods ready %s)\n' coredns "$DNS_SVC_IP:53" "$dns"
  else
    printf '%-23s stopped  %s\n' coredns "$DNS_SVC_IP:53"; rc=1
  fi
  return "$rc"
}

node_env() {
  echo "export NODE_IP=$NODE_IP"
  echo "export CONTAINER_RUNTIME_ENDPOINT=unix://$CTRD_SOCK"   # crictl
  echo "export CONTAINERD_ADDRESS=$CTRD_SOCK"                  # ctr (with CONTAINERD_NAMESPACE)
  echo "export CONTAINERD_NAMESPACE=k8s.io"
}
