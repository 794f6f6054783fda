#!/usr/bin/env bash
# Brings up the local cluster (hack/cluster), builds and loads the meshctl
# image, runs the e2e suite (go test -tags e2e ./test/e2e/...), prints the
# tail of every component's log on failure, and always tears the cluster down.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

cluster=hack/cluster/cluster.sh
if [[ ! -x "$cluster" ]]; then
	echo "e2e: $cluster is missing; the cluster harness has not landed yet" >&2
	exit 1
fi

status=0
cleanup() {
	if [[ $status -ne 0 ]]; then
		echo "e2e: failed; component logs follow" >&2
		"$cluster" logs >&2 || true
	fi
	"$cluster" down || true
}
trap cleanup EXIT

"$cluster" build
"$cluster" up
eval "$("$cluster" env)"
OUT=${OUT:-_output} hack/build-image.sh dev
"$cluster" load-image "${OUT:-_output}/meshctl-image.tar"
export MESHCTL_BIN="$PWD/${OUT:-_output}/meshctl"
go test -count=1 -tags e2e -timeout 30m ./test/e2e/... || status=$?
exit $status
