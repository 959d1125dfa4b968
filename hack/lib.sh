#!/usr/bin/env bash
# Shared settings for cowherd's hack/ scripts. Sourced, not run.
# shellcheck disable=SC2034
COWHERD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUBE_VERSION="1.34.2"

# JDK 25 (Temurin): the build targets Java 25 (java.lang.foreign raw sockets).
use_jdk25() {
  local candidate
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] \
    && "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
    export JAVA_HOME
    return 0
  fi
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk /usr/lib/jvm/java-25-openjdk-amd64; do
    if [[ -x "$candidate/bin/java" ]]; then
      export JAVA_HOME="$candidate"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "cowherd: JDK 25 not found (looked for /usr/lib/jvm/temurin-25-jdk-amd64); install Temurin 25 or set JAVA_HOME" >&2
  return 1
}

kube_bin_dir() {
  echo "${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/k8s/${KUBE_VERSION}-linux-amd64"
}

require_root() {
  if [[ "$(id -u)" != 0 ]]; then
    echo "cowherd: $1 needs root (loop devices, network namespaces, vblade raw sockets)" >&2
    return 1
  fi
}

# What a benchmark needs before its java runs (hack/bench.sh, hack/bench-storm.sh): the suite's
# packages (as hack/test.sh), the Kubernetes test binaries when missing, and, when $2 is 1, the jars.
#   bench_prepare <name for messages> <build: 1 or 0>
bench_prepare() {
  "$COWHERD_ROOT/hack/install-deps.sh"
  if [[ ! -x "$(kube_bin_dir)/kube-apiserver" ]]; then
    "$COWHERD_ROOT/hack/kube-test-binaries.sh"
  fi
  if [[ "$2" == 1 ]]; then
    echo "cowherd $1: building (./mvnw package, tests skipped)..." >&2
    (cd "$COWHERD_ROOT" && ./mvnw -q -B -ntp -DskipTests package)
  fi
}
