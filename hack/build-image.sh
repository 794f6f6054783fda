#!/usr/bin/env bash
# Build the meshctl container image without a Docker engine or registry.
#
#   hack/build-image.sh [VERSION]
#
# Builds a static linux meshctl binary for ARCH (default: the host's GOARCH)
# with the version stamped in, then writes a FROM-scratch image tarball
# (docker-archive format) to ${OUT:-_output}/meshctl-image.tar, tagged
# ${IMAGE:-ghcr.io/meshctl/meshctl}:VERSION. Load it into a cluster node with
#
#   ctr -n k8s.io images import _output/meshctl-image.tar
#
# Two runs with the same VERSION, sources and SOURCE_DATE_EPOCH produce
# byte-identical tarballs. SOURCE_DATE_EPOCH defaults to the last commit's
# time, or 0 outside a git checkout.
set -euo pipefail

cd "$(dirname "$0")/.."

VERSION="${1:-${VERSION:-dev}}"
OUT="${OUT:-_output}"
ARCH="${ARCH:-$(go env GOARCH)}"
IMAGE="${IMAGE:-ghcr.io/meshctl/meshctl}"
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
	SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || echo 0)"
fi
export SOURCE_DATE_EPOCH

bin="${OUT}/linux-${ARCH}/meshctl"
mkdir -p "$(dirname "${bin}")"
echo "building ${bin} (version ${VERSION})" >&2
CGO_ENABLED=0 GOOS=linux GOARCH="${ARCH}" go build -trimpath -buildvcs=false \
	-ldflags "-s -w -X github.com/meshctl/meshctl/pkg/version.version=${VERSION}" \
	-o "${bin}" ./cmd/meshctl

go run ./hack/image \
	--binary "${bin}" \
	--arch "${ARCH}" \
	--tag "${IMAGE}:${VERSION}" \
	--version "${VERSION}" \
	--output "${OUT}/meshctl-image.tar"
