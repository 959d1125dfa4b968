#!/usr/bin/env bash
# Builds a bootable origin image for diskless AoE clients from Debian packages:
#
#   hack/make-boot-image.sh OUTPUT [SIZE_MiB]     (SIZE_MiB: 32..4096, default 64)
#
# COWHERD_BOOT_AFTER=writeloop makes the clients run a write-and-verify loop after their marker
# instead of powering off (boot-image/init, write_loop); default poweroff.
#
# Layout of OUTPUT (raw disk, SIZE_MiB MiB, sectors of 512 bytes), bootable by BIOS and UEFI:
#   sector 0             SYSLINUX MBR boot code (mbr.bin) + a DOS partition table
#   sectors 2048..       partition 1, FAT16 (FAT32 above 1 GiB), active, holding
#                        - for BIOS: ldlinux.sys/.c32 (SYSLINUX, loads files through BIOS int 13h)
#                          and syslinux.cfg;
#                        - for UEFI: EFI/BOOT/BOOTX64.EFI (Debian's systemd-boot, the file UEFI
#                          firmware and iPXE's UEFI `sanboot` start from a disk), loader/loader.conf
#                          and loader/entries/cowherd.conf (same kernel, initramfs and command line
#                          as syslinux.cfg). UEFI reads FAT on an MBR partition of any type, so
#                          no GPT is needed and BIOS booting is unchanged;
#                        - for both: vmlinuz (Debian's linux-image-amd64) and initrd.img
#                          (busybox + the aoe and NIC modules + hack/boot-image/init)
#   last 2048 sectors    client marker area, outside every partition; the initramfs keeps its
#                        client marker in the first sector of it (sector SIZE_MiB*2048 - 2048)
#
# A client that iPXE boots with `sanboot aoe:e<shelf>.<slot>` prints on its console
#   COWHERD-BOOT-OK e<shelf>.<slot> mac=... via=aBFT ...
#   COWHERD-MARKER-NONE ... | COWHERD-MARKER-FOUND <marker from its previous boot>
#   COWHERD-MARKER-WRITTEN COWHERD-CLIENT-MARKER target=e<shelf>.<slot> mac=<its MAC> boot=<n> ...
# and powers off (see hack/boot-image/init and docs/booting-clients.md).
#
# Installs the Debian packages it needs (also ipxe and qemu-system-x86, which boot a client in a
# VM). Idempotent: OUTPUT.inputs records what OUTPUT was built from (size, package versions,
# these scripts); when it matches, nothing is done. Needs root only to install packages.
# Extra kernel modules for the initramfs (e.g. NIC drivers of real clients) may be named in
# COWHERD_EXTRA_MODULES (space-separated).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

usage() {
  echo "usage: hack/make-boot-image.sh OUTPUT [SIZE_MiB]   (SIZE_MiB 32..4096, default 64)" >&2
  exit 2
}
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
  echo "usage: hack/make-boot-image.sh OUTPUT [SIZE_MiB]   (SIZE_MiB 32..4096, default 64)"
  exit 0
fi
(( $# >= 1 && $# <= 2 )) || usage
output="$1"
size_mib="${2:-64}"
if ! [[ "$size_mib" =~ ^[0-9]+$ ]] || (( size_mib < 32 || size_mib > 4096 )); then
  usage
fi

# Sectors (512 bytes) before the partition and reserved for client markers at the end.
# What the client does after its marker (the default label's cowherd.after=): poweroff, or
# writeloop (write-and-verify loop for I/O stall measurements, see boot-image/init).
after="${COWHERD_BOOT_AFTER:-poweroff}"
case "$after" in poweroff | writeloop) ;; *) echo "COWHERD_BOOT_AFTER must be poweroff or writeloop" >&2; exit 2 ;; esac

readonly partition_start_sectors=2048
readonly marker_area_sectors=2048
# NIC drivers for common clients (loaded only when the hardware is present) and the initiator.
modules=(virtio_pci virtio_net e1000 e1000e igb r8169 aoe)
read -r -a extra_modules <<< "${COWHERD_EXTRA_MODULES:-}"
modules+=("${extra_modules[@]}")

