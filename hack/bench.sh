#!/usr/bin/env bash
# Issue 11's benchmark, outside the test suite: cowherd against its floor (the seed recipe's
# `cp --reflink=always` + `vblade -s &` per slot), interleaved in one run on one lab (local control
# plane, operator and agent JVMs, loop-mounted XFS, veth/bridge segment in namespaces, cowherd's AoE
# initiator), and the idle cost at N Serving slots (agent CPU, API writes per minute by resource).
# Prints one table (figure, cowherd, floor, ratio, load average) and writes it as JSON.
# Needs root.
#   hack/bench.sh [--slots 64 (default; a comma list, e.g. 64,255)] [--rounds 3] [--idle 60] [--settle 70] [--restart yes|no] [--pools 50]
#     [--aot-dir target/bench/aot] [--out target/bench/results.json] [--no-build]
# The agent and operator JVMs run with the images' own options (hack/images/*.jvm-options).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
require_root "hack/bench.sh"
use_jdk25
cd "$COWHERD_ROOT"
args=()
build=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --slots|--rounds|--idle|--settle|--out|--work|--aot-dir|--restart|--pools) args+=("$1" "$2"); shift 2 ;;
    *) echo "hack/bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_prepare bench "$build"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dcowherd.lab.image-jvm-options=true \
  -cp "e2e/target/classes:$(cat e2e/target/classpath.txt)" \
  io.cowherd.e2e.bench.ScaleBenchmark --out target/bench/results.json --work target/bench "${args[@]}"
