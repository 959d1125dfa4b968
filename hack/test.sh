#!/usr/bin/env bash
# README's test command: installs what the tests need, builds the pinned Kubernetes test binaries
# and the node binaries + helm of the real test cluster (cached), then runs every test: unit, API server, host, end-to-end (and kernel, where present).
# Needs root: the host and e2e tests use loop devices, mounts, network namespaces and vblade.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
require_root "hack/test.sh"
"$here/install-deps.sh"
"$here/kube-test-binaries.sh"
"$here/kube-node-binaries.sh"
use_jdk25
cd "$COWHERD_ROOT"
./mvnw -B -ntp -Pall-tests verify "$@"
