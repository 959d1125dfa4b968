#!/usr/bin/env bash
# Issue 11's boot-storm benchmark, outside the test suite: one recorded client boot (the committed
# trace e2e/src/main/resources/bench/boot-trace.csv) replayed by N concurrent AoE initiators against
# N cowherd reflink slots and four floor arms: N plain `vblade -s` exporters of `cp --reflink` copies,
# the same with vblade -d (O_DIRECT), the floor beside one cowherd slot (the agent's NIC parts) and the
# floor with its exporters started through `setsid --fork` as the agent starts them; page cache per
# arm from fincore. Prints one table (figure, cowherd,
# floor, ratio, load average) and writes it as JSON. Needs root.
#   hack/bench-storm.sh [--clients 1,16,64 (default; add ,255 for ≈10 min more)] [--rounds 1] [--trace file] [--out target/bench-storm/results.json] [--exporter-links shared|macvlan] [--no-build]
#   hack/bench-storm.sh --capture [--no-build]   # re-record the trace from a real QEMU client boot
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
require_root "hack/bench-storm.sh"
use_jdk25
cd "$COWHERD_ROOT"
args=()
jvm=()
build=1
capture=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --capture) capture=1; shift ;;
    --clients|--rounds|--trace|--out|--work) args+=("$1" "$2"); shift 2 ;;
    --exporter-links) jvm+=("-Dcowherd.lab.exporterLinks=$2"); shift 2 ;;  # the cowherd arm's agent placement
    *) echo "hack/bench-storm.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_prepare bench-storm "$build"
cp="e2e/target/classes:$(cat e2e/target/classpath.txt)"
if [[ $capture == 1 ]]; then
  exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" \
    io.cowherd.e2e.bench.BootTraceCapture e2e/src/main/resources/bench/boot-trace.csv target/bench-storm/capture
fi
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dcowherd.lab.image-jvm-options=true "${jvm[@]}" -cp "$cp" \
  io.cowherd.e2e.bench.BootStormBenchmark --work target/bench-storm "${args[@]}"
