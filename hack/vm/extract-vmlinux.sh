#!/usr/bin/env bash
# Writes the uncompressed ELF kernel (vmlinux) found inside a bzImage (/boot/vmlinuz-*), the way
# the kernel source's scripts/extract-vmlinux does it: look for each compression format's magic
# bytes, decompress from every offset where they occur, and keep the first result that is an ELF
# file. QEMU boots that ELF directly through its PVH entry point (CONFIG_PVH=y), which skips the
# in-guest decompression: seconds saved on every boot under TCG.
#
#   hack/vm/extract-vmlinux.sh BZIMAGE OUTPUT
set -euo pipefail
export LC_ALL=C

if (( $# != 2 )); then
  echo "usage: $0 BZIMAGE OUTPUT" >&2
  exit 2
fi
image="$1"
output="$2"
tmp="$(mktemp "${output}.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

is_elf() {
  [[ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" == "7f454c46" ]]
}

# try MAGIC_PCRE DECOMPRESSOR...: decompress from every offset of the magic until one gives an ELF
try() {
  local magic="$1" offset
  shift
  command -v "$1" >/dev/null 2>&1 || return 1
  while IFS=: read -r offset _; do
    # Trailing bytes after the payload make the decompressor complain; its output is still whole.
    tail -c "+$((offset + 1))" "$image" | "$@" >"$tmp" 2>/dev/null || true
    if [[ -s "$tmp" ]] && is_elf "$tmp"; then
      return 0
    fi
  done < <(grep -obUaP "$magic" "$image" || true)
  return 1
}

if try '\xfd7zXZ\x00' xz -dc \
  || try '\x28\xb5\x2f\xfd' zstd -dc \
  || try '\x1f\x8b\x08' gzip -dc \
  || try '\x5d\x00\x00\x00' xz --format=lzma -dc \
  || try '\x02\x21\x4c\x18' lz4 -dc \
  || try 'BZh' bzip2 -dc; then
  chmod 0644 "$tmp"
  mv -f "$tmp" "$output"
  trap - EXIT
  exit 0
fi
echo "extract-vmlinux: no compressed ELF kernel found in $image" >&2
exit 1
