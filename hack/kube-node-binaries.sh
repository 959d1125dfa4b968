#!/usr/bin/env bash
# Builds the pinned binaries of a real single-node test cluster from the Go
# module proxy, next to the ones hack/kube-test-binaries.sh builds:
#
#   ${KUBE_API_TEST_DIR:-~/.kubeapitest}/k8s/<k8s version>-<os>-<arch>/
#       {kubelet,kube-controller-manager,kube-scheduler,helm}
#
# Nothing is downloaded except Go modules. Upstream's own main packages are
# built unchanged from wrapper modules that only pin them:
#   hack/kube-binaries/kube-node/  k8s.io/kubernetes v1.34.2 cmd/{kubelet,
#                                  kube-controller-manager,kube-scheduler}
#                                  (same `replace` block as kube-apiserver)
#   hack/kube-binaries/helm/       helm.sh/helm/v3 cmd/helm
# Each go.mod names its mains in a `tool` block (Go >= 1.24).
#
# Idempotent like hack/kube-test-binaries.sh: when the binaries exist and the
# stamp records the same versions and wrapper sources, nothing is done (Go is
# not even needed). --force (or KUBE_NODE_BINARIES_FORCE=1) rebuilds.
#
# Environment: KUBE_API_TEST_DIR, GO, GOMODCACHE, GOPROXY as for
# hack/kube-test-binaries.sh.
set -euo pipefail

# --- pinned versions --------------------------------------------------------
readonly KUBE_VERSION="1.34.2"          # k8s.io/kubernetes v1.34.2, staging modules v0.34.2
readonly KUBE_BUILD_DATE="2025-11-11T19:00:37Z" # publication time of k8s.io/kubernetes v1.34.2
readonly HELM_VERSION="3.19.5"          # helm.sh/helm/v3 (built against k8s.io/* v0.34.2)
readonly STAMP_FORMAT="1"
# binary name -> wrapper module directory and Go package
readonly KUBE_TOOLS=(kubelet kube-controller-manager kube-scheduler)
readonly ALL_TOOLS=("${KUBE_TOOLS[@]}" helm)

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wrappers_dir="${script_dir}/kube-binaries"
log_tag=kube-node-binaries
# shellcheck source=kube-binaries/lib.sh
source "${wrappers_dir}/lib.sh"

usage() {
  cat >&2 <<EOF
usage: $0 [-f|--force] [-h|--help]

Builds kubelet, kube-controller-manager, kube-scheduler v${KUBE_VERSION} and helm v${HELM_VERSION}
from Go modules into \${KUBE_API_TEST_DIR:-~/.kubeapitest}/k8s/${KUBE_VERSION}-<os>-<arch>/.
EOF
}

force="${KUBE_NODE_BINARIES_FORCE:-0}"
parse_force_args "$@"

detect_platform
[[ "${goos}" == linux ]] || die "the node binaries (kubelet) are built for Linux only, not $(uname -s)"

stamp_file="${target_dir}/.kube-node-binaries.stamp"

module_of() {
  case "$1" in
    helm) printf '%s' "${wrappers_dir}/helm" ;;
    *) printf '%s' "${wrappers_dir}/kube-node" ;;
  esac
}
package_of() {
  case "$1" in
    helm) printf '%s' "helm.sh/helm/v3/cmd/helm" ;;
    *) printf '%s' "k8s.io/kubernetes/cmd/$1" ;;
  esac
}

wrappers_hash="$(wrappers_hash "go.mod go.sum" kube-node helm)"

expected_stamp="format=${STAMP_FORMAT}
kubernetes=v${KUBE_VERSION}
helm=v${HELM_VERSION}
platform=${goos}/${goarch}
wrappers=${wrappers_hash}"

if [[ "${force}" != "1" ]] && up_to_date "${stamp_file}" "${expected_stamp}" "${ALL_TOOLS[@]}"; then
  log "up to date: ${target_dir} (k8s v${KUBE_VERSION}, helm v${HELM_VERSION})"
  exit 0
fi

# --- toolchain ---------------------------------------------------------------
use_go_toolchain

# --- build -------------------------------------------------------------------
# What helm's Makefile stamps in (version, and the Kubernetes version its lint
# and capabilities defaults report: that of its k8s.io/client-go, v0.34.2).
helm_ldflags() {
  local flags="-s -w"
  flags+=" -X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION}"
  flags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  flags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1"
  flags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=34"
  flags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1"
  flags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=34"
  printf '%s' "${flags}"
}

begin_build "${stamp_file}" .build-node

for tool in "${ALL_TOOLS[@]}"; do
  case "${tool}" in
    helm) ldflags="$(helm_ldflags)" ;;
    *) ldflags="$(kube_ldflags)" ;;
  esac
  log "building ${tool} (several minutes each on 2 cores with a cold build cache) ..."
  go_build_tool "${tool}" "$(module_of "${tool}")" "$(package_of "${tool}")" "${ldflags}"
done

finish_build "${stamp_file}" "${expected_stamp}"
