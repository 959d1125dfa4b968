#!/usr/bin/env bash
# Builds the cowherd container images without a registry or a Docker engine:
#
#   [<registry>/]cowherd-operator:<tag>    runs as 65532:65532, entrypoint java -jar cowherd-operator.jar
#   [<registry>/]cowherd-node-agent:<tag>  runs as root (privileged DaemonSet), with the host tools it runs
#
# Recipe (one recipe, no Dockerfile): each image is three layers, assembled with buildah:
#   1. a Debian root filesystem from mmdebstrap (--variant=essential plus hack/images/<image>.packages),
#      fetched from this machine's configured Debian mirror (the host's Debian sources file);
#   2. a jlink'ed JDK 25 runtime (modules from jdeps on the jars) at /opt/java;
#   3. the jars from `./mvnw package`, the JVM options (hack/images/<image>.jvm-options, a java
#      @argfile) and a JDK 25 AOT cache made by a training run inside the image (-XX:AOTCache).
# Layers 1 and 2 are cached (rootfs keyed by package list, suite, mirror config and mmdebstrap
# options; runtime keyed by JDK version and module list), so a rebuild after a code change only
# redoes layer 3. Each image is also written as a docker-archive tar, loadable by
# `ctr -n k8s.io images import`, to ${COWHERD_IMAGE_DIR:-/var/cache/cowherd/images}.
#
# usage: hack/build-images.sh [--tag TAG] [--registry R] [--push] [--load] [--containerd-address SOCK] [--skip-maven]
#   --tag       image tag (default: appVersion of helm/cowherd/Chart.yaml, which the chart deploys)
#   --registry  image name prefix, e.g. registry.example.com/cowherd (default: none, local names)
#   --push      push both images to the registry (needs --registry; credentials: `buildah login`)
#   --load      import both archives into containerd (namespace k8s.io, where the kubelet looks)
#   --containerd-address  containerd socket for --load (default: /run/containerd/containerd.sock)
#   --skip-maven  use the jars already in operator/target and node-agent/target
# Environment: COWHERD_IMAGE_DIR (archives), COWHERD_IMAGE_CACHE (rootfs and runtime cache,
# default /var/cache/cowherd/image-build), COWHERD_DEBIAN_SOURCES (apt sources file for the root
# filesystems, default: the host's), COWHERD_DEBIAN_SUITE (default: the host's codename),
# COWHERD_AOT=0 (skip the AOT cache), BUILDAH_STORAGE_DRIVER (default: buildah's own, overlay).
# Needs root and the Debian packages mmdebstrap, buildah, containerd (ctr, for --load): hack/install-deps.sh.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

registry=""
tag=""
push=0
load=0
maven=1
containerd_address="/run/containerd/containerd.sock"
while (($# > 0)); do
  case "$1" in
    --registry) registry="${2:?--registry needs a value}"; shift ;;
    --tag) tag="${2:?--tag needs a value}"; shift ;;
    --push) push=1 ;;
    --load) load=1 ;;
    --containerd-address) containerd_address="${2:?--containerd-address needs a value}"; shift ;;
    --skip-maven) maven=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "build-images: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
require_root "hack/build-images.sh"
if ((push)) && [[ -z "$registry" ]]; then
  echo "build-images: --push needs --registry" >&2
  exit 2
fi
for tool in mmdebstrap buildah; do
  command -v "$tool" >/dev/null || { echo "build-images: $tool not found; run hack/install-deps.sh" >&2; exit 1; }
done
if ((load)); then
  command -v ctr >/dev/null || { echo "build-images: ctr not found (Debian package containerd); run hack/install-deps.sh" >&2; exit 1; }
  [[ -S "$containerd_address" ]] || { echo "build-images: --load: no containerd socket at $containerd_address" >&2; exit 1; }
fi

cd "$COWHERD_ROOT"
if [[ -z "$tag" ]]; then
  tag="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' helm/cowherd/Chart.yaml)"
fi
prefix="${registry:+${registry%/}/}"
image_dir="${COWHERD_IMAGE_DIR:-/var/cache/cowherd/images}"
cache="${COWHERD_IMAGE_CACHE:-/var/cache/cowherd/image-build}"
mkdir -p "$image_dir" "$cache"
buildah=(buildah ${BUILDAH_STORAGE_DRIVER:+--storage-driver "$BUILDAH_STORAGE_DRIVER"})
use_jdk25
jdk="$JAVA_HOME"

