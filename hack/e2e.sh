#!/usr/bin/env bash
# Builds the meshctl and demo images, then runs the e2e suite
# (go test -tags e2e ./test/e2e/...; E2E_TEST_FLAGS adds flags, e.g. -v)
# on the local cluster through
# hack/cluster/with-cluster.sh, which brings the cluster up, prints every
# component's log on failure and always tears it down again (a cluster that
# was already up is reused and left up). -parallel 8: the journey's
# parallel reads mostly wait out their windows, so they need not share
# GOMAXPROCS' two slots.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

with_cluster=hack/cluster/with-cluster.sh
if [[ ! -x "$with_cluster" ]]; then
	echo "e2e: $with_cluster is missing; the cluster harness has not landed yet" >&2
	exit 1
fi

out=${OUT:-_output}
OUT=$out hack/build-image.sh dev
# The demo application's image, built the same way from test/e2e/demoapp.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/demoapp" ./test/e2e/demoapp
go run ./hack/image --binary "$out/demoapp" --tag localhost/meshctl-demoapp:dev --output "$out/demoapp-image.tar"

# The viz extension's Prometheus (the cluster cannot pull images): built
# once from the Go module proxy into the cluster cache, with Kubernetes
# service discovery only, and packed as localhost/prometheus:<version>.
read -r prom_tar prom_ref < <(hack/cluster/cluster.sh prometheus-image)
[[ -n "$prom_tar" && -n "$prom_ref" ]] || { echo "e2e: hack/cluster/cluster.sh prometheus-image printed no image" >&2; exit 1; }
export MESHCTL_E2E_PROMETHEUS_IMAGE=$prom_ref

exec "$with_cluster" --no-smoke -- bash -c '
	hack/cluster/cluster.sh load-image "$1/meshctl-image.tar" "$1/demoapp-image.tar" "$2" &&
	go test -count=1 -tags e2e -timeout 30m -parallel 8 $3 ./test/e2e/...' e2e "$out" "$prom_tar" "${E2E_TEST_FLAGS:-}"
