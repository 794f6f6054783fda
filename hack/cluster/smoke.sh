#!/usr/bin/env bash
# hack/cluster/smoke.sh — proves the cluster started by `cluster.sh up` is usable for end-to-end tests:
# a Deployment + Service from a local image, pod IP and ClusterIP reachability (host and pod), DNS from a
# pod, `kubectl apply --dry-run=server` of a CRD and of a custom resource, and the network fence: a pod
# cannot reach anything outside the pod network, the service range and the node, even with a default
# route added to its network namespace. Exits non-zero with a message naming the failed check.
# Env: MESHCTL_SMOKE_KEEP=1 keeps the namespace for inspection.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib/common.sh"
for f in "$HERE"/lib/*.sh; do [ "$f" = "$HERE/lib/common.sh" ] || . "$f"; done
resolve_bins
NS=meshctl-smoke-$(date +%s)
K() { kubectl_ "$@"; }
CHECKS=0
ok()   { CHECKS=$((CHECKS + 1)); log "smoke: ok   - $*"; }
fail() {
  FAILED=1
  printf '[cluster] ERROR: smoke: FAILED - %s\n' "$1" >&2; shift
  local l; for l in "$@"; do printf '          %s\n' "$l" >&2; done
  { echo "---- pods in $NS"; K -n "$NS" get pods -o wide; echo "---- events"; K -n "$NS" get events --sort-by=.lastTimestamp | tail -n 15; } 2>&1 | sed 's/^/          | /' >&2 || true
  echo "          diagnostics: hack/cluster/cluster.sh status ; hack/cluster/cluster.sh logs" >&2
  exit 1
}
# in_pod POD ARGS... : run the hello tool inside POD
in_pod() { local p=$1; shift; K -n "$NS" exec "$p" -c hello -- /hello "$@"; }

set -E
trap 'FAIL_LINE=${FAIL_LINE:-$LINENO}' ERR
trap 'rc=$?; [ $rc -eq 0 ] || [ -n "${FAILED:-}" ] || echo "[cluster] ERROR: smoke: unexpected failure (rc=$rc) at smoke.sh line ${FAIL_LINE:-?} after $CHECKS checks" >&2' EXIT
need_root
h_apiserver 2>/dev/null && h_node_ready 2>/dev/null || die "smoke: the cluster is not up" "Run: hack/cluster/cluster.sh up"
T0=$(date +%s)

# --- a fresh namespace (older smoke namespaces are deleted in the background)
for old in $(K get ns -o name 2>/dev/null | sed -n 's#^namespace/\(meshctl-smoke-[0-9]*\)$#\1#p'); do K delete ns "$old" --wait=false >/dev/null 2>&1 || true; done
K create ns "$NS" >/dev/null || fail "create namespace $NS"
ok_=0; for i in $(seq 1 50); do K -n "$NS" get sa default >/dev/null 2>&1 && { ok_=1; break; }; sleep 0.2; done
[ $ok_ = 1 ] || fail "ServiceAccount $NS/default not created in 10s (kube-controller-manager)"

# --- CRD + server-side dry run
CRD=$(cat <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.smoke.meshctl.dev
spec:
  group: smoke.meshctl.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
YAML
)
echo "$CRD" | K apply --dry-run=server -f - 2>&1 | grep -q '(server dry run)' || fail "kubectl apply --dry-run=server of a CRD" "$(echo "$CRD" | K apply --dry-run=server -f - 2>&1 | head -3)"
ok "kubectl apply --dry-run=server of a CustomResourceDefinition"
echo "$CRD" | K apply -f - >/dev/null || fail "kubectl apply of the CRD"
K wait --for condition=established --timeout=30s crd/widgets.smoke.meshctl.dev >/dev/null || fail "CRD widgets.smoke.meshctl.dev not established in 30s"
good='{"apiVersion":"smoke.meshctl.dev/v1","kind":"Widget","metadata":{"name":"w","namespace":"'$NS'"},"spec":{"size":3}}'
bad='{"apiVersion":"smoke.meshctl.dev/v1","kind":"Widget","metadata":{"name":"w","namespace":"'$NS'"},"spec":{"size":0}}'
ok_=0; for i in $(seq 1 20); do echo "$good" | K apply --dry-run=server -f - >/dev/null 2>&1 && { ok_=1; break; }; sleep 0.5; done
[ $ok_ = 1 ] || fail "kubectl apply --dry-run=server of a valid custom resource" "$(echo "$good" | K apply --dry-run=server -f - 2>&1 | head -3)"
if echo "$bad" | K apply --dry-run=server -f - >/dev/null 2>&1; then fail "an invalid custom resource (size 0 < minimum 1) was accepted: schema validation is not working"; fi
ok "custom resource dry-run: valid accepted, invalid rejected by the schema"
K delete crd widgets.smoke.meshctl.dev --timeout=30s >/dev/null 2>&1 || true

# --- Deployment + Service from a local image
K apply -f - >/dev/null <<YAML || fail "kubectl apply of the smoke Deployment/Service"
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello, namespace: $NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: hello
        image: localhost/meshctl-hello:dev
        imagePullPolicy: Never
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: hello, namespace: $NS}
spec:
  selector: {app: hello}
  ports: [{port: 80, targetPort: 8080}]
YAML
K -n "$NS" rollout status deploy/hello --timeout=120s >/dev/null 2>&1 || fail "Deployment $NS/hello did not become available in 120s"
ok "Deployment with 2 replicas of localhost/meshctl-hello:dev available after $(( $(date +%s) - T0 ))s"
mapfile -t PODS < <(K -n "$NS" get pods -l app=hello -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
mapfile -t IPS < <(K -n "$NS" get pods -l app=hello -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}')
SVC=$(K -n "$NS" get svc hello -o jsonpath='{.spec.clusterIP}')
[ ${#PODS[@]} -eq 2 ] && [ ${#IPS[@]} -eq 2 ] || fail "expected 2 pods with IPs, got ${PODS[*]:-none} / ${IPS[*]:-none}"

# --- from the host
for ip in "${IPS[@]}"; do
  curl -sf --max-time 3 "http://$ip:8080/from-host" >/dev/null || fail "host -> pod IP $ip:8080"
done
ok "host -> pod IPs ${IPS[*]}"
ok_=0; for i in $(seq 1 50); do curl -sf --max-time 2 "http://$SVC/via-clusterip" >/dev/null 2>&1 && { ok_=1; break; }; sleep 0.3; done
[ $ok_ = 1 ] || fail "host -> ClusterIP $SVC:80 (kube-proxy)" "kube-proxy log: $LOGS/kube-proxy.log"
ok "host -> ClusterIP $SVC"

# --- from a pod
P=${PODS[0]}
in_pod "$P" get "http://${IPS[1]}:8080/pod-to-pod" >/dev/null || fail "pod $P -> pod IP ${IPS[1]}:8080"
ok "pod -> pod IP"
in_pod "$P" get "http://$SVC/pod-to-clusterip" >/dev/null || fail "pod $P -> ClusterIP $SVC"
ok "pod -> ClusterIP"
name=hello.$NS.svc.cluster.local
got=$(in_pod "$P" resolve "$name" 2>&1) || fail "DNS: pod $P cannot resolve $name" "$got" "Check CoreDNS: kubectl -n kube-system logs deploy/coredns"
[ "$got" = "$SVC" ] || fail "DNS: $name resolved to '$got', expected $SVC"
got=$(in_pod "$P" resolve kubernetes.default.svc.cluster.local 2>&1) || fail "DNS: cannot resolve kubernetes.default.svc.cluster.local" "$got"
[ "$got" = "$SVC_APISERVER_IP" ] || fail "DNS: kubernetes.default.svc.cluster.local resolved to '$got', expected $SVC_APISERVER_IP"
in_pod "$P" get "http://hello/short-name" >/dev/null || fail "DNS search path: pod $P -> http://hello/ (short service name)"
ok "DNS from a pod: $name -> $SVC, kubernetes.default.svc.cluster.local -> $SVC_APISERVER_IP, short name via search path"
in_pod "$P" dial "$SVC_APISERVER_IP:443" >/dev/null || fail "pod -> API server through Service kubernetes ($SVC_APISERVER_IP:443 -> $NODE_IP:6443)"
ok "pod -> API server via Service kubernetes"

# --- the fence: nothing outside the pod network, the service range and the node
GW4=$(ip -4 route show default | awk '{print $3; exit}')
HOSTIP=$(ip -4 -o addr show scope global | awk -v b="$BRIDGE" '$2 != b && $2 != "lo" {sub("/.*", "", $4); print $4; exit}')
NSIP=$(awk '/^nameserver/{print $2; exit}' /etc/resolv.conf)
targets=(1.1.1.1:80 192.0.2.1:80)
[ -n "$GW4" ] && [ "$GW4" != 192.0.2.1 ] && targets+=("$GW4:80")
[ -n "$HOSTIP" ] && targets+=("$HOSTIP:22")
[ -n "$NSIP" ] && targets+=("$NSIP:53")
check_blocked() {
  local t
  for t in "${targets[@]}"; do
    if in_pod "$P" dial "$t" >/dev/null 2>&1; then fail "FENCE BREACH ($1): pod $P reached $t, which is outside the pod network/service range/node"; fi
  done
}
check_blocked "pod routes"
ok "fence: pod cannot reach ${targets[*]}"
# now give the pod a default route (as a pod with NET_ADMIN could) and try again: the iptables fence must hold
UID_=$(K -n "$NS" get pod "$P" -o jsonpath='{.metadata.uid}')
PPID_=$(for d in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/kubepods; do [ -d "$d" ] && find "$d" -path "*pod$UID_*" -name cgroup.procs -exec cat {} + 2>/dev/null; done | head -1 || true)
[ -n "$PPID_" ] || fail "could not find a process of pod $P (uid $UID_) in the kubepods cgroups"
nsenter -t "$PPID_" -n ip route replace default via "$POD_GW" || fail "could not add a default route in pod $P's network namespace"
trap 'nsenter -t "$PPID_" -n ip route del default 2>/dev/null || true' EXIT
check_blocked "pod with a default route via $POD_GW"
nsenter -t "$PPID_" -n ip route del default 2>/dev/null || true; trap - EXIT
ok "fence: with a default route added in the pod, ${targets[*]} still unreachable (iptables fence)"
fence_active || fail "the fence chains are not first in mangle FORWARD / raw PREROUTING"
ok "fence chains first in mangle FORWARD and raw PREROUTING"

if [ "${MESHCTL_SMOKE_KEEP:-}" != 1 ]; then K delete ns "$NS" --wait=false >/dev/null 2>&1 || true; fi
log "smoke: all $CHECKS checks passed in $(( $(date +%s) - T0 ))s"
