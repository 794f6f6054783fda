#!/usr/bin/env bash
# The main job on a fresh machine: builds meshctl and renders the control
# plane (CRDs and control plane) into _output/, ready for kubectl apply.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
out=${OUT:-_output}
mkdir -p "$out"

go build -trimpath -o "$out/meshctl" ./cmd/meshctl
"$out/meshctl" version --client
"$out/meshctl" install --crds --ignore-cluster >"$out/crds.yaml"
"$out/meshctl" install --ignore-cluster >"$out/control-plane.yaml"
echo "rendered $out/crds.yaml and $out/control-plane.yaml; apply them with:" >&2
echo "  kubectl apply -f $out/crds.yaml && kubectl apply -f $out/control-plane.yaml" >&2
