# shellcheck shell=bash
# common.sh — settings, paths and helpers shared by every verb of hack/cluster/cluster.sh.
# Sourced, never executed. Everything is overridable from the environment (see README.md).

# ---- pinned versions --------------------------------------------------------------------------
K8S_VERSION=${MESHCTL_K8S_VERSION:-v1.37.2}
ETCD_VERSION=${MESHCTL_ETCD_VERSION:-v3.6.16}
COREDNS_VERSION=${MESHCTL_COREDNS_VERSION:-v1.15.0}
# Prometheus for `meshctl viz install` in the e2e suite (templates/viz pins the same release).
PROMETHEUS_VERSION=${MESHCTL_PROMETHEUS_VERSION:-v3.16.0}
K8S_COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

# ---- paths --------------------------------------------------------------------------------------
HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MESHCTL_CLUSTER_CACHE:-${HOME:-/root}/.cache/meshctl-cluster}
RUN=$CACHE/run                    # all runtime state of the cluster (wiped by `down --wipe`)
LOGS=$CACHE/logs                  # component logs (kept by `down`, cleared at each `up`)
PKI=$RUN/pki
KCDIR=$RUN/kubeconfig
ADMIN_KUBECONFIG=$KCDIR/admin.kubeconfig
PIDS=$RUN/pids
SYSCTL_ORIG=$CACHE/sysctl.orig
export GOMODCACHE=${MESHCTL_CLUSTER_GOMODCACHE:-$CACHE/gomodcache}
export GOCACHE=${MESHCTL_CLUSTER_GOCACHE:-$CACHE/gocache}
export GOTOOLCHAIN=local
export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0

# ---- network (all of it exists only inside this machine) --------------------------------------
NODE_NAME=localhost
NODE_IP=${MESHCTL_NODE_IP:-10.250.0.1}            # /32 alias on lo: node InternalIP + apiserver endpoint
POD_CIDR=${MESHCTL_POD_CIDR:-10.244.0.0/16}       # cluster CIDR (kube-proxy, fence)
NODE_POD_CIDR=${MESHCTL_NODE_POD_CIDR:-10.244.0.0/24}
POD_GW=${MESHCTL_POD_GW:-10.244.0.1}
SVC_CIDR=${MESHCTL_SVC_CIDR:-10.96.0.0/16}
SVC_APISERVER_IP=10.96.0.1
DNS_IP=${MESHCTL_DNS_IP:-10.96.0.10}
BRIDGE=${MESHCTL_BRIDGE:-cni0}
FENCE_CHAIN=MESHCTL-FENCE                          # our own iptables chain (filter FORWARD + INPUT-ish)
FENCE_RAW_CHAIN=MESHCTL-FENCE-RAW                  # raw PREROUTING
# ports bound by the cluster, all on 127.0.0.1 except apiserver bridge on NODE_IP
declare -A PORTS=(
  [2379]=etcd [2380]=etcd [2381]=etcd
  [6443]=kube-apiserver
  [10257]=kube-controller-manager [10259]=kube-scheduler
  [10248]=kubelet [10250]=kubelet
  [10249]=kube-proxy [10256]=kube-proxy
)

# ---- timeouts (seconds) ------------------------------------------------------------------------
T_ETCD=${MESHCTL_T_ETCD:-30}
T_APISERVER=${MESHCTL_T_APISERVER:-90}
T_CONTROLLERS=${MESHCTL_T_CONTROLLERS:-60}
T_CONTAINERD=${MESHCTL_T_CONTAINERD:-30}
T_KUBELET=${MESHCTL_T_KUBELET:-120}
T_PROXY=${MESHCTL_T_PROXY:-30}
T_DNS=${MESHCTL_T_DNS:-120}
T_STOP=${MESHCTL_T_STOP:-15}

# ---- output helpers ----------------------------------------------------------------------------
T_START=$(date +%s%N)
elapsed_ms() { echo $(( ($(date +%s%N) - T_START) / 1000000 )); }
log()  { printf '[cluster %6.1fs] %s\n' "$(awk -v m="$(elapsed_ms)" 'BEGIN{print m/1000}')" "$*" >&2; }
warn() { printf '[cluster] WARNING: %s\n' "$*" >&2; }
# die MESSAGE... : print a clear error (first line names the component) and exit 1
die()  { printf '[cluster] ERROR: %s\n' "$1" >&2; shift; local l; for l in "$@"; do printf '          %s\n' "$l" >&2; done; exit 1; }

need_root() {
  [ "$(id -u)" = 0 ] || die "hack/cluster needs root (network namespaces, iptables, mounts)." "Run it as root (CI and the dev VM run as root)."
}

# tail_log COMPONENT [N] : last N lines of the component log, indented, to stderr
tail_log() {
  local f=$LOGS/$1.log n=${2:-30}
  if [ -s "$f" ]; then printf '          ---- last %s lines of %s ----\n' "$n" "$f" >&2; tail -n "$n" "$f" | sed 's/^/          | /' >&2
  else printf '          (no log at %s)\n' "$f" >&2; fi
}

# component_failed COMPONENT WHAT HINT : die with the tail of the component's log
component_failed() {
  local c=$1 what=$2 hint=${3:-}
  printf '[cluster] ERROR: %s: %s\n' "$c" "$what" >&2
  tail_log "$c" 40
  [ -n "$hint" ] && printf '          what to do: %s\n' "$hint" >&2
  printf '          full log: %s ; other logs: hack/cluster/cluster.sh logs ; clean up: hack/cluster/cluster.sh down\n' "$LOGS/$c.log" >&2
  exit 1
}

