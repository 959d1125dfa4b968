#!/usr/bin/env bash
# Makes the cowherd test guest bootable and prints the cache directory that holds it:
#   <cache>/vmlinux          uncompressed kernel, booted through its PVH entry (no decompression)
#   <cache>/initramfs.cpio   static busybox + /init (hack/vm/initramfs-init) + virtio/9p modules
#   <cache>/kernel-release   the guest's `uname -r`; its modules come from the host's /lib/modules
# Installs the Debian packages it needs when they are missing (Debian's kernel, QEMU, a static
# busybox). Idempotent: a second run only checks and prints. The cache is keyed by kernel release,
# and the initramfs is rebuilt when its inputs change.
#
# Environment: COWHERD_VM_CACHE (default /var/cache/cowherd-vm), COWHERD_VM_KERNEL (a release
# under /boot to use instead of the newest one).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${COWHERD_VM_CACHE:-/var/cache/cowherd-vm}"

if [[ "$(id -u)" != 0 ]]; then
  echo "cowherd-vm: hack/vm/prepare.sh needs root (apt-get, reading /boot)" >&2
  exit 1
fi

# package -> a file that shows it is installed
declare -A needs=(
  [qemu-system-x86]=/usr/bin/qemu-system-x86_64
  [busybox-static]=/bin/busybox
  [xz-utils]=/usr/bin/xz
  [cpio]=/usr/bin/cpio
  [kmod]=/usr/bin/kmod
  [dmsetup]=/usr/sbin/dmsetup
  [iproute2]=/usr/sbin/ip
  [util-linux]=/usr/sbin/losetup
  [vblade]=/usr/sbin/vblade
)

newest_kernel() {
  local image release best=""
  for image in /boot/vmlinuz-*; do
    [[ -e "$image" ]] || continue
    release="${image#/boot/vmlinuz-}"
    [[ -f "/lib/modules/$release/modules.dep" ]] || continue
    best="$(printf '%s\n%s\n' "$best" "$release" | sed '/^$/d' | sort -V | tail -n 1)"
  done
  echo "$best"
}

static_busybox() {
  # The initramfs has no libc: it needs busybox-static's /bin/busybox, not the dynamic `busybox`.
  [[ -x /bin/busybox ]] && dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for package in "${!needs[@]}"; do
  [[ -e "${needs[$package]}" ]] || missing+=("$package")
done
if ! static_busybox; then
  missing+=(busybox-static)
fi
release="${COWHERD_VM_KERNEL:-$(newest_kernel)}"
if [[ -z "$release" ]]; then
  missing+=(linux-image-amd64)
fi
if (( ${#missing[@]} > 0 )); then
  echo "cowherd-vm: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "cowherd-vm: apt-get install ${missing[*]} failed; the kernel tests need these packages" >&2
    exit 1
  fi
  release="${COWHERD_VM_KERNEL:-$(newest_kernel)}"
fi
if [[ -z "$release" || ! -f "/boot/vmlinuz-$release" || ! -f "/lib/modules/$release/modules.dep" ]]; then
  echo "cowherd-vm: no Debian kernel with modules found (/boot/vmlinuz-*, /lib/modules/*): apt-get install linux-image-amd64" >&2
  exit 1
fi
if ! static_busybox; then
  echo "cowherd-vm: /bin/busybox is not the static busybox: apt-get install busybox-static" >&2
  exit 1
fi

cache="$cache_root/$release"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

if [[ ! -s "$cache/vmlinux" || "/boot/vmlinuz-$release" -nt "$cache/vmlinux" ]]; then
  echo "cowherd-vm: extracting vmlinux from /boot/vmlinuz-$release" >&2
  "$here/extract-vmlinux.sh" "/boot/vmlinuz-$release" "$cache/vmlinux"
fi
if [[ "$(cat "$cache/kernel-release" 2>/dev/null)" != "$release" ]]; then
  echo "$release" >"$cache/kernel-release.new" && mv -f "$cache/kernel-release.new" "$cache/kernel-release"
fi

# The modules that mounting the 9p root needs, in load order (modprobe resolves dependencies).
modules=()
while read -r verb path _; do
  [[ "$verb" == insmod ]] || continue
  for seen in "${modules[@]}"; do
    [[ "$seen" == "$path" ]] && continue 2
  done
  modules+=("$path")
done < <(for m in virtio_pci 9pnet_virtio 9p; do modprobe -S "$release" --show-depends "$m"; done)

# Keyed by content only (not by the checkout's path), so every checkout shares one initramfs.
key="$(
  {
    cat "$here/initramfs-init" /bin/busybox
    printf '%s\n' "${modules[@]}"
    cat "${modules[@]}"
  } | sha256sum | cut -d' ' -f1
)"
if [[ ! -s "$cache/initramfs.cpio" || "$(cat "$cache/initramfs.key" 2>/dev/null)" != "$key" ]]; then
  echo "cowherd-vm: building the initramfs for $release" >&2
  staging="$(mktemp -d)"
  trap 'rm -rf "$staging"' EXIT
  mkdir -p "$staging/bin" "$staging/modules" "$staging/dev"
  cp /bin/busybox "$staging/bin/busybox"
  install -m 0755 "$here/initramfs-init" "$staging/init"
  for path in "${modules[@]}"; do
    name="$(basename "$path")"
    case "$name" in
      *.ko.xz) xz -dc "$path" >"$staging/modules/${name%.xz}"; name="${name%.xz}" ;;
      *.ko.zst) zstd -qdc "$path" >"$staging/modules/${name%.zst}"; name="${name%.zst}" ;;
      *) cp "$path" "$staging/modules/$name" ;;
    esac
    echo "$name" >>"$staging/modules/order"
  done
  (cd "$staging" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) >"$cache/initramfs.cpio.new"
  mv -f "$cache/initramfs.cpio.new" "$cache/initramfs.cpio"
  echo "$key" >"$cache/initramfs.key"
fi
echo "$cache"