if ((maven)); then
  started=$SECONDS
  ./mvnw -B -q -pl operator,node-agent -am package -DskipTests
  echo "build-images: ./mvnw package: $((SECONDS - started)) s"
fi

# --- layer 1: Debian root filesystem ------------------------------------------------------------
# shellcheck disable=SC1091
suite="${COWHERD_DEBIAN_SUITE:-$(. /etc/os-release && echo "$VERSION_CODENAME")}"
sources="${COWHERD_DEBIAN_SOURCES:-}"
if [[ -z "$sources" ]]; then
  for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [[ -s "$candidate" ]]; then sources="$candidate"; break; fi
  done
fi
[[ -s "$sources" ]] || { echo "build-images: no Debian apt sources file found; set COWHERD_DEBIAN_SOURCES" >&2; exit 1; }
# The host's apt settings that decide whether its mirror can be fetched from (a snapshot mirror has
# expired Valid-Until dates; a proxy), passed on to mmdebstrap's apt.
apt_opts=(--aptopt='APT::Install-Recommends "false"')
for key in Acquire::Check-Valid-Until Acquire::Check-Date Acquire::http::Proxy Acquire::https::Proxy; do
  value="$(apt-config dump "$key" | sed -n "s|^$key \"\(.*\)\";\$|\1|p")"
  [[ -n "$value" ]] && apt_opts+=(--aptopt="$key \"$value\"")
done
mmdebstrap_opts=(
  --variant=essential
  "${apt_opts[@]}"
  # No documentation, manual pages or translations in an image (copyright files stay).
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  # init-system-helpers (essential) is installed with usrmerge before usr-is-merged can satisfy it;
  # usrmerge pulls in perl (≈50 MiB). Nothing else needs them once usr-is-merged is installed.
  --customize-hook='chroot "$1" dpkg --purge usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl perl libperl5.36 perl-modules-5.36 libgdbm-compat4 libgdbm6'
  # The operator's user (the node agent runs as root).
  --customize-hook='echo "nonroot:x:65532:65532:nonroot:/nonexistent:/usr/sbin/nologin" >> "$1/etc/passwd"'
  --customize-hook='echo "nonroot:x:65532:" >> "$1/etc/group"'
  # The container runtime mounts /dev.
  --skip=output/dev
  --format=tar
)

packages_of() {
  sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "hack/images/$1.packages" | awk '{print $1}' | paste -sd, -
}

# Prints the path of the cached root filesystem tar of image $1, building it when missing.
rootfs_tar() {
  local image="$1" packages key tar
  packages="$(packages_of "$image")"
  key="$( { echo "$suite"; echo "$packages"; cat "$sources"; printf '%s\n' "${mmdebstrap_opts[@]}"; mmdebstrap --version; } \
    | sha256sum | cut -c1-16)"
  tar="$cache/rootfs-$image-$key.tar"
  if [[ ! -s "$tar" ]]; then
    local started=$SECONDS
    echo "build-images: $image: root filesystem ($suite, --variant=essential --include=$packages) with mmdebstrap" >&2
    mmdebstrap -q "${mmdebstrap_opts[@]}" --include="$packages" "$suite" "$tar.part" "$sources" >&2
    mv "$tar.part" "$tar"
    echo "build-images: $image: root filesystem built in $((SECONDS - started)) s" >&2
  fi
  echo "$tar"
}

# --- layer 2: jlink'ed Java runtime --------------------------------------------------------------
# Modules found by jdeps on the jar and every library jar (jdeps on the main jar alone misses what
# only a library uses, e.g. java.net.http of fabric8's JDK HTTP client), plus what jdeps cannot
# see: jdk.crypto.ec (TLS to the API server) and jdk.jcmd (jcmd for `kubectl exec` diagnostics:
# heap, threads, native memory).
modules_of() {
  local module="$1" jar="$2" found
  found="$(cd "$module/target" && "$jdk/bin/jdeps" --multi-release 25 --ignore-missing-deps -q \
    --print-module-deps --class-path 'lib/*' "$jar" lib/*.jar)"
  printf '%s\n' "${found//,/$'\n'}" jdk.crypto.ec jdk.jcmd | sort -u | paste -sd, -
}

