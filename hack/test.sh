#!/usr/bin/env bash
# Runs the whole meshctl test suite: formatting and vet, the unit tests, the
# fuzz smoke runs, then the end-to-end suite on a real local cluster
# (hack/cluster), which is torn down again even when a test fails.
#
#   hack/test.sh            everything
#   hack/test.sh --unit     lint, unit tests and fuzz runs only (no cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

unit_only=false
[[ "${1:-}" == "--unit" ]] && unit_only=true

step() { printf '\n==> %s\n' "$*" >&2; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [[ -n "$unformatted" ]]; then
	echo "these files need gofmt -w:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet"
go vet ./...

step "unit tests"
go test -count=1 ./...

step "fuzz smoke runs"
# Counted in executions, not seconds: a time budget ending while a worker is
# busy has been seen to fail the run with "context deadline exceeded".
fuzz() { go test -run '^$' -fuzz "^$2\$" -fuzztime "$3" "$1"; }
fuzz ./inject FuzzInject 5000x
fuzz ./pkg/proxy FuzzH1Guard 50000x
fuzz ./pkg/proxy FuzzClassify 50000x

if $unit_only; then
	exit 0
fi

step "end-to-end suite on a local cluster"
hack/e2e.sh
