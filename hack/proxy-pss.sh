#!/usr/bin/env bash
# Memory of N idle proxies run from one binary, as N meshed pods of one
# node share their image's page cache: each proxy serves one request and
# one /metrics scrape, then RSS and PSS (its share of shared pages) are
# read from /proc/PID/smaps_rollup and averaged.
#
#   hack/proxy-pss.sh [N] [MESHCTL]      (defaults: 8, a build of ./cmd/meshctl)
#
# The binary is copied first: a binary fresh from the linker sits in the
# page cache differently from a deployed one (docs/bench.md). Needs curl
# and python3 (the upstream).
set -euo pipefail
n=${1:-8}
src=${2:-}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
if [ -z "$src" ]; then
	src="$work/built"
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$src" ./cmd/meshctl
fi
cp "$src" "$work/meshctl"
# The upstream: a static file server on loopback.
python3 -m http.server 18080 --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
	curl -sf -o /dev/null 127.0.0.1:18080/ && break
	sleep 0.05
done
curl -sf -o /dev/null 127.0.0.1:18080/ || { echo "proxy-pss: the upstream (python3 -m http.server) did not start on 127.0.0.1:18080" >&2; exit 1; }
for i in $(seq 1 "$n"); do
	"$work/meshctl" proxy --inbound-addr "127.0.0.1:$((19100 + i))" --outbound-addr "127.0.0.1:$((19400 + i))" \
		--admin-addr "127.0.0.1:$((19700 + i))" --log-level warn --inbound-target 127.0.0.1:18080 >/dev/null 2>&1 &
	pids+=($!)
done
for i in $(seq 1 "$n"); do
	for _ in $(seq 1 100); do
		curl -sf -o /dev/null "127.0.0.1:$((19700 + i))/ready" && break
		sleep 0.05
	done
	curl -sf -o /dev/null "127.0.0.1:$((19100 + i))/" || { echo "proxy-pss: no answer through proxy $i" >&2; exit 1; }
	curl -sf -o /dev/null "127.0.0.1:$((19700 + i))/metrics" || { echo "proxy-pss: no /metrics from proxy $i" >&2; exit 1; }
done
sleep 1
for p in "${pids[@]:1}"; do
	awk '/^Rss:|^Pss:|^Pss_Anon:|^Pss_File:/ { printf "%s ", $2 } END { print "" }' "/proc/$p/smaps_rollup"
done | awk -v n="$n" '{ r += $1; p += $2; a += $3; f += $4 }
	END { printf "%d proxies, per proxy: RSS %.1f MiB, PSS %.1f MiB (anonymous %.1f, file %.1f)\n", n, r/n/1024, p/n/1024, a/n/1024, f/n/1024 }'
