#!/usr/bin/env bash
# hack/cluster/with-cluster.sh [--no-smoke] [--keep] -- COMMAND [ARGS...]
# For CI and for one-shot local runs: build (cached), bring the cluster up, run the smoke test, run
# COMMAND with KUBECONFIG/PATH set, print every component log if anything failed, and always tear the
# cluster down (down --wipe) on exit, even on failure or Ctrl-C. Exit status: COMMAND's (or the
# harness's if it failed first).
#   hack/cluster/with-cluster.sh -- go test -tags e2e ./test/e2e/...
# --keep (or MESHCTL_KEEP_CLUSTER=1): leave the cluster up afterwards (plain `down` is then yours).
# A cluster that was already up and healthy before is reused and left up.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
smoke=1 keep=${MESHCTL_KEEP_CLUSTER:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --no-smoke) smoke=""; shift ;;
    --keep) keep=1; shift ;;
    --) shift; break ;;
    -*) echo "with-cluster.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

finish() {
  local rc=$?
  trap - EXIT INT TERM
  if [ $rc -ne 0 ]; then
    echo "=== with-cluster: failed (rc=$rc); component logs follow" >&2
    "$HERE/cluster.sh" logs >&2 || true
  fi
  if [ -z "$keep" ]; then "$HERE/cluster.sh" down --wipe >&2 || echo "with-cluster: down --wipe failed" >&2; fi
  exit $rc
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if "$HERE/cluster.sh" status >/dev/null 2>&1; then
  echo "=== with-cluster: reusing the cluster that is already up; it stays up afterwards" >&2; keep=1
fi
t0=$(date +%s)
"$HERE/cluster.sh" build
t1=$(date +%s)
"$HERE/cluster.sh" up >/dev/null
t2=$(date +%s)
eval "$("$HERE/cluster.sh" env)"
[ -z "$smoke" ] || "$HERE/cluster.sh" smoke
t3=$(date +%s)
echo "=== with-cluster: build $((t1 - t0))s, up $((t2 - t1))s, smoke $((t3 - t2))s; running: $*" >&2
"$@"
