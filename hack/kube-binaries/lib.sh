#!/usr/bin/env bash
# Shared by hack/kube-test-binaries.sh and hack/kube-node-binaries.sh (sourced,
# not run): platform names, the wrapper-source hash and stamp check, the Go
# toolchain lookup and the version ldflags Kubernetes' own build stamps in.
#
# The caller sets, before sourcing: KUBE_VERSION, KUBE_BUILD_DATE and
# log_tag (the prefix of log lines, e.g. "kube-test-binaries").
# shellcheck disable=SC2034

log() { printf '[%s] %s\n' "${log_tag}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# parse_force_args arg...: -f/--force sets force=1 (the caller sets its
# default first), -h/--help prints the caller's usage() and exits; anything
# else is an error.
parse_force_args() {
  while (($# > 0)); do
    case "$1" in
      -f | --force) force=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage; die "unknown argument: $1" ;;
    esac
    shift
  done
}

# Sets goos/goarch as fabric8 kube-api-test names its binary directory, and
# target_dir, that directory:
# ${KUBE_API_TEST_DIR:-~/.kubeapitest}/k8s/<KUBE_VERSION>-<goos>-<goarch>.
# Dies on a platform Go cannot target here.
detect_platform() {
  case "$(uname -s)" in
    Linux) goos=linux ;;
    Darwin) goos=darwin ;;
    *) die "unsupported OS: $(uname -s)" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) goarch=amd64 ;;
    aarch64 | arm64) goarch=arm64 ;;
    ppc64le) goarch=ppc64le ;;
    s390x) goarch=s390x ;;
    *) die "unsupported architecture: $(uname -m)" ;;
  esac
  target_dir="${KUBE_API_TEST_DIR:-${HOME}/.kubeapitest}/k8s/${KUBE_VERSION}-${goos}-${goarch}"
}

sha256_stdin() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 | cut -d' ' -f1
  else
    die "need sha256sum or shasum"
  fi
}

# wrappers_hash "<file names>" module...: sha256 (hex) of the named files of
# each wrapper module under ${wrappers_dir}, concatenated module by module in
# the given order; dies when one is missing. The stamp records it, so editing
# a wrapper's go.mod/go.sum/main.go triggers a rebuild.
wrappers_hash() {
  local names="$1" module f
  shift
  local files=()
  for module in "$@"; do
    for f in ${names}; do
      [[ -f "${wrappers_dir}/${module}/${f}" ]] || die "missing ${wrappers_dir}/${module}/${f}"
      files+=("${wrappers_dir}/${module}/${f}")
    done
  done
  cat "${files[@]}" | sha256_stdin
}

# up_to_date stamp_file expected_stamp tool...: true when the stamp file holds
# exactly expected_stamp and every tool is an executable in ${target_dir}.
up_to_date() {
  local stamp_file="$1" expected="$2" tool
  shift 2
  [[ -f "${stamp_file}" ]] || return 1
  [[ "$(cat "${stamp_file}")" == "${expected}" ]] || return 1
  for tool in "$@"; do
    [[ -x "${target_dir}/${tool}" ]] || return 1
  done
}

# Sets go_bin (GO, else `go` on PATH, else /usr/local/go/bin/go; dies if none)
# and exports the environment of a static, reproducible cross build for
# goos/goarch with the module cache Go itself reports.
use_go_toolchain() {
  go_bin="${GO:-}"
  if [[ -z "${go_bin}" ]]; then
    if command -v go >/dev/null 2>&1; then
      go_bin="$(command -v go)"
    elif [[ -x /usr/local/go/bin/go ]]; then
      go_bin=/usr/local/go/bin/go
    fi
  fi
  if [[ -z "${go_bin}" ]] || ! command -v "${go_bin}" >/dev/null 2>&1; then
    die "Go toolchain not found: install Go >= 1.24 (e.g. the official tarball into /usr/local/go, or Debian's golang-go if recent enough), put 'go' on PATH or set GO=/path/to/go"
  fi
  log "using $("${go_bin}" version) (${go_bin})"

  export CGO_ENABLED=0
  export GOWORK=off
  export GOOS="${goos}" GOARCH="${goarch}"
  export GOFLAGS="${GOFLAGS:+${GOFLAGS} }-mod=mod"
  GOMODCACHE="${GOMODCACHE:-$("${go_bin}" env GOMODCACHE)}"
  export GOMODCACHE
  log "GOMODCACHE=${GOMODCACHE} GOPROXY=$("${go_bin}" env GOPROXY)"
}

# The -ldflags Kubernetes' hack/lib/version.sh stamps into its binaries
# (so `kubectl version`, /version and the kubelet report v${KUBE_VERSION}).
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

# begin_build stamp_file build_dir_prefix: creates target_dir, removes the
# stamp (a build cut short is never taken as up to date) and sets build_dir, a
# fresh directory inside target_dir removed when the script exits.
begin_build() {
  mkdir -p "${target_dir}"
  rm -f "$1"
  build_dir="$(mktemp -d "${target_dir}/$2.XXXXXX")"
  trap 'rm -rf "${build_dir}"' EXIT
}

# go_build_tool tool module_dir package ldflags: builds package (relative to
# module_dir, e.g. "." or an import path) as a static binary into build_dir
# and moves it to ${target_dir}/tool; dies when the build fails.
go_build_tool() {
  local tool="$1" module_dir="$2" package="$3" ldflags="$4" start=${SECONDS}
  (
    cd "${module_dir}"
    "${go_bin}" build -trimpath -buildvcs=false -ldflags "${ldflags}" -o "${build_dir}/${tool}" "${package}"
  ) || die "building ${tool} failed"
  mv -f "${build_dir}/${tool}" "${target_dir}/${tool}"
  log "built ${tool} in $((SECONDS - start))s ($(du -m "${target_dir}/${tool}" | cut -f1) MiB) -> ${target_dir}/${tool}"
}

# finish_build stamp_file expected_stamp: records what was built.
finish_build() {
  printf '%s\n' "$2" >"$1"
  log "done: ${target_dir}"
}
