#!/usr/bin/env bash
# Runs only the kernel tests (e2e/**/*KernelTest.java, JUnit tag "kernel"): each boots Debian's
# kernel under QEMU through hack/vm/run-in-vm.sh (docs/kernel-tests.md). Builds what they need
# (the jars of every module, the e2e test classes) without running the other tests.
#   hack/kernel-tests.sh [MAVEN ARGS...]     e.g. -Dit.test=NodeAgentKernelTest for one class
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
require_root "hack/kernel-tests.sh"
"$here/vm/prepare.sh" >/dev/null
"$here/kube-test-binaries.sh"
use_jdk25
cd "$COWHERD_ROOT"
./mvnw -B -ntp -Pall-tests -pl e2e -am verify \
  -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test='*KernelTest' "$@"