# Prints the path of the cached runtime directory for modules $1, building it when missing.
runtime_dir() {
  local modules="$1" key dir
  key="$( { "$jdk/bin/java" -version 2>&1; echo "$modules"; } | sha256sum | cut -c1-16)"
  dir="$cache/jre-$key"
  if [[ ! -x "$dir/bin/java" ]]; then
    local started=$SECONDS
    echo "build-images: jlink runtime ($modules)" >&2
    rm -rf "$dir.part"
    # --generate-cds-archive: the default class-data sharing archive of the JDK's own classes,
    # used by every java run in the image that has no AOT cache (java -version, jcmd).
    "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
      --compress=zip-6 --generate-cds-archive --output "$dir.part" >&2
    # The archive for uncompressed oops serves heaps over 32 GiB only; these heaps are far smaller.
    rm -f "$dir.part/lib/server/classes_nocoops.jsa"
    mv "$dir.part" "$dir"
    echo "build-images: jlink runtime built in $((SECONDS - started)) s" >&2
  fi
  echo "$dir"
}

# Prints the name of a local base image (rootfs + runtime) for image $1, committing it when missing.
base_image() {
  local image="$1" rootfs="$2" runtime="$3" name ctr
  name="localhost/cowherd-build/$image-base:$(basename "$rootfs" .tar | sed 's/.*-//')-$(basename "$runtime" | sed 's/^jre-//')"
  if ! "${buildah[@]}" inspect --type image "$name" >/dev/null 2>&1; then
    ctr="$("${buildah[@]}" from scratch)"
    "${buildah[@]}" add --quiet "$ctr" "$rootfs" / >&2
    "${buildah[@]}" commit --quiet --rm "$ctr" "$name.rootfs" >/dev/null
    ctr="$("${buildah[@]}" from "$name.rootfs")"
    "${buildah[@]}" copy --quiet "$ctr" "$runtime" /opt/java >&2
    "${buildah[@]}" commit --quiet --rm "$ctr" "$name" >/dev/null
    "${buildah[@]}" rmi "$name.rootfs" >/dev/null
    # Base images of earlier package lists or runtimes are no longer needed (their layers are, while
    # an older image still uses them: buildah keeps those and removes only the name).
    "${buildah[@]}" images --noheading --format '{{.Name}}:{{.Tag}}' --filter "reference=localhost/cowherd-build/$image-base" \
      | { grep -vxF "$name" || true; } | while read -r stale; do "${buildah[@]}" rmi "$stale" >/dev/null 2>&1 || true; done
  fi
  echo "$name"
}

