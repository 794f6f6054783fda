#!/usr/bin/env bash
# hack/cluster/cluster.sh — a real single-node Kubernetes cluster for meshctl's end-to-end tests.
# Verbs: build [k8s|etcd|coredns|images|prometheus]... | up | down [--wipe] | status | load-image TARBALL... |
#        env | logs [COMPONENT...] | smoke | prometheus-image | align-deps [--check]
# See hack/cluster/README.md.
set -euo pipefail

main() {
  local here f
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  # shellcheck source=lib/common.sh
  . "$here/lib/common.sh"
  for f in "$here"/lib/*.sh; do [ "$f" = "$here/lib/common.sh" ] || . "$f"; done

  local verb=${1:-}; [ $# -gt 0 ] && shift
  case "$verb" in build|up|down|load-image|prometheus-image|align-deps) take_lock "$verb" ;; esac
  case "$verb" in
    build)      cmd_build "$@" ;;
    up)         cmd_up "$@" ;;
    down)       cmd_down "$@" ;;
    status)     cmd_status "$@" ;;
    load-image) cmd_load_image "$@" ;;
    env)        cmd_env "$@" ;;
    logs)       cmd_logs "$@" ;;
    smoke)      exec "$here/smoke.sh" "$@" ;;
    prometheus-image) cmd_prometheus_image "$@" ;;
    align-deps) cmd_align_deps "$@" ;;
    -h|--help|help) sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
    *) sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
       die "unknown verb '${verb}'" "Use one of: build up down status load-image env logs smoke prometheus-image align-deps" ;;
  esac
}

main "$@"; exit $?
