#!/usr/bin/env bash
# Boots Debian's kernel under QEMU (TCG, one vCPU) with this host's root filesystem as the guest's
# read-only root (9p), runs one command there as root, and exits with the command's exit code.
#
#   hack/vm/run-in-vm.sh [OPTIONS] -- COMMAND [ARG...]
#
#   --mem MIB          guest memory (default 1536)
#   --share DIR        share host directory DIR read-write; the guest mounts it at the same path
#                      (repeatable). Everything else the guest sees of the host is read-only.
#   --net user         attach QEMU user networking, restricted: the guest's eth0 is 10.0.2.15/24
#                      and reaches nothing (no route out of QEMU, not even to the host) except
#                      the ports given with --forward
#   --forward PORT     implies --net user: connections from the guest to 10.0.2.100:PORT reach
#                      the host's 127.0.0.1:PORT (QEMU guestfwd, one `busybox nc` per connection)
#                      (repeatable)
#   --disk FILE        attach FILE (raw, must exist) as the guest's /dev/vda (virtio-blk, QEMU
#                      cache=writeback: the guest sees a volatile write cache and must flush it;
#                      QEMU's writes land in FILE through this host's page cache, so they outlive
#                      a SIGKILL of QEMU, while the guest's own page cache does not)
#   --tap NETNS:TAP    attach the guest's second NIC (named aoe0 in the guest, up, no address) to
#                      tap device TAP, which the caller created in network namespace NETNS; QEMU
#                      then runs inside NETNS (--forward still reaches this host's loopback;
#                      NETNS's own lo is set up, which QEMU's user networking needs)
#   --add-host NAME=ADDRESS  an /etc/hosts entry in the guest (repeatable)
#   --env NAME=VALUE   set in the command's environment (repeatable); PATH, HOME, LANG are preset
#   --cwd DIR          the command's working directory in the guest (default /)
#   --timeout SECONDS  stop the guest after this long (default 600); exit code 124
#   --console          copy the guest kernel's console to stderr as well
#
# The command is an argument vector, run without a shell. Its stdout and stderr (merged) come out
# on this script's stdout while it runs. In the guest: /dev is devtmpfs, /tmp and /run are tmpfs,
# `modprobe loop dm_snapshot aoe veth` loads modules of the guest kernel (installed on the host
# under /lib/modules), no udevd runs. Exit codes: the command's; 124 on timeout; 125 when the guest
# did not get to run the command (the kernel console is then printed to stderr); 137 when QEMU
# was killed with SIGKILL (a test cutting the guest's power).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

mem=1536
timeout_seconds=600
net=""
console=0
workdir=/
shares=()
forwards=()
hosts=()
disk=""
tap=""
envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb)
while (( $# > 0 )); do
  case "$1" in
    --mem) mem="${2:?--mem needs MiB}"; shift 2 ;;
    --share) shares+=("$(realpath -e "${2:?--share needs a directory}")"); shift 2 ;;
    --net) net="${2:?--net needs a mode}"; shift 2 ;;
    --forward)
      forwards+=("${2:?--forward needs a port}")
      [[ "${2}" =~ ^[0-9]+$ ]] || { echo "run-in-vm: --forward needs a port number" >&2; exit 2; }
      net=user
      shift 2
      ;;
    --disk) disk="$(realpath -e "${2:?--disk needs a file}")"; shift 2 ;;
    --tap)
      tap="${2:?--tap needs NETNS:TAP}"
      [[ "$tap" =~ ^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]{1,15}$ ]] || { echo "run-in-vm: --tap needs NETNS:TAP" >&2; exit 2; }
      shift 2
      ;;
    --add-host)
      entry="${2:?--add-host needs NAME=ADDRESS}"
      hosts+=("${entry#*=} ${entry%%=*}")
      shift 2
      ;;
    --env) envs+=("${2:?--env needs NAME=VALUE}"); shift 2 ;;
    --cwd) workdir="${2:?--cwd needs a directory}"; shift 2 ;;
    --timeout) timeout_seconds="${2:?--timeout needs seconds}"; shift 2 ;;
    --console) console=1; shift ;;
    --) shift; break ;;
    -h | --help) usage ;;
    *) echo "run-in-vm: unknown option $1" >&2; usage ;;
  esac
