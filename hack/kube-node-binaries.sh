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

log() { printf '[kube-node-binaries] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  cat >&2 <<EOF
usage: $0 [-f|--force] [-h|--help]

Builds kubelet, kube-controller-manager, kube-scheduler v${KUBE_VERSION} and helm v${HELM_VERSION}
from Go modules into \${KUBE_API_TEST_DIR:-~/.kubeapitest}/k8s/${KUBE_VERSION}-<os>-<arch>/.
EOF
}

force="${KUBE_NODE_BINARIES_FORCE:-0}"
while (($# > 0)); do
  case "$1" in
    -f | --force) force=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
  esac
  shift
done

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wrappers_dir="${script_dir}/kube-binaries"

case "$(uname -s)" in
  Linux) goos=linux ;;
  *) die "the node binaries (kubelet) are built for Linux only, not $(uname -s)" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) goarch=amd64 ;;
  aarch64 | arm64) goarch=arm64 ;;
  *) die "unsupported architecture: $(uname -m)" ;;
esac

base_dir="${KUBE_API_TEST_DIR:-${HOME}/.kubeapitest}"
target_dir="${base_dir}/k8s/${KUBE_VERSION}-${goos}-${goarch}"
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

wrapper_files=()
for module in kube-node helm; do
  for f in go.mod go.sum; do
    [[ -f "${wrappers_dir}/${module}/${f}" ]] || die "missing ${wrappers_dir}/${module}/${f}"
    wrapper_files+=("${wrappers_dir}/${module}/${f}")
  done
done
wrappers_hash="$(cat "${wrapper_files[@]}" | sha256sum | cut -d' ' -f1)"

expected_stamp="format=${STAMP_FORMAT}
kubernetes=v${KUBE_VERSION}
helm=v${HELM_VERSION}
platform=${goos}/${goarch}
wrappers=${wrappers_hash}"

up_to_date() {
  local tool
  [[ -f "${stamp_file}" ]] || return 1
  [[ "$(cat "${stamp_file}")" == "${expected_stamp}" ]] || return 1
  for tool in "${ALL_TOOLS[@]}"; do
    [[ -x "${target_dir}/${tool}" ]] || return 1
  done
}

if [[ "${force}" != "1" ]] && up_to_date; then
  log "up to date: ${target_dir} (k8s v${KUBE_VERSION}, helm v${HELM_VERSION})"
  exit 0
fi

# --- toolchain ---------------------------------------------------------------
go_bin="${GO:-}"
if [[ -z "${go_bin}" ]]; then
  if command -v go >/dev/null 2>&1; then
    go_bin="$(command -v go)"
  elif [[ -x /usr/local/go/bin/go ]]; then
    go_bin=/usr/local/go/bin/go
  fi
fi
if [[ -z "${go_bin}" ]] || ! command -v "${go_bin}" >/dev/null 2>&1; then
  die "Go toolchain not found: install Go >= 1.24, put 'go' on PATH or set GO=/path/to/go"
fi
log "using $("${go_bin}" version) (${go_bin})"

export CGO_ENABLED=0
export GOWORK=off
export GOOS="${goos}" GOARCH="${goarch}"
export GOFLAGS="${GOFLAGS:+${GOFLAGS} }-mod=mod"
GOMODCACHE="${GOMODCACHE:-$("${go_bin}" env GOMODCACHE)}"
export GOMODCACHE

# --- build -------------------------------------------------------------------
kube_ldflags() {
  local major minor pkg flags="-s -w"
  major="${KUBE_VERSION%%.*}"
  minor="${KUBE_VERSION#*.}"
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X ${pkg}.gitMajor=${major}"
    flags+=" -X ${pkg}.gitMinor=${minor}"
    flags+=" -X ${pkg}.gitVersion=v${KUBE_VERSION}"
    flags+=" -X ${pkg}.gitCommit="
    flags+=" -X ${pkg}.gitTreeState=clean"
    flags+=" -X ${pkg}.buildDate=${KUBE_BUILD_DATE}"
  done
  printf '%s' "${flags}"
}

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

mkdir -p "${target_dir}"
rm -f "${stamp_file}"
build_dir="$(mktemp -d "${target_dir}/.build-node.XXXXXX")"
cleanup() { rm -rf "${build_dir}"; }
trap cleanup EXIT

for tool in "${ALL_TOOLS[@]}"; do
  case "${tool}" in
    helm) ldflags="$(helm_ldflags)" ;;
    *) ldflags="$(kube_ldflags)" ;;
  esac
  log "building ${tool} (several minutes each on 2 cores with a cold build cache) ..."
  start=${SECONDS}
  (
    cd "$(module_of "${tool}")"
    "${go_bin}" build -trimpath -buildvcs=false -ldflags "${ldflags}" -o "${build_dir}/${tool}" "$(package_of "${tool}")"
  ) || die "building ${tool} failed"
  mv -f "${build_dir}/${tool}" "${target_dir}/${tool}"
  log "built ${tool} in $((SECONDS - start))s ($(du -m "${target_dir}/${tool}" | cut -f1) MiB) -> ${target_dir}/${tool}"
done

printf '%s\n' "${expected_stamp}" >"${stamp_file}"
log "done: ${target_dir}"
