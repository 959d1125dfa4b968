#!/usr/bin/env bash
# Regenerates the CRDs from the Java model and copies them to crds/yaml and helm/cowherd/files/crds
# (the chart renders the latter as templates, so helm upgrade updates them: see docs/install.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -pl crds process-classes
for dir in crds/yaml helm/cowherd/files/crds; do
  mkdir -p "$dir"
  cp crds/target/classes/META-INF/fabric8/*.yml "$dir/"
done
