# shellcheck shell=bash
# pki.sh — a self-made PKI (openssl, ECDSA P-256: key generation takes milliseconds) and the kubeconfigs.
# Written once into $RUN/pki (atomically: a temp dir renamed when complete); regenerated only when
# missing, incomplete, or made for another node IP.

PKI_FILES=(ca apiserver admin controller-manager scheduler kube-proxy kubelet kubelet-serving apiserver-kubelet-client front-proxy-ca front-proxy-client)

_key() { openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkey -out "$1" 2>/dev/null; chmod 600 "$1"; }
# _cert DIR NAME SUBJ [SAN] [CA]
_cert() {
  local d=$1 n=$2 subj=$3 san=${4:-} ca=${5:-ca}
  _key "$d/$n.key"
  openssl req -new -key "$d/$n.key" -subj "$subj" -out "$d/$n.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$san"
    else echo "extendedKeyUsage=clientAuth"; fi
  } > "$d/$n.ext"
  openssl x509 -req -in "$d/$n.csr" -CA "$d/$ca.crt" -CAkey "$d/$ca.key" -CAcreateserial -days 3650 \
    -sha256 -extfile "$d/$n.ext" -out "$d/$n.crt" 2>/dev/null
  rm -f "$d/$n.csr" "$d/$n.ext"
}
_ca() {
  local d=$1 n=$2 cn=$3
  _key "$d/$n.key"
  openssl req -x509 -new -key "$d/$n.key" -subj "/CN=$cn" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$d/$n.crt" 2>/dev/null
}

pki_complete() {
  local f
  [ "$(cat "$PKI/.node-ip" 2>/dev/null)" = "$NODE_IP" ] || return 1
  for f in "${PKI_FILES[@]}"; do [ -s "$PKI/$f.crt" ] && [ -s "$PKI/$f.key" ] || return 1; done
  [ -s "$PKI/sa.key" ] && [ -s "$PKI/sa.pub" ]
}

ensure_pki() {
  if pki_complete; then return 0; fi
  command -v openssl >/dev/null || die "pki: openssl not found" "Run: hack/cluster/cluster.sh build (installs it) or apt-get install openssl"
  local tmp=$RUN/pki.tmp.$$; rm -rf "$tmp"; mkdir -p "$tmp"
  local s="DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  {
    _ca "$tmp" ca meshctl-cluster-ca
    _cert "$tmp" apiserver "/CN=kube-apiserver" "IP:$NODE_IP,IP:127.0.0.1,IP:$SVC_APISERVER_IP,$s"
    _cert "$tmp" admin "/O=system:masters/CN=kubernetes-admin"
    _cert "$tmp" controller-manager "/CN=system:kube-controller-manager"
    _cert "$tmp" scheduler "/CN=system:kube-scheduler"
    _cert "$tmp" kube-proxy "/CN=system:kube-proxy"
    _cert "$tmp" kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
    _cert "$tmp" kubelet-serving "/CN=$NODE_NAME" "IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE_NAME"
    _cert "$tmp" apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
    _ca "$tmp" front-proxy-ca front-proxy-ca
    _cert "$tmp" front-proxy-client "/CN=front-proxy-client" "" front-proxy-ca
    _key "$tmp/sa.key"; openssl pkey -in "$tmp/sa.key" -pubout -out "$tmp/sa.pub" 2>/dev/null
    echo "$NODE_IP" > "$tmp/.node-ip"
  } || die "pki: generating certificates with openssl failed in $tmp"
  local f; for f in "${PKI_FILES[@]}"; do [ -s "$tmp/$f.crt" ] || die "pki: $f.crt was not written (openssl failed)" "Run: openssl version; then hack/cluster/cluster.sh down --wipe && hack/cluster/cluster.sh up"; done
  rm -rf "$PKI"; mv "$tmp" "$PKI"
  rm -rf "$KCDIR"    # kubeconfigs embed the old certificates
  log "pki: new CA and certificates in $PKI"
}

# _kubeconfig NAME CERTNAME
_kubeconfig() (
  out=$KCDIR/$1.kubeconfig c=$2
  umask 077
  cat > "$out.tmp" <<KC
apiVersion: v1
kind: Config
clusters:
- name: meshctl
  cluster:
    server: https://$NODE_IP:6443
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$c.crt")
    client-key-data: $(base64 -w0 "$PKI/$c.key")
contexts:
- name: meshctl
  context: {cluster: meshctl, user: $1}
current-context: meshctl
KC
  mv "$out.tmp" "$out"
)

ensure_kubeconfigs() {
  [ -s "$ADMIN_KUBECONFIG" ] && [ -s "$KCDIR/kube-proxy.kubeconfig" ] && return 0
  mkdir -p "$KCDIR"
  _kubeconfig controller-manager controller-manager
  _kubeconfig scheduler scheduler
  _kubeconfig kubelet kubelet
  _kubeconfig kube-proxy kube-proxy
  _kubeconfig admin admin   # written last: its presence marks the set as complete
}
