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
out=${OUT:-_output}
OUT=$out hack/build-image.sh dev
# The demo application's image, built the same way from test/e2e/demoapp.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/demoapp" ./test/e2e/demoapp
go run ./hack/image --binary "$out/demoapp" --tag localhost/meshctl-demoapp:dev --output "$out/demoapp-image.tar"
"$cluster" load-image "$out/meshctl-image.tar" "$out/demoapp-image.tar"
go test -count=1 -tags e2e -timeout 30m ./test/e2e/... || status=$?
exit $status