# ---- versions / cache keys ---------------------------------------------------------------------
GO_VERSION_CACHED=""
go_version() {
  if [ -z "$GO_VERSION_CACHED" ]; then
    GO_VERSION_CACHED=$(go env GOVERSION 2>/dev/null) || die "go: not found in PATH" "Install Go >= 1.26 and put it in PATH (needed to locate the cached binaries, keyed by Go version)."
  fi
  echo "$GO_VERSION_CACHED"
}
k8s_ldflags() {
  local v=$K8S_VERSION minor; minor=$(echo "$v" | cut -d. -f2)
  echo "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
}
flags_hash() { printf '%s' "CGO_ENABLED=$CGO_ENABLED -trimpath $*" | sha256sum | cut -c1-8; }
# wrapper_hash NAME: the committed wrapper module's files (go.mod, go.sum, main.go), so that
# raising a dependency there (cluster.sh align-deps) builds the binaries again.
wrapper_hash() { cat "$HACK_DIR/wrappers/$1"/* 2>/dev/null | sha256sum | cut -c1-8; }
k8s_bin_dir()     { echo "$CACHE/bin/k8s-$K8S_VERSION-$(go_version)-$(flags_hash "$(k8s_ldflags)")-$(wrapper_hash k8s)"; }
etcd_bin_dir()    { echo "$CACHE/bin/etcd-$ETCD_VERSION-$(go_version)-$(flags_hash "-s -w")-$(wrapper_hash etcd)"; }
coredns_bin_dir() { echo "$CACHE/bin/coredns-$COREDNS_VERSION-$(go_version)-$(flags_hash "-s -w")-$(wrapper_hash coredns)"; }
prometheus_bin_dir() { echo "$CACHE/bin/prometheus-$PROMETHEUS_VERSION-$(go_version)-$(flags_hash "-s -w")-$(wrapper_hash prometheus)"; }
# prometheus_module_version: Prometheus vX.Y.Z is the Go module version v0.(X*100+Y).Z (v3.5.0 -> v0.305.0).
prometheus_module_version() {
  local v=${PROMETHEUS_VERSION#v} major minor patch
  IFS=. read -r major minor patch <<<"$v"
  echo "v0.$((major * 100 + minor)).$patch"
}
images_dir()      { echo "$CACHE/images/$(go_version)-$(basename "$(coredns_bin_dir)")-$(cd "$HACK_DIR/images" && cat go.mod ./*/*.go mkimage/*.go 2>/dev/null | sha256sum | cut -c1-8)"; }

# resolve the binaries used by up/env (no build here)
resolve_bins() {
  go_version >/dev/null
  KBIN=$(k8s_bin_dir)
  if [ -n "${MESHCTL_ETCD_BIN:-}" ]; then ETCD_BIN=$MESHCTL_ETCD_BIN
  elif [ -x "$(etcd_bin_dir)/etcd" ]; then ETCD_BIN=$(etcd_bin_dir)/etcd
  elif [ -x /usr/bin/etcd ]; then ETCD_BIN=/usr/bin/etcd
  else ETCD_BIN=$(etcd_bin_dir)/etcd; fi
  IMGDIR=$(images_dir)
}

# ---- process helpers ---------------------------------------------------------------------------
pidfile() { echo "$PIDS/$1.pid"; }
# is_ours COMPONENT : the PID file points at a live process whose executable is the one we started
is_ours() {
  local f; f=$(pidfile "$1"); [ -f "$f" ] || return 1
  local pid exe; pid=$(cat "$f" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  exe=$(cat "$PIDS/$1.exe" 2>/dev/null || true)
  [ -z "$exe" ] && return 0
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null | sed 's/ (deleted)$//')" = "$exe" ]
}
# owner_of_port PORT : "pid/comm" of the process listening on TCP PORT (any address), or empty
owner_of_port() {
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\"\([^\"]*\)\",pid=\([0-9]*\).*/\2 (\1)/p' | head -1
}
port_busy() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# wait_until TIMEOUT COMPONENT DESCRIPTION CMD... : poll CMD every 0.2 s; fail with the component's log
# if the component process dies or the timeout expires.
wait_until() {
  local timeout=$1 comp=$2 desc=$3; shift 3
  local deadline=$(( $(date +%s) + timeout ))
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    if [ -f "$(pidfile "$comp")" ] && ! is_ours "$comp"; then
      component_failed "$comp" "process exited while waiting for $desc" "read the log above; fix the cause, then run: hack/cluster/cluster.sh down && hack/cluster/cluster.sh up"
    fi
    [ "$(date +%s)" -ge "$deadline" ] && component_failed "$comp" "not healthy after ${timeout}s (waited for $desc)" "the machine may be overloaded (raise MESHCTL_T_* timeouts) or the component is misconfigured (see log)"
    sleep 0.2
  done
}

# take_lock VERB : one mutating verb at a time per cache (build, up, down, load-image)
take_lock() {
  mkdir -p "$CACHE"
  exec 9>>"$CACHE/.lock"
  if ! flock -n 9; then
    die "another hack/cluster/cluster.sh is running on $CACHE ($(cat "$CACHE/.lock.owner" 2>/dev/null || echo unknown))" \
      "Wait for it to finish (a cold build takes a while: see $LOGS/build-*.log), then retry."
  fi
  echo "$1, pid $$, since $(date +%T)" > "$CACHE/.lock.owner"
}
