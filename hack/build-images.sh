#!/usr/bin/env bash
# Builds the cowherd container images from the jars `./mvnw package` produces:
#
#   <registry>/cowherd-operator:<tag>    (operator/Dockerfile, context operator/)
#   <registry>/cowherd-node-agent:<tag>  (node-agent/Dockerfile, context node-agent/)
#
# Needs a container engine: docker (with a running daemon), podman or buildah. The project's own CI
# machines have none, so CI checks only what needs no engine (ContainerImagesTest in e2e/: the files
# the Dockerfiles copy exist after `./mvnw package`, the agent image carries the tools it runs).
#
# usage: hack/build-images.sh [--registry REGISTRY] [--tag TAG] [--push] [--skip-maven]
#   --registry  image name prefix, e.g. registry.example.com/cowherd (default: none, local names)
#   --tag       image tag (default: appVersion of helm/cowherd/Chart.yaml, which the chart deploys)
#   --push      push both images after building them
#   --skip-maven  use the jars already in operator/target and node-agent/target
# Environment: CONTAINER_ENGINE=docker|podman|buildah picks the engine (default: the first one found).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

registry=""
tag=""
push=0
maven=1
while (($# > 0)); do
  case "$1" in
    --registry) registry="${2:?--registry needs a value}"; shift ;;
    --tag) tag="${2:?--tag needs a value}"; shift ;;
    --push) push=1 ;;
    --skip-maven) maven=0 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "build-images: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

cd "$COWHERD_ROOT"
if [[ -z "$tag" ]]; then
  tag="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' helm/cowherd/Chart.yaml)"
fi
prefix="${registry:+${registry%/}/}"

engine="${CONTAINER_ENGINE:-}"
if [[ -z "$engine" ]]; then
  for candidate in docker podman buildah; do
    if command -v "$candidate" >/dev/null 2>&1; then
      engine="$candidate"
      break
    fi
  done
fi
if [[ -z "$engine" ]]; then
  echo "build-images: no container engine found (docker, podman or buildah); install one or set CONTAINER_ENGINE" >&2
  exit 1
fi
if [[ "$engine" == docker ]] && ! docker info >/dev/null 2>&1; then
  echo "build-images: docker is installed but its daemon is not reachable (docker info failed)" >&2
  exit 1
fi

if ((maven)); then
  use_jdk25
  ./mvnw -B -q -pl operator,node-agent -am package -DskipTests
fi

build() {
  local image="$1" context="$2"
  echo "build-images: $image from $context/Dockerfile ($engine)"
  if [[ "$engine" == buildah ]]; then
    buildah bud --layers -t "$image" -f "$context/Dockerfile" "$context"
  else
    "$engine" build -t "$image" -f "$context/Dockerfile" "$context"
  fi
}

operator_image="${prefix}cowherd-operator:${tag}"
agent_image="${prefix}cowherd-node-agent:${tag}"
build "$operator_image" operator
build "$agent_image" node-agent
if ((push)); then
  "$engine" push "$operator_image"
  "$engine" push "$agent_image"
fi
echo "build-images: built $operator_image and $agent_image"
echo "build-images: install with: helm install cowherd ./helm/cowherd -n cowherd-system --create-namespace${registry:+ --set image.registry=${registry%/}} --set image.tag=$tag"