done
(( $# > 0 )) || usage
[[ "$mem" =~ ^[0-9]+$ && "$timeout_seconds" =~ ^[0-9]+$ ]] || usage
[[ -z "$net" || "$net" == user ]] || { echo "run-in-vm: --net supports only 'user'" >&2; exit 2; }
argv=("$@")

if [[ "$(id -u)" != 0 ]]; then
  echo "run-in-vm: needs root (9p passthrough of the host root, apt-get on first use)" >&2
  exit 125
fi
cache="$("$here/prepare.sh")"

run="$(mktemp -d /tmp/cowherd-vm.XXXXXX)"
qemu_pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [[ -n "$qemu_pid" ]] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill -KILL "$qemu_pid" 2>/dev/null || true
  fi
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

guest_shares=()
virtfs=(-virtfs "local,path=/,mount_tag=root,security_model=passthrough,readonly=on,multidevs=remap"
  -virtfs "local,path=$run,mount_tag=ctl,security_model=passthrough,multidevs=remap")
for i in "${!shares[@]}"; do
  guest_shares+=("share$i ${shares[$i]}")
  virtfs+=(-virtfs "local,path=${shares[$i]},mount_tag=share$i,security_model=passthrough,multidevs=remap")
done
network=()
net_flag=0
if [[ "$net" == user ]]; then
  # restrict=on: no packet leaves QEMU's NAT; only the explicit guestfwd rules below connect out,
  # each to the host's loopback.
  netdev="user,id=net0,ipv6=off,restrict=on"
  # With --tap QEMU runs in another network namespace: nsenter brings each forwarded connection
  # back to this script's namespace (this script outlives QEMU, so /proc/$$/ns/net stays valid).
  enter=""
  if [[ -n "$tap" ]]; then
    enter="$(command -v nsenter) --net=/proc/$$/ns/net "
  fi
  for port in "${forwards[@]}"; do
    netdev+=",guestfwd=tcp:10.0.2.100:$port-cmd:$enter/bin/busybox nc 127.0.0.1 $port"
  done
  network=(-netdev "$netdev" -device "virtio-net-pci,netdev=net0")
  net_flag=1
fi

tap_mac=""
in_netns=()
if [[ -n "$tap" ]]; then
  tap_ns="${tap%%:*}"
  tap_if="${tap#*:}"
  ip -n "$tap_ns" link show "$tap_if" >/dev/null || { echo "run-in-vm: no tap $tap_if in namespace $tap_ns" >&2; exit 2; }
  tap_mac="52:54:00:c0:ee:01"
  # The tap is opened by name in QEMU's own namespace: QEMU runs in the tap's. QEMU's user
  # networking makes a loopback socket pair for each guestfwd connection: lo must be up there.
  ip -n "$tap_ns" link set lo up
  in_netns=(ip netns exec "$tap_ns")
  network+=(-netdev "tap,id=net1,ifname=$tap_if,script=no,downscript=no" -device "virtio-net-pci,netdev=net1,mac=$tap_mac")
fi
drives=()
if [[ -n "$disk" ]]; then
  # cache=writeback: the guest sees a write cache and sends flushes (QEMU turns them into fdatasync).
  # What a SIGKILL of QEMU loses is what a power cut loses in the guest: its page cache and
  # requests not yet handed to QEMU. What QEMU already wrote is in this host's page cache and
  # survives (the host does not crash in these tests).
  drives=(-drive "file=$disk,if=none,id=disk0,format=raw,cache=writeback,aio=threads" -device "virtio-blk-pci,drive=disk0")
fi

cp "$here/guest-init.sh" "$run/guest-init.sh"
(
  # shellcheck disable=SC2034 # read by guest-init.sh
  shares=("${guest_shares[@]}") net="$net_flag" disk_flag=$([[ -n "$disk" ]] && echo 1 || echo 0)
  declare -p argv envs shares hosts workdir net tap_mac disk_flag
) >"$run/config.sh"

console_out="file:$run/console.log"
if (( console )); then
  touch "$run/console.log"
  # Ends with this script (--pid), so it never holds this script's stderr open.
  tail -s 0.2 --pid=$$ -n +1 -f "$run/console.log" >&2 &
fi

started="$(date +%s%N)"
# ttyS0: kernel console (to a file); ttyS1: the command's output (stdout of this script).
"${in_netns[@]}" qemu-system-x86_64 \
  -accel tcg -cpu max -smp 1 -m "$mem" \
  -M pc -nodefaults -no-user-config -display none -monitor none -no-reboot \
  -kernel "$cache/vmlinux" -initrd "$cache/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 loglevel=4 mitigations=off tsc=reliable" \
  -serial "$console_out" -serial stdio \
  "${virtfs[@]}" "${network[@]}" "${drives[@]}" </dev/null &
qemu_pid=$!
if ! timeout --kill-after=5 "$timeout_seconds" tail -s 0.2 --pid="$qemu_pid" -f /dev/null; then
  kill -KILL "$qemu_pid" 2>/dev/null || true
  wait "$qemu_pid" 2>/dev/null || true
  qemu_pid=""
  echo "run-in-vm: the guest ran past ${timeout_seconds}s and was stopped; kernel console:" >&2
  tail -n 50 "$run/console.log" >&2 || true
  exit 124
fi
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=""
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
if [[ ! -s "$run/exit-code" && "$qemu_rc" == 137 ]]; then
  echo "run-in-vm: QEMU was killed with SIGKILL after ${elapsed_ms} ms (power cut)" >&2
  exit 137
fi
if [[ ! -s "$run/exit-code" ]]; then
  echo "run-in-vm: the guest stopped without running the command (qemu exit $qemu_rc); kernel console:" >&2
  tail -n 80 "$run/console.log" >&2 || true
  exit 125
fi
rc="$(cat "$run/exit-code")"
if [[ -s "$run/guest-error" ]]; then
  cat "$run/guest-error" >&2
fi
echo "run-in-vm: guest exit $rc after ${elapsed_ms} ms" >&2
exit "$rc"