# --- layer 3: the application --------------------------------------------------------------------
# build IMAGE MODULE JAR USER TITLE DESCRIPTION PORT AOT_TRAINING_ARGS...
build() {
  local image="$1" module="$2" jar="$3" user="$4" title="$5" description="$6" port="$7"
  shift 7
  local started=$SECONDS name="${prefix}$image:${tag}" rootfs runtime base ctr archive
  [[ -s "$module/target/$jar" ]] || { echo "build-images: $module/target/$jar missing: run without --skip-maven" >&2; exit 1; }
  rootfs="$(rootfs_tar "$image")"
  runtime="$(runtime_dir "$(modules_of "$module" "$jar")")"
  base="$(base_image "$image" "$rootfs" "$runtime")"
  ctr="$("${buildah[@]}" from --pull-never "$base")"
  "${buildah[@]}" copy --quiet "$ctr" "$module/target/lib" /opt/cowherd/lib >/dev/null
  "${buildah[@]}" copy --quiet "$ctr" "$module/target/$jar" "/opt/cowherd/$jar" >/dev/null
  "${buildah[@]}" copy --quiet "$ctr" "hack/images/$image.jvm-options" /opt/cowherd/jvm-options >/dev/null
  local java=(/opt/java/bin/java @/opt/cowherd/jvm-options)
  if [[ "${COWHERD_AOT:-1}" != 0 ]]; then
    # JDK 25 AOT cache (JEP 483/514/515): a training run records the classes loaded and linked and
    # the method profiles of a real start, and the JVM writes them to /opt/cowherd/app.aot at exit;
    # the entrypoint maps it with -XX:AOTCache. The run uses the entrypoint's JVM, options and class
    # path (the JVM ignores a cache made with others). It starts the program for real against an API
    # server address where nothing listens (127.0.0.1:1): command line, logging, the Kubernetes
    # client, Jackson, the operator SDK, the HTTP endpoints and the first failing requests, the path
    # a pod takes before it reaches the cluster; after $aot_training_seconds s `timeout` stops it with SIGTERM.
    local aot_training_seconds=12
    # runc with its own PID, mount and network namespaces (--network=none: only a loopback; no CNI
    # bridge, route or sysctl is created on the host) so the run sees none of the host's processes.
    "${buildah[@]}" run --isolation=oci --network=none --user "$user" \
      --env KUBERNETES_SERVICE_HOST=127.0.0.1 --env KUBERNETES_SERVICE_PORT=1 "$ctr" -- \
      timeout -s TERM "$aot_training_seconds" "${java[@]}" -XX:AOTCacheOutput=/tmp/app.aot \
      -jar "/opt/cowherd/$jar" "$@" >"$cache/aot-training-$image.log" 2>&1 || true
    "${buildah[@]}" run --isolation=oci --network=none "$ctr" -- sh -c \
      'test -s /tmp/app.aot && mv /tmp/app.aot /opt/cowherd/app.aot && chmod 0444 /opt/cowherd/app.aot && rm -rf /tmp/* /tmp/.[!.]*' \
      || { echo "build-images: $image: the AOT training run wrote no cache; see $cache/aot-training-$image.log" >&2; exit 1; }
    java+=(-XX:AOTCache=/opt/cowherd/app.aot)
  fi
  java+=(-jar "/opt/cowherd/$jar")
  local entrypoint
  entrypoint="[$(printf '"%s",' "${java[@]}" | sed 's/,$//')]"
  "${buildah[@]}" config --entrypoint "$entrypoint" --cmd '' --user "$user" --workingdir / \
    --env JAVA_HOME=/opt/java --env PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --port "$port" \
    --label org.opencontainers.image.title="$title" \
    --label org.opencontainers.image.description="$description" \
    --label org.opencontainers.image.licenses=Apache-2.0 \
    --label org.opencontainers.image.version="$tag" \
    --label org.opencontainers.image.revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    "$ctr"
  local previous
  previous="$("${buildah[@]}" images --quiet --no-trunc "$name" 2>/dev/null || true)"
  "${buildah[@]}" commit --quiet --rm --format docker "$ctr" "$name" >/dev/null
  # The previous build of this name is now untagged; remove it (layers still used stay).
  if [[ -n "$previous" && "$previous" != "$("${buildah[@]}" images --quiet --no-trunc "$name")" ]]; then
    "${buildah[@]}" rmi "$previous" >/dev/null 2>&1 || true
  fi
  archive="$image_dir/$image-$tag.tar"
  rm -f "$archive.part"
  "${buildah[@]}" push --quiet "$name" "docker-archive:$archive.part:$name" >/dev/null
  mv "$archive.part" "$archive"
  local seconds=$((SECONDS - started))
  echo "build-images: $name: $(du -m "$archive" | cut -f1) MiB, built in $seconds s -> $archive"
  if ((load)); then
    ctr --address "$containerd_address" -n k8s.io images import "$archive" >/dev/null
    echo "build-images: $name: imported into containerd ($containerd_address, namespace k8s.io)"
  fi
  if ((push)); then
    "${buildah[@]}" push "$name" "docker://$name"
  fi
}

# The trailing arguments are those of the AOT training run (see build).
build cowherd-operator operator cowherd-operator.jar 65532:65532 cowherd-operator \
  "cowherd operator: reconciles AoeBootPools into AoeBootSlots, keeps the node agent DaemonSet" 8080 \
  --operator-namespace=default --http-port=8080 --metrics
build cowherd-node-agent node-agent cowherd-node-agent.jar 0:0 cowherd-node-agent \
  "cowherd node agent: COW store per slot and a supervised vblade exporter" 9810 \
  --node-name=aot-training --image-root=/tmp/aot-training/images --state-dir=/tmp/aot-training/state \
  --lease-namespace=default --no-ingress-guard --http-port=9810
echo "build-images: install with: helm install cowherd ./helm/cowherd -n cowherd-system --create-namespace${registry:+ --set image.registry=${registry%/}} --set image.tag=$tag"
