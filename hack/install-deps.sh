#!/usr/bin/env bash
# Installs the Debian packages cowherd's demo and tests use on this host. Idempotent: when every
# package is present it only checks and returns.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
require_root "hack/install-deps.sh"

packages=(
  vblade          # the AoE exporter (vblade(8))
  nftables        # nft: the agent's ingress guard (netdev table per exporter interface)
  util-linux      # losetup, mount
  e2fsprogs       # mkfs.ext4 -d for demo images, filefrag for reflink usage
  xfsprogs        # mkfs.xfs -m reflink=1 for the reflink state dir
  btrfs-progs     # alternative reflink state dir
  iproute2        # ip netns, veth, bridge for test networks
  kmod            # modprobe
  dmsetup         # device-mapper snapshot backend
  procps          # ps, pgrep for diagnostics
  # Container images without a registry or Docker engine (hack/build-images.sh) and their smoke tests:
  mmdebstrap      # Debian root filesystems of the images
  buildah         # assembles and commits the images, writes docker-archive tars
  podman          # Docker-compatible API socket for Testcontainers (ContainerImagesHostTest)
  # Kernel tests (dm-snapshot, the Linux aoe initiator) in a QEMU guest, and diskless boot tests:
  qemu-system-x86   # the guest and the diskless clients (TCG)
  linux-image-amd64 # Debian's kernel, which has dm_snapshot and aoe modules
  busybox-static    # guest and client initramfs
  cpio              # initramfs archives
  ipxe              # ipxe.lkrn: the clients' network boot firmware (sanboot aoe:)
  ipxe-qemu         # QEMU NIC option ROMs (iPXE builds) for PXE-ROM clients (-boot n)
  dnsmasq-base      # proxy DHCP + TFTP (agent --dhcp-mode proxy) and the test DHCP servers
  syslinux          # boot loader of the bootable origin image
  syslinux-common
  systemd-boot-efi  # UEFI loader of the bootable origin image (EFI/BOOT/BOOTX64.EFI)
  ovmf              # UEFI firmware for the UEFI client VM (PxeFrontDoorE2E)
  mtools            # FAT partition contents without mounting
  dosfstools        # mkfs.fat
  fdisk             # partition table of the bootable origin image
  # The real single-node test cluster (e2e KubeNode): container runtime, pod network, API relay
  # into the node's network namespace, and gcc for its static pause image.
  containerd        # CRI runtime the kubelet drives (1.6: restrict_oom_score_adj, cgroupfs); its ctr is
                    # also how build-images.sh --load imports the image archives
  runc
  containernetworking-plugins # CNI bridge, host-local, loopback
  socat             # relays the API server's loopback port into the node's network namespace
  gcc               # builds the node's pause image (a static C program)
  libc6-dev
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if (( ${#missing[@]} > 0 )); then
  echo "cowherd: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v go >/dev/null 2>&1 && [[ ! -x /usr/local/go/bin/go ]]; then
  echo "cowherd: Go is required to build the pinned Kubernetes test binaries (hack/kube-test-binaries.sh); install Go 1.24 or newer" >&2
  exit 1
fi
use_jdk25
