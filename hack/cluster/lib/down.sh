# shellcheck shell=bash
# down.sh — the `down [--wipe]` verb. Idempotent: every step tolerates "already done".
# Stops only what `up` started: processes by PID file (checked against the recorded executable),
# pod processes by the kubelet's kubepods cgroups, shims by their unique containerd socket address.

# stop_components NAME... : SIGTERM all of them at once, wait up to T_STOP, then SIGKILL the rest
stop_components() {
  local name f pid i names=() pids=()
  for name in "$@"; do
    f=$(pidfile "$name"); [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    if is_ours "$name"; then
      kill -TERM "$pid" 2>/dev/null || true; names+=("$name"); pids+=("$pid")
    else
      log "$name: was not running (stale PID file ${pid:-?} removed)"; rm -f "$f" "$PIDS/$name.exe"
    fi
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  local alive p
  for i in $(seq 1 $(( T_STOP * 10 ))); do
    alive=0; for p in "${pids[@]}"; do if kill -0 "$p" 2>/dev/null; then alive=1; fi; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then warn "${names[$i]} (pid ${pids[$i]}) did not stop in ${T_STOP}s, killing it"; kill -KILL "${pids[$i]}" 2>/dev/null || true; fi
    rm -f "$(pidfile "${names[$i]}")" "$PIDS/${names[$i]}.exe"
  done
  log "stopped: ${names[*]}"
}

# pids of all processes in the kubelet's pod cgroups (all controllers)
pod_pids() {
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/kubepods.slice; do
    if [ -d "$d" ]; then find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
  done | sort -un
}
kill_pods() {
  local pids i
  pids=$(pod_pids)
  [ -z "$pids" ] && return 0
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  for i in $(seq 1 50); do [ -z "$(pod_pids)" ] && break; sleep 0.1; done
  [ -z "$(pod_pids)" ] || warn "some pod processes survived SIGKILL: $(pod_pids | tr '\n' ' ')"
  log "pods: killed $(echo "$pids" | wc -w) container processes"
}
# shims of our containerd: their command line carries "-address <our socket>"
our_shims() {
  local f p
  for f in $(grep -laF -- "$CTR_SOCK" /proc/[0-9]*/cmdline 2>/dev/null); do
    p=${f#/proc/}; p=${p%/cmdline}
    case "$(cat "/proc/$p/comm" 2>/dev/null)" in containerd-shim*) echo "$p" ;; esac
  done
  return 0
}
kill_shims() {
  local s; s=$(our_shims)
  [ -z "$s" ] && return 0
  # shellcheck disable=SC2086
  kill -TERM $s 2>/dev/null || true; sleep 0.5
  s=$(our_shims)
  # shellcheck disable=SC2086
  [ -z "$s" ] || kill -KILL $s 2>/dev/null || true
}
# network namespaces of our pods: from the task bundles, and any cni-* netns holding a pod-CIDR address
our_netns() {
  {
    grep -rhoE '/var/run/netns/cni-[0-9a-f-]+|/run/netns/cni-[0-9a-f-]+' "$RUN/containerd/state/io.containerd.runtime.v2.task" 2>/dev/null | xargs -r -n1 basename
    local n prefix=${NODE_POD_CIDR%.*}.
    for n in $(ip netns list 2>/dev/null | awk '/^cni-/{print $1}'); do
      if ip -n "$n" -4 -o addr show 2>/dev/null | grep -qF " inet $prefix"; then echo "$n"; fi
    done
    true
  } | sort -u
}

cleanup_iptables() {
  local s4 s6
  s4=$(iptables-save 2>/dev/null || true); s6=$(ip6tables-save 2>/dev/null || true)
  if grep -q -- '-j KUBE-\|^:KUBE-' <<<"$s4$s6" && [ -x "${KBIN:-}/kube-proxy" ]; then
    timeout 60 "$KBIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  fi
  local ipt t ch
  for ipt in "iptables -w 5" "ip6tables -w 5"; do
    grep -q 'KUBE-' <<<"$(${ipt%% *}-save 2>/dev/null)" || continue # read whole: see import_base_images
    for t in filter nat mangle raw; do   # what remains of the kubelet / kube-proxy (KUBE-FIREWALL, canaries)
      $ipt -t $t -S 2>/dev/null | awk '/^-A .* -j KUBE-/{sub("^-A","-D"); print}' | while read -r r; do eval "$ipt -t $t $r" 2>/dev/null || true; done
      for ch in $($ipt -t $t -S 2>/dev/null | awk '/^-N KUBE-/{print $2}'); do $ipt -t $t -F "$ch" 2>/dev/null || true; done
      for ch in $($ipt -t $t -S 2>/dev/null | awk '/^-N KUBE-/{print $2}'); do $ipt -t $t -X "$ch" 2>/dev/null || true; done
    done
  done
  if grep -q MESHCTL-FENCE <<<"$s4$s6"; then fence_down; fi
  return 0
}

unmount_run() {
  local m i
  for i in 1 2 3; do
    m=$(awk -v r="$RUN/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r)
    [ -z "$m" ] && return 0
    echo "$m" | while read -r p; do umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true; done
  done
  m=$(awk -v r="$RUN/" 'index($2, r) == 1 {print $2}' /proc/mounts)
  [ -z "$m" ] || warn "still mounted under $RUN: $m"
}

remove_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  return 0
}

cmd_down() {
  local wipe=""
  case "${1:-}" in --wipe) wipe=1 ;; "") ;; *) die "down: unknown option '$1'" "Usage: hack/cluster/cluster.sh down [--wipe]" ;; esac
  need_root
  resolve_bins
  local t0; t0=$(date +%s%N)
  local netns; netns=$(our_netns)
  stop_components kube-proxy kubelet
  kill_pods
  stop_components kube-scheduler kube-controller-manager kube-apiserver etcd
  stop_components containerd
  kill_shims
  unmount_run
  local n; for n in $netns; do ip netns del "$n" 2>/dev/null || true; done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    if ip -4 -o addr show dev "$BRIDGE" | grep -q " $POD_GW/" || [ -z "$(ip -4 -o addr show dev "$BRIDGE")" ]; then
      ip link del "$BRIDGE" 2>/dev/null || warn "could not delete bridge $BRIDGE"
    else warn "bridge $BRIDGE has a foreign address, left alone"; fi
  fi
  cleanup_iptables
  log "network: bridge, netns, iptables chains removed"
  conntrack -D -s "$POD_CIDR" >/dev/null 2>&1 || true
  conntrack -D -d "$POD_CIDR" >/dev/null 2>&1 || true
  node_ip_down
  restore_sysctls
  remove_cgroups
  rm -rf "$RUN/cni/ipam"   # no pod survives a down: free all addresses
  if [ -f "$RUN/.created-run-containerd" ]; then   # we created /run/containerd (shim sockets): remove it if empty
    find /run/containerd -depth -type d -empty -delete 2>/dev/null || true; rm -f "$RUN/.created-run-containerd"
  fi
  if [ -n "$wipe" ]; then
    if awk -v r="$RUN/" 'index($2, r) == 1 {found=1} END {exit !found}' /proc/mounts; then
      die "down --wipe: mounts remain under $RUN, not removing it" "$(awk -v r="$RUN/" 'index($2, r) == 1 {print $2}' /proc/mounts | head -5)" "Unmount them (umount -l PATH) and run down --wipe again."
    fi
    rm -rf "$RUN"
    log "state wiped ($RUN); the build cache is kept"
  fi
  log "down in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}
