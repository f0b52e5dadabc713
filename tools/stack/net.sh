# The stack's own network: the node interface, the pod bridge, the service route and the forwarding guard.
# Sourced by stack.sh after lib.sh. Made first by every `stack up`/`start` (Redis, MariaDB, Kafka and etcd
# listen on NODE_IP too, so the address must exist before they start); removed by `stack down`.
#
#   seckill0      NODE_IP/32. A dummy interface, or a bridge without ports where the kernel has no dummy driver
#                 (CONFIG_DUMMY is not set on these machines: "Error: Unknown device type."): its address is
#                 local, and what is routed onto it goes nowhere.
#   seckill-br0   POD_GW/24, the pods' bridge. Made here rather than by the bridge CNI plugin: with
#                 isGateway=true the plugin would set the global net.ipv4.ip_forward=1; it runs with
#                 isGateway=false and the pods' default route comes from its IPAM routes.
#   SERVICE_CIDR  routed onto seckill0 with source NODE_IP: a ClusterIP without kube-proxy rules dies on our
#                 interface instead of taking the default route.
#   forwarding    only for packets received on seckill-br0 (/proc/sys/net/ipv4/conf/seckill-br0/forwarding,
#                 gone with the bridge): pod -> ClusterIP -> pod is routed by the host. net.ipv4.ip_forward
#                 stays as it is (0).
#   SECKILL-GUARD a mangle-table chain (it runs before kube-proxy's filter ACCEPTs) jumped to from INPUT and
#                 FORWARD for -i seckill-br0: a pod's packet may only go back out on the bridge or to NODE_IP
#                 / POD_GW; everything else (eth0, another host, any other host address) is dropped.

# (Output is tested with `grep -q ... <<<"$(command)"`, never `command | grep -q`: under pipefail, grep's
# early exit can SIGPIPE the command and fail the test although the line is there.)
net_up() {
  if ! ip link show "$NODE_IF" >/dev/null 2>&1; then
    ip link add "$NODE_IF" type dummy 2>/dev/null || ip link add "$NODE_IF" type bridge \
      || die "cannot create interface $NODE_IF (ip link add)"
  fi
  grep -qF " $NODE_IP/32" <<<"$(ip addr show dev "$NODE_IF")" || ip addr add "$NODE_IP/32" dev "$NODE_IF"
  ip link set "$NODE_IF" up
  ip link show "$POD_BRIDGE" >/dev/null 2>&1 || ip link add "$POD_BRIDGE" type bridge
  grep -qF " $POD_GW/${POD_CIDR#*/}" <<<"$(ip addr show dev "$POD_BRIDGE")" || ip addr add "$POD_GW/${POD_CIDR#*/}" dev "$POD_BRIDGE"
  ip link set "$POD_BRIDGE" up
  ip route replace "$SERVICE_CIDR" dev "$NODE_IF" src "$NODE_IP"
  echo 1 > "/proc/sys/net/ipv4/conf/$POD_BRIDGE/forwarding"
  _net_guard_up
}

_net_guard_up() {
  iptables -t mangle -N SECKILL-GUARD 2>/dev/null || iptables -t mangle -F SECKILL-GUARD
  iptables -t mangle -A SECKILL-GUARD -o "$POD_BRIDGE" -j RETURN
  iptables -t mangle -A SECKILL-GUARD -d "$NODE_IP/32" -j RETURN
  iptables -t mangle -A SECKILL-GUARD -d "$POD_GW/32" -j RETURN
  iptables -t mangle -A SECKILL-GUARD -j DROP
  local chain
  for chain in FORWARD INPUT; do
    iptables -t mangle -C "$chain" -i "$POD_BRIDGE" -j SECKILL-GUARD 2>/dev/null \
      || iptables -t mangle -I "$chain" 1 -i "$POD_BRIDGE" -j SECKILL-GUARD
  done
}

# net_down: the guard, the interfaces (the route goes with seckill0), the nft tables iptables made. Only when
# no service of the stack runs any more (stack.sh down).
net_down() {
  iptables_clean SECKILL
  local c
  for c in "-s $NODE_IP" "-d $NODE_IP"; do
    # shellcheck disable=SC2086
    conntrack -D $c >/dev/null 2>&1 || true
  done
  ip link del "$POD_BRIDGE" 2>/dev/null || true
  ip link del "$NODE_IF" 2>/dev/null || true
  _nft_prune
}

net_status() {
  if grep -qF " $NODE_IP/32" <<<"$(ip -o addr show dev "$NODE_IF" 2>/dev/null)" && ip link show "$POD_BRIDGE" >/dev/null 2>&1 \
      && iptables -t mangle -C FORWARD -i "$POD_BRIDGE" -j SECKILL-GUARD 2>/dev/null; then
    echo "network                 up       $NODE_IF $NODE_IP, $POD_BRIDGE $POD_GW/${POD_CIDR#*/}, services $SERVICE_CIDR, guard on"
  else
    echo "network                 down     $NODE_IF $NODE_IP, $POD_BRIDGE $POD_GW/${POD_CIDR#*/}"; return 1
  fi
}

