#!/usr/bin/env bash
# README's demo command: builds cowherd, starts a local control plane (kube-apiserver + etcd), the
# operator and one node agent on this host, applies examples/pool.yaml (3 replicas) on a fresh
# ext4 origin image, waits for the pool to be Ready, and proves with an AoE initiator in a separate
# network namespace that every target serves the image byte for byte. Then it cleans up, or with
# --keep keeps running until Ctrl-C. Needs root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
require_root "hack/demo.sh"
"$here/install-deps.sh"
"$here/kube-test-binaries.sh"
use_jdk25
cd "$COWHERD_ROOT"
echo "cowherd demo: building (./mvnw package, tests skipped)..." >&2
./mvnw -q -B -ntp -DskipTests package
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -cp "e2e/target/classes:$(cat e2e/target/classpath.txt)" \
  io.cowherd.e2e.demo.Demo --repo "$COWHERD_ROOT" "$@"
