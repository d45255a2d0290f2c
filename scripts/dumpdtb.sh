#!/usr/bin/env bash
# Dump QEMU virt's device tree for ARCH to OUT, with the machine options Pollux boots with.
#
# Usage: scripts/dumpdtb.sh riscv64|aarch64 OUT
# Environment: SMP (default 1), MEM (default 128M), BOOTARGS (optional,
# becomes /chosen/bootargs through -append).
#
# QEMU writes its whole 1 MiB FDT buffer, and on aarch64 the header's
# totalsize says 1 MiB too.  We drop the free space after the last block
# (rewriting totalsize, as libfdt's fdt_pack would) so the embedded fallback
# stays small and the host tests can put the blob in an exactly-sized buffer,
# where ASan catches any read past it.
set -euo pipefail

die() { echo "dumpdtb.sh: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 riscv64|aarch64 OUT"
arch=$1
out=$2
smp=${SMP:-1}
mem=${MEM:-128M}

case "$arch" in
riscv64)
	qemu="qemu-system-riscv64"
	machine=(-machine virt -bios none)
	;;
aarch64)
	qemu="qemu-system-aarch64"
	machine=(-machine "virt,gic-version=3" -cpu cortex-a72)
	;;
*) die "unknown ARCH '$arch' (riscv64 or aarch64)" ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
if ! command -v "$qemu" >/dev/null 2>&1; then
	"$here/deps.sh" qemu || die "could not install $qemu"
	command -v "$qemu" >/dev/null 2>&1 || die "$qemu still missing after deps.sh"
fi

mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
kern="$out.kern.$$"
trap 'rm -f "$tmp" "$kern"' EXIT

# QEMU takes -append only with -kernel; a 4-byte dummy image is enough,
# since dumpdtb exits before anything runs.
append=()
if [ -n "${BOOTARGS:-}" ]; then
	printf '\0\0\0\0' >"$kern"
	append=(-kernel "$kern" -append "$BOOTARGS")
fi

# -nic none: the default NIC wants an option ROM we do not ship (aarch64
# fails on efi-virtio.rom) and adds nothing to the device tree.
# dumpdtb makes QEMU exit right after building the tree, before any boot.
if ! log=$("$qemu" "${machine[@]}" -smp "$smp" -m "$mem" -nic none \
	-display none -serial null -monitor none "${append[@]}" \
	-machine dumpdtb="$tmp" 2>&1); then
	die "$qemu failed: $log"
fi
[ -s "$tmp" ] || die "$qemu wrote no device tree to $tmp"

# be32 FIELD: the header's big-endian 32-bit word at byte offset FIELD.
be32() { echo $((16#$(od -An -tx1 -j"$1" -N4 "$tmp" | tr -d ' \n'))); }

[ "$(be32 0)" -eq $((0xd00dfeed)) ] || die "$qemu wrote something that is not a device tree"
total=$(be32 4)
off_struct=$(be32 8)
off_strings=$(be32 12)
off_rsv=$(be32 16)
size_strings=$(be32 32)
size_struct=$(be32 36)
filesize=$(stat -c %s "$tmp")
[ "$total" -le "$filesize" ] || die "totalsize $total exceeds the $filesize bytes written"

# The blocks' end; only trust it for QEMU's layout (reserve map first).
end=$((off_struct + size_struct))
[ $((off_strings + size_strings)) -gt "$end" ] && end=$((off_strings + size_strings))
if [ "$off_rsv" -lt "$off_struct" ] && [ "$off_rsv" -lt "$off_strings" ] &&
	[ "$end" -le "$total" ]; then
	total=$end
	printf '%b' "$(printf '\\x%02x' $((total >> 24 & 255)) $((total >> 16 & 255)) \
		$((total >> 8 & 255)) $((total & 255)))" |
		dd of="$tmp" bs=1 seek=4 conv=notrunc status=none
fi
head -c "$total" "$tmp" >"$out"
size=$total
echo "dumpdtb.sh: $arch device tree ($size bytes) -> $out" >&2
