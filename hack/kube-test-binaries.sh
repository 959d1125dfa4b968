#!/usr/bin/env bash
# Builds pinned Kubernetes test binaries (kube-apiserver, etcd, kubectl) from
# the Go module proxy and installs them where fabric8 kube-api-test looks:
#
#   ${KUBE_API_TEST_DIR:-~/.kubeapitest}/k8s/<k8s version>-<os>-<arch>/{kube-apiserver,etcd,kubectl}
#
# Nothing is downloaded except Go modules: each binary is compiled from a tiny
# wrapper main kept in hack/kube-binaries/<tool>/ (go.mod + go.sum pinned).
#
# Idempotent: when the three binaries exist and the stamp file records the
# same pinned versions and wrapper sources, the script does nothing (and does
# not even need Go). Use --force (or KUBE_TEST_BINARIES_FORCE=1) to rebuild.
#
# Environment:
#   KUBE_API_TEST_DIR  base directory (default: ~/.kubeapitest)
#   GO                 go binary to use (default: `go` on PATH, else /usr/local/go/bin/go)
#   GOMODCACHE         module cache (default: what `go env GOMODCACHE` says)
#   GOPROXY etc.       honoured as usual
set -euo pipefail

# --- pinned versions --------------------------------------------------------
readonly KUBE_VERSION="1.34.2"          # k8s.io/kubernetes v1.34.2, staging modules v0.34.2
readonly ETCD_VERSION="3.6.4"           # go.etcd.io/etcd/server/v3 (what k8s v1.34.2 depends on)
readonly KUBE_BUILD_DATE="2025-11-11T19:00:37Z" # publication time of k8s.io/kubernetes v1.34.2
readonly STAMP_FORMAT="1"
readonly TOOLS=(etcd kubectl kube-apiserver)

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wrappers_dir="${script_dir}/kube-binaries"
log_tag=kube-test-binaries
# shellcheck source=kube-binaries/lib.sh
source "${wrappers_dir}/lib.sh"

usage() {
  cat >&2 <<EOF
usage: $0 [-f|--force] [-h|--help]

Builds kube-apiserver v${KUBE_VERSION}, kubectl v${KUBE_VERSION} and etcd v${ETCD_VERSION}
from Go modules into \${KUBE_API_TEST_DIR:-~/.kubeapitest}/k8s/${KUBE_VERSION}-<os>-<arch>/.
EOF
}

force="${KUBE_TEST_BINARIES_FORCE:-0}"
parse_force_args "$@"

detect_platform

stamp_file="${target_dir}/.kube-test-binaries.stamp"

# --- cache check -------------------------------------------------------------
wrappers_hash="$(wrappers_hash "go.mod go.sum main.go" "${TOOLS[@]}")"

expected_stamp="format=${STAMP_FORMAT}
kubernetes=v${KUBE_VERSION}
etcd=v${ETCD_VERSION}
platform=${goos}/${goarch}
wrappers=${wrappers_hash}"

if [[ "${force}" != "1" ]] && up_to_date "${stamp_file}" "${expected_stamp}" "${TOOLS[@]}"; then
  log "up to date: ${target_dir} (k8s v${KUBE_VERSION}, etcd v${ETCD_VERSION})"
  exit 0
fi

# --- toolchain ---------------------------------------------------------------
use_go_toolchain

# --- build -------------------------------------------------------------------
begin_build "${stamp_file}" .build

for tool in "${TOOLS[@]}"; do
  case "${tool}" in
    etcd) ldflags="-s -w" ;;
    *) ldflags="$(kube_ldflags)" ;;
  esac
  log "building ${tool} (this can take several minutes; kube-apiserver 10+ on 2 cores) ..."
  go_build_tool "${tool}" "${wrappers_dir}/${tool}" . "${ldflags}"
done

finish_build "${stamp_file}" "${expected_stamp}"