# iptables_clean PREFIXES: in iptables and ip6tables, every table: the rules of built-in chains that jump to a
# chain named PREFIX-* (PREFIXES: an alternation, e.g. 'KUBE|CNI'), then those chains (flushed, deleted).
# Nothing else on these machines uses these names. (kube-proxy and the CNI plugins, as configured here, add
# no rule outside their own chains but the jumps to them.)
iptables_clean() {
  local prefixes="$1" ipt t line chains c
  for ipt in iptables ip6tables; do
    for t in raw mangle nat filter; do
      $ipt -t "$t" -S >/dev/null 2>&1 || continue
      while read -r line; do
        [[ -n "$line" ]] || continue
        eval "$ipt -t $t ${line/-A /-D }" 2>/dev/null || true
      done < <($ipt -t "$t" -S | grep -E '^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ' \
               | grep -E -- "-[jg] ($prefixes)-")
      chains="$($ipt -t "$t" -S | sed -nE "s/^-N (($prefixes)-[^ ]*)$/\1/p")"
      for c in $chains; do $ipt -t "$t" -F "$c" 2>/dev/null || true; done
      for c in $chains; do $ipt -t "$t" -X "$c" 2>/dev/null || true; done
    done
  done
}

# iptables-nft leaves the (then empty) nft tables it created (`table ip nat`, ...); these machines have none
# of their own. Deleted: each table holding nothing but empty base chains with policy accept, never one in use.
_nft_prune() {
  local fam t body
  command -v nft >/dev/null || return 0
  for fam in ip ip6; do
    for t in raw mangle nat filter; do
      body="$(nft list table "$fam" "$t" 2>/dev/null)" || continue
      grep -vE '^\s*(table |chain |type .* policy accept;|\}|$)' <<<"$body" | grep -q . && continue
      nft delete table "$fam" "$t" 2>/dev/null || true
    done
  done
}

# net_trace: the host state the stack may touch, stable between two identical states (no counters, no
# volatile sysctls), so that `diff` of a trace taken before `stack up` and one after `stack down` shows every
# trace left behind: `stack.sh trace > before.txt; ...; stack.sh trace | diff before.txt -`.
net_trace() {
  echo "== links"; ip -o link show | awk '{print $2, $3}' | sed 's/@[^:]*:/:/' || true
  echo "== addresses"; ip -o addr show | awk '{print $2, $3, $4}' || true
  echo "== routes"; ip route show table all | grep -vE '^(local|broadcast|multicast|fe80|ff00)|table local' || true
  echo "== rules"; ip rule show || true
  echo "== mounts"; awk '{print $5, $9}' /proc/self/mountinfo | sort || true
  echo "== iptables"; iptables-save 2>/dev/null | grep -vE '^#' | sed 's/\[[0-9]*:[0-9]*\]//' || true
  echo "== ip6tables"; ip6tables-save 2>/dev/null | grep -vE '^#' | sed 's/\[[0-9]*:[0-9]*\]//' || true
  echo "== nft"; nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/' || true
  echo "== nfacct"; nfacct list 2>/dev/null | sed -E 's/pkts = [0-9]+, bytes = [0-9]+//' || true
  echo "== sysctl"; sysctl -a 2>/dev/null | grep -vE \
    '^(kernel\.random\.|fs\.(dentry-state|inode-nr|inode-state|file-nr|quota)|kernel\.ns_last_pid|kernel\.pty\.nr|net\.netfilter\.nf_conntrack_count|kernel\.sched_domain|fs\.binfmt_misc|net\.ipv6\.conf\.[^.]*\.stable_secret|dev\.cdrom|vm\.stat)' || true
  echo "== cgroups"; find /sys/fs/cgroup -maxdepth 2 -type d | sort || true
  echo "== listening"; ss -Hltnu 2>/dev/null | awk '{print $1, $5}' | sort -u || true
  echo "== paths"
  local p; for p in /run/containerd /var/lib/cni /run/netns /var/run/netns /var/lib/seckill-kubelet /var/log/seckill-pods /etc/cni; do
    [[ ! -e "$p" ]] || echo "$p"; done
  echo "== processes"; ps -eo stat=,comm= | awk '$1 !~ /^Z/ {print $2}' | grep -E '^(etcd|kube-|kubelet|containerd|coredns|pause|redis-server|mariadbd|java|prometheus)' | sort | uniq -c || true
  echo "== conntrack of our ranges"
  for c in "-s $POD_CIDR" "-d $POD_CIDR" "-d $SERVICE_CIDR" "-s $NODE_IP" "-d $NODE_IP"; do
    # shellcheck disable=SC2086
    conntrack -L $c 2>/dev/null | wc -l
  done
}
