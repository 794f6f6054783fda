#!/usr/bin/env bash
# Smoke-test an image tarball from hack/build-image.sh in a private,
# temporary containerd (needs root, containerd, ctr and runc):
#
#   hack/image/containerd-smoke.sh _output/meshctl-image.tar [REF]
#
# It imports the tarball into namespace k8s.io as `ctr images import` on a
# cluster node would, runs `meshctl version --client`, runs
# `meshctl controller identity` and checks its /ready and uid, stops it
# with SIGTERM, and removes everything it created. It never touches the
# host's own containerd (/run/containerd).
set -euo pipefail

tar="${1:?usage: $0 IMAGE.tar [REF]}"
ref="${2:-}"
for bin in containerd ctr runc curl; do
	command -v "$bin" >/dev/null || { echo "skip: $bin not installed" >&2; exit 0; }
done
[[ $(id -u) == 0 ]] || { echo "skip: needs root" >&2; exit 0; }

dir="$(mktemp -d /tmp/meshctl-ctd.XXXXXX)"
sock="$dir/containerd.sock"
cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
TOML
containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
ctd_pid=$!
ctr=(ctr --address "$sock" -n k8s.io)
cleanup() {
	"${ctr[@]}" task kill -s SIGKILL meshctl-smoke-ctl >/dev/null 2>&1 || true
	"${ctr[@]}" task delete meshctl-smoke-ctl >/dev/null 2>&1 || true
	"${ctr[@]}" container rm meshctl-smoke-ctl >/dev/null 2>&1 || true
	kill "$ctd_pid" 2>/dev/null || true
	wait "$ctd_pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done

"${ctr[@]}" images import "$tar" >/dev/null
if [[ -z $ref ]]; then
	ref="$("${ctr[@]}" images ls -q | head -n1)"
fi
echo "imported $ref"

out="$("${ctr[@]}" run --rm "$ref" meshctl-smoke-version /meshctl version --client)"
echo "version: $out"

port=19990
"${ctr[@]}" run -d --net-host "$ref" meshctl-smoke-ctl \
	/meshctl controller identity --admin-addr "127.0.0.1:$port" --log-format json >/dev/null
ready=""
for _ in $(seq 50); do
	ready="$(curl -fsS "127.0.0.1:$port/ready" 2>/dev/null)" && break
	sleep 0.1
done
echo "$ready" | grep -q '^ready$' || { echo "FAIL: /ready answered: $ready" >&2; exit 1; }
echo "$ready" | grep -q 'not implemented yet' || { echo "FAIL: /ready does not state what is missing" >&2; exit 1; }
pid="$("${ctr[@]}" task ls | awk '$1 == "meshctl-smoke-ctl" {print $2}')"
uid="$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")"
[[ $uid != 0 ]] || { echo "FAIL: controller runs as root" >&2; exit 1; }
echo "controller ready, uid $uid"

"${ctr[@]}" task kill -s SIGTERM meshctl-smoke-ctl
for _ in $(seq 100); do
	status="$("${ctr[@]}" task ls | awk '$1 == "meshctl-smoke-ctl" {print $3}')"
	[[ $status == STOPPED ]] && break
	sleep 0.1
done
[[ $status == STOPPED ]] || { echo "FAIL: controller did not stop on SIGTERM" >&2; exit 1; }
echo "controller stopped on SIGTERM"
echo "PASS"