packages=(syslinux syslinux-common systemd-boot-efi mtools dosfstools busybox-static linux-image-amd64 kmod cpio fdisk
  ipxe qemu-system-x86)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if (( ${#missing[@]} > 0 )); then
  require_root "hack/make-boot-image.sh (to install ${missing[*]})"
  echo "cowherd: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The kernel linux-image-amd64 points at, e.g. 6.1.0-57-amd64.
kernel_version="$(dpkg-query -W -f='${Depends}' linux-image-amd64 | sed -n 's/^linux-image-\([^ ,]*\).*/\1/p')"
vmlinuz="/boot/vmlinuz-$kernel_version"
module_dir="/lib/modules/$kernel_version"
[[ -r "$vmlinuz" && -d "$module_dir" ]] || { echo "cowherd: $vmlinuz or $module_dir missing" >&2; exit 1; }

version_of() { dpkg-query -W -f='${Version}' "$1"; }
inputs="$(printf '%s\n' \
  "size_mib=$size_mib" \
  "kernel=$kernel_version $(version_of "linux-image-$kernel_version")" \
  "busybox-static=$(version_of busybox-static)" \
  "syslinux=$(version_of syslinux) $(version_of syslinux-common)" \
  "systemd-boot-efi=$(version_of systemd-boot-efi)" \
  "modules=${modules[*]}" \
  "after=$after" \
  "scripts=$(cat "$0" "$here/boot-image/init" "$here/boot-image/syslinux.cfg" | sha256sum | cut -d' ' -f1)")"
stamp="$output.inputs"
if [[ -f "$output" && -f "$stamp" && "$(cat "$stamp")" == "$inputs" ]]; then
  echo "cowherd: $output is up to date" >&2
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# initramfs: static busybox, /init, the modules with their dependencies, and depmod's indexes.
root="$work/initramfs"
mkdir -p "$root/bin" "$root/lib/modules/$kernel_version"
install -m 0755 /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/boot-image/init" "$root/init"
for m in "${modules[@]}"; do
  modprobe --show-depends --set-version "$kernel_version" "$m" | awk '$1 == "insmod" { print $2 }'
done | sort -u | while read -r ko; do
  mkdir -p "$root$(dirname "$ko")"
  cp "$ko" "$root$ko"
done
cp "$module_dir/modules.builtin" "$module_dir/modules.builtin.modinfo" "$module_dir/modules.order" \
  "$root/lib/modules/$kernel_version/"
depmod --basedir "$root" "$kernel_version"
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc --owner=0:0) | gzip -9 -n > "$work/initrd.img"

# FAT partition with SYSLINUX, built in a file and placed at its offset (no loop mount needed).
total_sectors=$(( size_mib * 2048 ))
partition_sectors=$(( total_sectors - partition_start_sectors - marker_area_sectors ))
fat="$work/fat.img"
truncate -s $(( partition_sectors * 512 )) "$fat"
# FAT16 (partition type 0e, FAT16 LBA) up to 1 GiB, FAT32 (type 0c, FAT32 LBA) above.
if (( size_mib <= 1024 )); then fat_bits=16 partition_type=e; else fat_bits=32 partition_type=c; fi
mkfs.vfat -F "$fat_bits" -n COWHERD -i 63776864 -h "$partition_start_sectors" "$fat" >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -m -i "$fat" "$vmlinuz" ::/vmlinuz
mcopy -m -i "$fat" "$work/initrd.img" ::/initrd.img
sed "0,/cowherd.after=poweroff/s//cowherd.after=$after/" "$here/boot-image/syslinux.cfg" > "$work/syslinux.cfg"
mcopy -m -i "$fat" "$work/syslinux.cfg" ::/syslinux.cfg
mcopy -m -i "$fat" /usr/lib/syslinux/modules/bios/ldlinux.c32 ::/ldlinux.c32
syslinux --install "$fat"
# UEFI: systemd-boot as the removable-media loader, one entry with syslinux.cfg's default label
# (same kernel, initramfs and APPEND line), no menu.
append="$(awk '$1 == "APPEND" { sub(/^[ \t]*APPEND[ \t]+/, ""); print; exit }' "$work/syslinux.cfg")"
printf 'default cowherd.conf\ntimeout 0\neditor no\n' > "$work/loader.conf"
printf 'title cowherd\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' "$append" > "$work/cowherd.conf"
mmd -i "$fat" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -m -i "$fat" /usr/lib/systemd/boot/efi/systemd-bootx64.efi ::/EFI/BOOT/BOOTX64.EFI
mcopy -m -i "$fat" "$work/loader.conf" ::/loader/loader.conf
mcopy -m -i "$fat" "$work/cowherd.conf" ::/loader/entries/cowherd.conf

mkdir -p "$(dirname "$output")"
tmp="$output.tmp.$$"
trap 'rm -rf "$work" "$tmp"' EXIT
truncate -s "${size_mib}M" "$tmp"
printf 'label: dos\nlabel-id: 0x63776864\nstart=%d, size=%d, type=%s, bootable\n' \
  "$partition_start_sectors" "$partition_sectors" "$partition_type" \
  | sfdisk --quiet --no-reread --no-tell-kernel "$tmp"
dd if="$fat" of="$tmp" bs=1M seek=$(( partition_start_sectors * 512 )) oflag=seek_bytes conv=notrunc,sparse status=none
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$tmp" bs=440 count=1 conv=notrunc status=none
mv "$tmp" "$output"
printf '%s\n' "$inputs" > "$stamp"
echo "cowherd: built $output (${size_mib} MiB, kernel $kernel_version, initramfs $(( $(stat -c %s "$work/initrd.img") / 1024 )) KiB)" >&2
