#!/usr/bin/env bash
# Regenerates the gRPC code in pkg/api from proto/. Needs protoc (Debian's
# protobuf-compiler) and the two Go plugins at the versions pinned here.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC_GEN_GO=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
command -v protoc >/dev/null || { echo "genproto: protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN=$bin go install "$PROTOC_GEN_GO"
GOBIN=$bin go install "$PROTOC_GEN_GO_GRPC"
find proto -name '*.proto' -print0 | sort -z | xargs -0 protoc -I proto \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  --go_out=. --go_opt=module=github.com/meshctl/meshctl \
  --go-grpc_out=. --go-grpc_opt=module=github.com/meshctl/meshctl
