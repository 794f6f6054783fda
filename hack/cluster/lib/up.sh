# shellcheck shell=bash
# up.sh — the `up` verb: start every component as a child process (setsid, logs in $LOGS, PID files in
# $PIDS) in dependency order, each waited for with a timeout.

COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy)
CTR_SOCK=$RUN/containerd/containerd.sock

kubectl_() { "$KBIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
ctr_() { ctr -a "$CTR_SOCK" -n k8s.io "$@"; }

ports_of() { local p; for p in "${!PORTS[@]}"; do if [ "${PORTS[$p]}" = "$1" ]; then echo "$p"; fi; done | sort -n; }

# check_ports COMPONENT : every port of the component must be free
check_ports() {
  local p who
  for p in $(ports_of "$1"); do
    if port_busy "$p"; then
      who=$(owner_of_port "$p")
      die "$1: port $p is already in use by ${who:-an unknown process (run: ss -ltnp 'sport = :$p')}" \
        "If it is a leftover of an earlier cluster (killed run), stop it: kill ${who%% *}; then run: hack/cluster/cluster.sh up" \
        "If it belongs to something else, stop that service: this cluster needs ports $(printf '%s ' "${!PORTS[@]}" | tr ' ' '\n' | sort -n | tr '\n' ' ')"
    fi
  done
}

# start_component NAME EXE ARGS... : start detached (own session), record PID and executable
start_component() {
  local name=$1 exe=$2; shift 2
  if is_ours "$name"; then log "$name: already running (pid $(cat "$(pidfile "$name")"))"; return 0; fi
  [ -x "$exe" ] || die "$name: executable $exe not found" "Run: hack/cluster/cluster.sh build"
  check_ports "$name"
  mkdir -p "$PIDS" "$LOGS"
  exe=$(readlink -f "$exe")
  echo "$exe" > "$PIDS/$name.exe"
  setsid "$exe" "$@" > "$LOGS/$name.log" 2>&1 < /dev/null 9>&- &   # 9: our lock, not for children
  local pid=$! i
  echo "$pid" > "$(pidfile "$name")"
  # wait until setsid has exec'ed the component so that is_ours can recognise it
  for i in $(seq 1 50); do
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  is_ours "$name" || component_failed "$name" "exited right after start (pid $pid)" "read the log above"
}

h_etcd()       { curl -sf --max-time 2 http://127.0.0.1:2379/health | grep -q '"health":"true"'; }
h_apiserver()  { curl -sf --max-time 3 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://$NODE_IP:6443/readyz" >/dev/null; }
h_kcm()        { curl -skf --max-time 2 https://127.0.0.1:10257/healthz >/dev/null; }
h_scheduler()  { curl -skf --max-time 2 https://127.0.0.1:10259/healthz >/dev/null; }
h_containerd() { ctr -a "$CTR_SOCK" version >/dev/null 2>&1 && grep -q 'io.containerd.grpc.v1 *cri *linux/amd64 *ok' <<<"$(ctr_ plugins ls 2>/dev/null)"; }
h_kubelet()    { curl -sf --max-time 2 http://127.0.0.1:10248/healthz >/dev/null; }
h_node_ready() { [ "$(kubectl_ get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
h_dns()        { [ "$("$IMGDIR/hello" resolve kubernetes.default.svc.cluster.local "$DNS_IP:53" 2>/dev/null)" = "$SVC_APISERVER_IP" ]; }
h_proxy()      { [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:10256/healthz)" = 200 ]; }

start_etcd() {
  mkdir -p "$RUN/etcd"; chmod 700 "$RUN/etcd"
  local extra=()
  local help; help=$("$ETCD_BIN" --help 2>&1 || true)
  [[ $help == *--unsafe-no-fsync* ]] && extra+=(--unsafe-no-fsync)   # a test cluster: no fsync (etcd >= 3.5)
  start_component etcd "$ETCD_BIN" --name meshctl --data-dir "$RUN/etcd/data" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster meshctl=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
    --quota-backend-bytes=2147483648 --log-level=warn "${extra[@]}"
  wait_until "$T_ETCD" etcd "/health on 127.0.0.1:2379" h_etcd
  log "etcd: healthy ($("$ETCD_BIN" --version 2>/dev/null | head -1))"
}

start_apiserver() {
  start_component kube-apiserver "$KBIN/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:2379 \
    --bind-address="$NODE_IP" --secure-port=6443 --advertise-address="$NODE_IP" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SVC_CIDR" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP --kubelet-certificate-authority="$PKI/ca.crt" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --enable-aggregator-routing=true --profiling=false \
    ${MESHCTL_APISERVER_EXTRA_FLAGS:-}
  wait_until "$T_APISERVER" kube-apiserver "/readyz on https://$NODE_IP:6443" h_apiserver
  log "kube-apiserver: ready on https://$NODE_IP:6443"
}

start_controllers() {
  local kc=$KCDIR/controller-manager.kubeconfig ks=$KCDIR/scheduler.kubeconfig
  start_component kube-controller-manager "$KBIN/kube-controller-manager" \
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" --use-service-account-credentials=true \
    --allocate-node-cidrs=true --cluster-cidr="$POD_CIDR" --node-cidr-mask-size=24 --service-cluster-ip-range="$SVC_CIDR" \
    --controllers='*,bootstrapsigner,tokencleaner' --profiling=false
  start_component kube-scheduler "$KBIN/kube-scheduler" \
    --kubeconfig="$ks" --authentication-kubeconfig="$ks" --authorization-kubeconfig="$ks" \
    --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --profiling=false
  wait_until "$T_CONTROLLERS" kube-controller-manager "/healthz on 127.0.0.1:10257" h_kcm
  wait_until "$T_CONTROLLERS" kube-scheduler "/healthz on 127.0.0.1:10259" h_scheduler
  log "kube-controller-manager, kube-scheduler: healthy"
}

write_containerd_config() {
  mkdir -p "$RUN/containerd/root" "$RUN/containerd/state" "$RUN/containerd/runc"
  cat > "$RUN/containerd-config.toml" <<TOML
version = 2
root = "$RUN/containerd/root"
state = "$RUN/containerd/state"
# keep containerd from touching /opt and from probing snapshotters we do not use
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:meshctl"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # the VM lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj (kubelet asks -998 for sandboxes)
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUN/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$RUN/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
TOML
}

start_containerd() {
  command -v containerd >/dev/null || die "containerd: not installed" "Run: hack/cluster/cluster.sh build (installs the Debian packages)"
  CNI_BIN_DIR=${MESHCTL_CNI_BIN_DIR:-/usr/lib/cni}
  [ -x "$CNI_BIN_DIR/bridge" ] && [ -x "$CNI_BIN_DIR/host-local" ] && [ -x "$CNI_BIN_DIR/loopback" ] ||
    die "containerd: CNI plugins not found in $CNI_BIN_DIR" "apt-get install containernetworking-plugins, or set MESHCTL_CNI_BIN_DIR"
  write_containerd_config
  write_cni_config
  [ -e /run/containerd ] || { mkdir -p /run/containerd; touch "$RUN/.created-run-containerd"; }
  start_component containerd "$(command -v containerd)" --config "$RUN/containerd-config.toml"
  wait_until "$T_CONTAINERD" containerd "its API and the CRI plugin on $CTR_SOCK" h_containerd
  log "containerd: ready ($(containerd --version | awk '{print $3}'))"
}

import_tarball() { # TARBALL : import into containerd's k8s.io namespace, print the image names
  local t=$1 out
  out=$(ctr_ images import --all-platforms "$t" 2>&1) || { printf '%s\n' "$out" >&2; die "load-image: ctr images import $t failed" "Is it an OCI image layout or docker-archive tarball? (tar tf $t)"; }
  printf '%s\n' "$out" | sed -n 's/^unpacking \([^ ]*\) .*/\1/p'
}

import_base_images() {
  local t names
  for t in pause hello coredns; do
    [ -s "$IMGDIR/$t.tar" ] || die "images: $IMGDIR/$t.tar missing" "Run: hack/cluster/cluster.sh build"
    names=$(import_tarball "$IMGDIR/$t.tar")
  done
  # The list is read whole before it is searched: under pipefail, grep -q
  # quitting at its match made ctr's next write fail with SIGPIPE, and the
  # pipeline with it (one CI run died here with the image imported).
  local listed
  listed=$(ctr_ images ls -q) || die "images: ctr images ls failed" "see $LOGS/containerd.log"
  grep -qx 'localhost/pause:meshctl' <<<"$listed" || die "images: pause image not in containerd after import" "see $LOGS/containerd.log"
  log "images: pause, hello, coredns imported"
}

write_kubelet_config() {
  mkdir -p "$RUN/kubelet/root" "$RUN/kubelet/manifests" "$RUN/pod-logs"
  cat > "$RUN/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
containerRuntimeEndpoint: unix://$CTR_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: /etc/resolv.conf
staticPodPath: $RUN/kubelet/manifests
podLogsDir: $RUN/pod-logs
evictionHard: {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
YAML
}

start_kubelet() {
  write_kubelet_config
  start_component kubelet "$KBIN/kubelet" --config="$RUN/kubelet-config.yaml" \
    --kubeconfig="$KCDIR/kubelet.kubeconfig" --root-dir="$RUN/kubelet/root" --cert-dir="$RUN/kubelet/pki" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" ${MESHCTL_KUBELET_EXTRA_FLAGS:-}
  wait_until "$T_KUBELET" kubelet "/healthz on 127.0.0.1:10248" h_kubelet
  wait_until "$T_KUBELET" kubelet "node $NODE_NAME Ready" h_node_ready
  log "kubelet: node $NODE_NAME Ready"
}

start_proxy() {
  cat > "$RUN/kube-proxy-config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $KCDIR/kube-proxy.kubeconfig}
mode: iptables
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
nodePortAddresses: ["$NODE_IP/32"]
# 0 = leave the machine's conntrack sysctls alone
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
# do not set net.ipv4.conf.all.route_localnet=1
iptables: {localhostNodePorts: false}
YAML
  start_component kube-proxy "$KBIN/kube-proxy" --config="$RUN/kube-proxy-config.yaml"
  wait_until "$T_PROXY" kube-proxy "/healthz on 127.0.0.1:10256" h_proxy
  fence_reassert
  log "kube-proxy: healthy (iptables mode); fence first in mangle FORWARD and raw PREROUTING"
}

apply_coredns() {
  local m=$RUN/coredns.yaml
  sed -e "s#@DNS_IP@#$DNS_IP#g" -e "s#@IMAGE@#localhost/coredns:${COREDNS_VERSION#v}#g" "$HACK_DIR/manifests/coredns.yaml" > "$m"
  local out; out=$(kubectl_ apply -f "$m" 2>&1) || { printf '%s\n' "$out" >&2; die "coredns: kubectl apply -f $m failed"; }
  # ready = it answers: resolve the API server's name from the host through the kube-dns ClusterIP
  # (a Deployment status may still say "ready" from before the last down)
  local deadline=$(( $(date +%s) + T_DNS ))
  until h_dns; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      printf '[cluster] ERROR: coredns: kube-dns (%s:53) does not answer after %ss\n' "$DNS_IP" "$T_DNS" >&2
      { kubectl_ -n kube-system get pods -l k8s-app=kube-dns -o wide
        kubectl_ -n kube-system describe pods -l k8s-app=kube-dns | tail -n 25
        kubectl_ -n kube-system logs deploy/coredns --tail=20; } 2>&1 | sed 's/^/          | /' >&2 || true
      tail_log kubelet 20
      die "coredns: not ready" "Look at the pod events above; then: hack/cluster/cluster.sh down && hack/cluster/cluster.sh up"
    fi
    sleep 0.5
  done
  log "coredns: kube-dns at $DNS_IP answers"
}

# any state left by a previous run that crashed or was killed?
stale_state() {
  local c
  for c in "${COMPONENTS[@]}"; do [ -f "$(pidfile "$c")" ] && return 0; done
  ip link show "$BRIDGE" >/dev/null 2>&1 && return 0
  awk -v r="$RUN/" 'index($2, r) == 1 {found=1} END {exit !found}' /proc/mounts && return 0
  return 1
}
all_healthy() {
  local c
  for c in "${COMPONENTS[@]}"; do is_ours "$c" || return 1; done
  h_apiserver && h_node_ready && h_proxy
}

cmd_up() {
  need_root
  resolve_bins
  local c
  for c in "${K8S_COMPONENTS[@]}"; do
    [ -x "$KBIN/$c" ] || die "up: $c is not built for this key ($KBIN)" "Run first: hack/cluster/cluster.sh build   (cold: ~15-25 min once per machine)"
  done
  [ -x "$ETCD_BIN" ] || die "up: etcd not found ($ETCD_BIN)" "Run first: hack/cluster/cluster.sh build (or set MESHCTL_ETCD_BIN)"
  [ -f "$IMGDIR/.complete" ] || die "up: base images not built ($IMGDIR)" "Run first: hack/cluster/cluster.sh build"
  local miss=() t; for t in containerd runc ctr iptables ip6tables conntrack curl openssl ss; do command -v "$t" >/dev/null || miss+=("$t"); done
  [ ${#miss[@]} -eq 0 ] || die "up: missing tools: ${miss[*]}" "Run: hack/cluster/cluster.sh build (installs Debian packages)"

  mkdir -p "$RUN" "$PIDS" "$LOGS"
  if all_healthy; then
    log "cluster already up and healthy"; fence_active || fence_reassert
    cmd_env; return 0
  fi
  if stale_state; then
    log "found a previous cluster that is stopped, partial or crashed: cleaning it up first (down)"
    cmd_down
  fi
  mkdir -p "$LOGS/previous"   # keep the logs of the previous run (a crash) one generation
  for c in "${COMPONENTS[@]}"; do [ -f "$LOGS/$c.log" ] && mv -f "$LOGS/$c.log" "$LOGS/previous/$c.log"; done
  for c in "${COMPONENTS[@]}"; do check_ports "$c"; done   # fail before starting anything
  check_ranges
  save_sysctls
  set_sysctls
  node_ip_up
  fence_up
  ensure_pki
  ensure_kubeconfigs
  log "network fence, node IP $NODE_IP and PKI ready"
  start_etcd
  start_apiserver
  start_controllers
  start_containerd
  import_base_images
  start_kubelet
  start_proxy
  apply_coredns
  log "cluster up in $(awk -v m="$(elapsed_ms)" 'BEGIN{printf "%.1f", m/1000}')s; KUBECONFIG=$ADMIN_KUBECONFIG"
  echo "# to use it: eval \"\$(hack/cluster/cluster.sh env)\"" >&2
}
