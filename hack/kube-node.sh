#!/usr/bin/env bash
# A throwaway single-node Kubernetes 1.34.2 cluster on this host, to try cowherd's Helm chart by hand
# (docs/install.md, "Try it on a throwaway single-node cluster"). The cluster is the end-to-end tests'
# KubeNode (docs/kube-node-tests.md): etcd, kube-apiserver, controller-manager and scheduler on loopback;
# containerd and kubelet in their own network and mount namespace. With it: a boot network (a veth in the
# node's namespace, a pool's spec.interface) and a loop-mounted XFS file holding an image root and a state
# dir. Prints KUBECONFIG, the kubectl/helm paths, the containerd socket for `hack/build-images.sh --load`
# and the `helm install` values this cluster needs, then keeps running until Ctrl-C, SIGTERM or end of
# standard input, and removes everything it made (prints what is left, if anything). Needs root.
#
# usage: hack/kube-node.sh [--work-dir DIR] [--xfs-gib N] [--no-boot-network] [--import TAR]... [--skip-build]
#   --skip-build  reuse the e2e classes already built (no install-deps/binaries/Maven steps)
set -euo pipefail
for arg in "$@"; do
  if [[ "$arg" == -h || "$arg" == --help ]]; then
    cat <<'USAGE'
usage: hack/kube-node.sh [--work-dir DIR] [--xfs-gib N] [--no-boot-network] [--import TAR]... [--skip-build]
  --work-dir DIR     cluster state, logs, kubeconfig and the XFS file (default: a new /var/tmp/cowherd-kube-node-* dir)
  --xfs-gib N        size of the sparse XFS (reflink) file holding the image root and state dir; 0: none (default 4)
  --no-boot-network  no boot network (veth in the node's namespace for a pool's spec.interface)
  --import TAR       image tar to import into the node's containerd (repeatable; one tar per option)
  --skip-build       reuse the e2e classes already built (no install-deps/binaries/Maven steps)
Needs root. See docs/install.md, "Try it on a throwaway single-node cluster".
USAGE
    exit 0
  fi
done
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
require_root "hack/kube-node.sh"
build=1
args=()
for arg in "$@"; do
  if [[ "$arg" == --skip-build ]]; then build=0; else args+=("$arg"); fi
done
use_jdk25
cd "$COWHERD_ROOT"
if [[ "$build" == 1 ]]; then
  "$here/install-deps.sh"
  "$here/kube-test-binaries.sh"
  "$here/kube-node-binaries.sh"
  echo "kube-node: building the e2e module (./mvnw -pl e2e -am install, tests skipped)..." >&2
  ./mvnw -q -B -ntp -pl e2e -am install -DskipTests
fi
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -cp "e2e/target/classes:$(cat e2e/target/classpath.txt)" \
  io.cowherd.e2e.demo.KubeNodeMain "${args[@]}"
