#!/usr/bin/env bash
# PID 1 of the cowherd test guest, started by the initramfs (hack/vm/initramfs-init) with the
# host's root filesystem (read-only over 9p) as /. run-in-vm.sh copies this script into the
# per-run control share, /run/cowherd-vm, next to config.sh, which it writes with `declare -p`:
#   argv    the command, an argument vector (run as is, never through a shell)
#   envs    NAME=VALUE pairs for the command's environment
#   shares  "TAG PATH" pairs: writable 9p shares to mount at PATH (the host's path)
#   hosts   "ADDRESS NAME" pairs appended to the guest's /etc/hosts
#   workdir the command's working directory
#   net     1 when QEMU user networking is attached (eth0 = 10.0.2.15/24, no default route)
#   tap_mac MAC of the NIC on the caller's tap (--tap), renamed aoe0 and set up; empty if none
#   disk_flag 1 when a virtio-blk disk is attached (--disk): /dev/vda
# The command's stdout and stderr go to the second serial port (run-in-vm.sh's stdout); its exit
# code goes to /run/cowherd-vm/exit-code, then the guest reboots, which ends QEMU (-no-reboot).
set -uo pipefail
ctl=/run/cowherd-vm
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
umask 022

finish() {
  echo "$1" >"$ctl/exit-code"
  sync
  echo b >/proc/sysrq-trigger
  sleep 10 # the reboot above does not return
}

say() {
  echo "cowherd-vm: $*" >/dev/ttyS0
}

fail() {
  say "$*"
  echo "cowherd-vm: $*" >"$ctl/guest-error"
  finish 125
}

argv=() envs=() shares=() hosts=() workdir=/ net=0 tap_mac="" disk_flag=0
# shellcheck source=/dev/null
source "$ctl/config.sh" || fail "cannot read $ctl/config.sh"
(( ${#argv[@]} > 0 )) || fail "no command given"

mount --bind /tmp /var/tmp || fail "cannot bind /tmp over /var/tmp"
mkdir -p /run/lock /run/netns
hostname cowherd-vm
ip link set lo up || fail "cannot bring up lo"

# /etc is the host's, read-only: give the guest its own hosts file.
mkdir -p /run/cowherd-vm-etc
{
  cat /etc/hosts
  echo "127.0.1.1 cowherd-vm"
  for entry in "${hosts[@]}"; do
    echo "$entry"
  done
} >/run/cowherd-vm-etc/hosts
mount --bind /run/cowherd-vm-etc/hosts /etc/hosts || fail "cannot bind /etc/hosts"

for share in "${shares[@]}"; do
  tag="${share%% *}"
  path="${share#* }"
  # A share under the guest's own /tmp (tmpfs) needs its mount point made first; elsewhere the
  # read-only root already has it.
  [[ -d "$path" ]] || mkdir -p "$path" || fail "cannot make mount point $path"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none "$tag" "$path" \
    || fail "cannot mount share $tag at $path"
done

if (( net )); then
  modprobe virtio_net || fail "modprobe virtio_net failed"
  { ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0; } || fail "cannot configure eth0"
fi

if [[ -n "$tap_mac" ]]; then
  modprobe virtio_net || fail "modprobe virtio_net failed"
  tap_dev=""
  for dev in /sys/class/net/*; do
    [[ "$(cat "$dev/address")" == "$tap_mac" ]] && tap_dev="${dev##*/}"
  done
  [[ -n "$tap_dev" ]] || fail "no NIC with MAC $tap_mac"
  { ip link set "$tap_dev" name aoe0 && ip link set aoe0 up; } || fail "cannot set up the tap NIC"
fi

if (( disk_flag )); then
  modprobe virtio_blk || fail "modprobe virtio_blk failed"
  for _ in $(seq 50); do
    [[ -b /dev/vda ]] && break
    sleep 0.1
  done
  [[ -b /dev/vda ]] || fail "no /dev/vda"
fi

stty -F /dev/ttyS1 raw -echo 2>/dev/null || true
cd "$workdir" || fail "no such directory in the guest: $workdir"
env -i "${envs[@]}" "${argv[@]}" </dev/null >/dev/ttyS1 2>&1 &
command_pid=$!
wait "$command_pid"
finish "$?"
