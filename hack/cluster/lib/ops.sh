# shellcheck shell=bash
# ops.sh — the `status`, `env`, `logs` and `load-image` verbs.

cmd_env() {
  resolve_bins
  echo "export KUBECONFIG=$ADMIN_KUBECONFIG"
  echo "export PATH=$KBIN:\$PATH"
  echo "export MESHCTL_CLUSTER_CONTAINERD_SOCK=$CTR_SOCK"
}

cmd_status() {
  resolve_bins
  local c pid state bad=0 h
  printf '%-24s %-8s %-9s %s\n' COMPONENT PID STATE HEALTH
  for c in "${COMPONENTS[@]}"; do
    pid=$(cat "$(pidfile "$c")" 2>/dev/null || echo -)
    if is_ours "$c"; then state=running
      case $c in
        etcd) h=h_etcd ;; kube-apiserver) h=h_apiserver ;; kube-controller-manager) h=h_kcm ;;
        kube-scheduler) h=h_scheduler ;; containerd) h=h_containerd ;; kubelet) h=h_kubelet ;; kube-proxy) h=h_proxy ;;
      esac
      if $h 2>/dev/null; then h=ok; else h=FAILING; bad=1; fi
    elif [ "$pid" != - ]; then state=DEAD; h="crashed; log: $LOGS/$c.log"; bad=1
    else state=stopped; h=-; bad=1; fi
    printf '%-24s %-8s %-9s %s\n' "$c" "$pid" "$state" "$h"
  done
  if is_ours kube-apiserver && h_apiserver 2>/dev/null; then
    echo
    kubectl_ get nodes -o wide 2>&1 || bad=1
    echo
    kubectl_ get pods -A -o wide 2>&1 || bad=1
    h_node_ready || bad=1
    if h_dns; then echo "cluster DNS: kube-dns at $DNS_IP answers"; else echo "cluster DNS: kube-dns at $DNS_IP does NOT answer"; bad=1; fi
  fi
  echo
  printf 'fence: %s   node IP: %s   bridge: %s\n' "$(fence_active && echo active || echo ABSENT)" \
    "$(ip -4 -o addr show dev lo | grep -q " $NODE_IP/32 " && echo "$NODE_IP on lo" || echo absent)" \
    "$(ip -br -4 addr show dev "$BRIDGE" 2>/dev/null | awk '{print $1, $3}' || true)"
  local all rss
  all=$( { for c in "${COMPONENTS[@]}"; do is_ours "$c" && cat "$(pidfile "$c")"; done; our_shims; pod_pids; } 2>/dev/null | sort -un | tr '\n' ' ')
  if [ -n "${all// /}" ]; then
    # shellcheck disable=SC2086
    rss=$(ps -o rss= -p "$(echo $all | tr " " ",")" 2>/dev/null | awk '{s+=$1} END {printf "%.0f", s/1024}')
    printf 'memory: %s MiB RSS (%s processes: components, shims, pods)\n' "$rss" "$(echo $all | wc -w)"
  fi
  echo "KUBECONFIG=$ADMIN_KUBECONFIG"
  if [ $bad -eq 0 ]; then echo "cluster: healthy"; else echo "cluster: NOT healthy (start it: hack/cluster/cluster.sh up; logs: hack/cluster/cluster.sh logs)"; return 1; fi
}

cmd_logs() {
  local n=${MESHCTL_LOG_LINES:-40} c f
  if [ $# -gt 0 ]; then
    for c in "$@"; do
      f=$LOGS/$c.log
      [ -f "$f" ] || die "logs: no log for '$c' in $LOGS" "Available: $(cd "$LOGS" 2>/dev/null && ls ./*.log 2>/dev/null | sed 's#^\./##; s/\.log$//' | tr '\n' ' ')"
      tail -n "${MESHCTL_LOG_LINES:-200}" "$f"
    done
    return 0
  fi
  for c in "${COMPONENTS[@]}"; do
    f=$LOGS/$c.log
    echo "==================== $c ($f) ===================="
    if [ -f "$f" ]; then tail -n "$n" "$f"; else echo "(no log)"; fi
  done
  resolve_bins
  if is_ours kube-apiserver && h_apiserver 2>/dev/null; then
    echo "==================== kubectl get pods -A / events ===================="
    kubectl_ get pods -A -o wide 2>&1 || true
    kubectl_ get events -A --sort-by=.lastTimestamp 2>&1 | tail -n "$n" || true
    echo "==================== coredns ===================="
    kubectl_ -n kube-system logs deploy/coredns --tail="$n" 2>&1 || true
  fi
}

cmd_load_image() {
  [ $# -gt 0 ] || die "load-image: no tarball given" "Usage: hack/cluster/cluster.sh load-image IMAGE.tar..."
  need_root
  is_ours containerd && h_containerd || die "load-image: the cluster's containerd is not running" "Start the cluster first: hack/cluster/cluster.sh up"
  local t names
  for t in "$@"; do
    [ -f "$t" ] || die "load-image: $t: no such file"
    names=$(import_tarball "$t")
    [ -n "$names" ] || die "load-image: $t imported no named image" \
      "An OCI layout tarball needs the annotation io.containerd.image.name=REGISTRY/NAME:TAG on its index.json manifest entry (or use a docker-archive with RepoTags)."
    log "load-image: $t -> $(echo "$names" | tr '\n' ' ')"
    echo "$names"
  done
}
