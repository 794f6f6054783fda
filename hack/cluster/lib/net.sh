# shellcheck shell=bash
# net.sh — the node address, the sysctls and the network fence.
#
# Fence (IPv4): pods live on $BRIDGE ($NODE_POD_CIDR) and only get routes to the pod CIDR, the service
# CIDR and the node IP. On top of that:
#   raw PREROUTING -> MESHCTL-FENCE-RAW: from the bridge, only pod CIDR / service CIDR / node IP pass;
#                     pod CIDR, service CIDR and node IP are unreachable from any other interface.
#   mangle FORWARD -> MESHCTL-FENCE: bridge <-> bridge only; nothing is forwarded from or into the
#                     bridge otherwise; if forwarding was off before `up`, nothing else is forwarded
#                     either (we had to turn it on for ClusterIP routing). In mangle, not filter: the
#                     mangle FORWARD hook runs before filter's, where kube-proxy prepends its own
#                     ACCEPT rules (KUBE-FORWARD) at every full resync; nothing touches mangle FORWARD.
# IPv6: pods have none; everything IPv6 from/to the bridge is dropped.

SYSCTLS=(net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
         net.bridge.bridge-nf-call-ip6tables vm.overcommit_memory kernel.panic kernel.panic_on_oops
         kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

IPT="iptables -w 5"
IP6T="ip6tables -w 5"
CMT=(-m comment --comment "meshctl-cluster fence")

# save the sysctls the cluster changes (we, the CNI bridge plugin, kubelet, kube-proxy); only once,
# so that a crashed run does not overwrite the machine's original values with ours
save_sysctls() {
  [ -s "$SYSCTL_ORIG" ] && return 0
  local n v tmp=$SYSCTL_ORIG.tmp
  : > "$tmp"
  for n in "${SYSCTLS[@]}"; do v=$(sysctl -n "$n" 2>/dev/null) && echo "$n=$v" >> "$tmp"; done
  mv "$tmp" "$SYSCTL_ORIG"
}
restore_sysctls() {
  [ -s "$SYSCTL_ORIG" ] || return 0
  local line
  while IFS= read -r line; do
    [ -n "$line" ] && { sysctl -q -w "$line" >/dev/null 2>&1 || warn "could not restore sysctl $line"; }
  done < "$SYSCTL_ORIG"
  rm -f "$SYSCTL_ORIG"
}
orig_sysctl() { sed -n "s/^$1=//p" "$SYSCTL_ORIG" 2>/dev/null; }

set_sysctls() {
  sysctl -q -w net.ipv4.ip_forward=1 >/dev/null || die "network: cannot set net.ipv4.ip_forward=1" "ClusterIP routing between pods needs it; run as root on a VM that allows it."
  if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter 2>/dev/null; then
    sysctl -q -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 >/dev/null ||
      warn "could not enable bridge-nf-call-iptables; pod -> ClusterIP -> pod on the same bridge may fail"
  else
    warn "br_netfilter is not available; pod -> ClusterIP -> pod on the same bridge may fail"
  fi
}

node_ip_up() {
  ip -4 -o addr show dev lo | grep -q " $NODE_IP/32 " && return 0
  if ip -4 -o addr show | grep -v ' lo ' | grep -q " $NODE_IP/"; then
    die "network: node IP $NODE_IP is already used by another interface" "$(ip -4 -o addr show | grep " $NODE_IP/")" "Pick a free private address: MESHCTL_NODE_IP=10.x.y.z"
  fi
  ip addr add "$NODE_IP/32" dev lo || die "network: cannot add $NODE_IP/32 to lo"
}
node_ip_down() { ip -4 -o addr show dev lo | grep -q " $NODE_IP/32 " && ip addr del "$NODE_IP/32" dev lo 2>/dev/null || true; }

# check that our ranges are not used by anything else on the machine
check_ranges() {
  local r
  r=$(ip -4 route show | grep -vE "dev ($BRIDGE|lo)( |$)" | awk '{print $1}' | grep -E '^10\.(244|96|250)\.' || true)
  [ -z "$r" ] || die "network: the machine already routes $r, which overlaps the cluster's ranges (pods $POD_CIDR, services $SVC_CIDR, node $NODE_IP)" "Set MESHCTL_POD_CIDR/MESHCTL_NODE_POD_CIDR/MESHCTL_POD_GW, MESHCTL_SVC_CIDR or MESHCTL_NODE_IP to unused private ranges."
  if ip link show "$BRIDGE" >/dev/null 2>&1 && ! ip -4 -o addr show dev "$BRIDGE" | grep -q " $POD_GW/"; then
    local a; a=$(ip -4 -o addr show dev "$BRIDGE" | awk '{print $4}')
    [ -z "$a" ] || die "network: a bridge named $BRIDGE already exists with address $a (not ours)" "Remove it or set MESHCTL_BRIDGE to another name."
  fi
}

_chain() { # CMD TABLE CHAIN : create or flush
  $1 -t "$2" -N "$3" 2>/dev/null || $1 -t "$2" -F "$3"
}
_jump_first() { # CMD TABLE PARENT CHAIN : make sure PARENT's first rule jumps to CHAIN
  local first
  first=$($1 -t "$2" -S "$3" 2>/dev/null | sed -n 2p)
  [ "$first" = "-A $3 -j $4" ] && return 0
  while $1 -t "$2" -D "$3" -j "$4" 2>/dev/null; do :; done
  $1 -t "$2" -I "$3" 1 -j "$4"
}

fence_up() {
  local fwd_was; fwd_was=$(orig_sysctl net.ipv4.ip_forward)
  {
    _chain "$IPT" raw "$FENCE_RAW_CHAIN"
    $IPT -t raw -A "$FENCE_RAW_CHAIN" -i "$BRIDGE" -d "$POD_CIDR" -j RETURN
    $IPT -t raw -A "$FENCE_RAW_CHAIN" -i "$BRIDGE" -d "$SVC_CIDR" -j RETURN
    $IPT -t raw -A "$FENCE_RAW_CHAIN" -i "$BRIDGE" -d "$NODE_IP/32" -j RETURN
    $IPT -t raw -A "$FENCE_RAW_CHAIN" -i "$BRIDGE" "${CMT[@]}" -j DROP
    $IPT -t raw -A "$FENCE_RAW_CHAIN" -i lo -j RETURN
    local d; for d in "$POD_CIDR" "$SVC_CIDR" "$NODE_IP/32"; do   # from any other interface
      $IPT -t raw -A "$FENCE_RAW_CHAIN" -d "$d" "${CMT[@]}" -j DROP
    done
    _jump_first "$IPT" raw PREROUTING "$FENCE_RAW_CHAIN"

    _chain "$IPT" mangle "$FENCE_CHAIN"
    $IPT -t mangle -A "$FENCE_CHAIN" -i "$BRIDGE" -o "$BRIDGE" -j RETURN
    $IPT -t mangle -A "$FENCE_CHAIN" -i "$BRIDGE" "${CMT[@]}" -j DROP
    $IPT -t mangle -A "$FENCE_CHAIN" -o "$BRIDGE" "${CMT[@]}" -j DROP
    [ "$fwd_was" = 0 ] && $IPT -t mangle -A "$FENCE_CHAIN" "${CMT[@]}" -j DROP
    _jump_first "$IPT" mangle FORWARD "$FENCE_CHAIN"
  } || die "network: installing the iptables fence failed" "Check that iptables works: iptables -S; iptables -t raw -S"
  if $IP6T -S >/dev/null 2>&1; then
    _chain "$IP6T" raw "$FENCE_RAW_CHAIN" && $IP6T -t raw -A "$FENCE_RAW_CHAIN" -i "$BRIDGE" "${CMT[@]}" -j DROP &&
      _jump_first "$IP6T" raw PREROUTING "$FENCE_RAW_CHAIN" &&
      _chain "$IP6T" mangle "$FENCE_CHAIN" && $IP6T -t mangle -A "$FENCE_CHAIN" -i "$BRIDGE" "${CMT[@]}" -j DROP &&
      $IP6T -t mangle -A "$FENCE_CHAIN" -o "$BRIDGE" "${CMT[@]}" -j DROP && _jump_first "$IP6T" mangle FORWARD "$FENCE_CHAIN" ||
      warn "could not install the IPv6 fence (ip6tables failed)"
  fi
}
# make sure our jumps are the first rules of mangle FORWARD and raw PREROUTING
fence_reassert() {
  _jump_first "$IPT" mangle FORWARD "$FENCE_CHAIN" && _jump_first "$IPT" raw PREROUTING "$FENCE_RAW_CHAIN" ||
    die "network: could not keep the fence first in mangle FORWARD / raw PREROUTING"
}
fence_active() {
  [ "$($IPT -t mangle -S FORWARD 2>/dev/null | sed -n 2p)" = "-A FORWARD -j $FENCE_CHAIN" ] &&
    [ "$($IPT -t raw -S PREROUTING 2>/dev/null | sed -n 2p)" = "-A PREROUTING -j $FENCE_RAW_CHAIN" ]
}

fence_down() {
  local c
  for c in "$IPT" "$IP6T"; do
    while $c -t raw -D PREROUTING -j "$FENCE_RAW_CHAIN" 2>/dev/null; do :; done
    while $c -t mangle -D FORWARD -j "$FENCE_CHAIN" 2>/dev/null; do :; done
    while $c -D FORWARD -j "$FENCE_CHAIN" 2>/dev/null; do :; done   # filter: where older versions put it
    $c -t raw -F "$FENCE_RAW_CHAIN" 2>/dev/null && $c -t raw -X "$FENCE_RAW_CHAIN" 2>/dev/null
    $c -t mangle -F "$FENCE_CHAIN" 2>/dev/null && $c -t mangle -X "$FENCE_CHAIN" 2>/dev/null
    $c -F "$FENCE_CHAIN" 2>/dev/null && $c -X "$FENCE_CHAIN" 2>/dev/null
  done
  return 0
}

# CNI configuration: bridge + host-local, no default route, no masquerade, no portmap (hostPorts
# would expose pods on the machine's external addresses)
write_cni_config() {
  mkdir -p "$RUN/cni/net.d" "$RUN/cni/ipam"
  cat > "$RUN/cni/net.d/10-meshctl.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "meshctl",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$POD_GW"}]],
        "routes": [{"dst": "$POD_CIDR"}, {"dst": "$SVC_CIDR"}, {"dst": "$NODE_IP/32"}],
        "dataDir": "$RUN/cni/ipam"
      }
    }
  ]
}
CNI
}
