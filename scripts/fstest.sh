#!/usr/bin/env bash
# The file-system syscalls and ring operations in the guest (user/fstests.c) on a fresh image.
#
# usage: scripts/fstest.sh ARCH KERNEL.elf MKFS FSCK STRIPPED_DIR
# Makes a 64 MiB image holding /bin (every program in STRIPPED_DIR), boots
# fstests as process 1 with the filter "fs_" on it, and fscks the image
# afterwards (one more test: "fsck after the run").  NODISK=1 boots
# without a disk and runs the "archive_" tests instead (no image, no
# fsck).  SMP=n harts; TIME_SCALE=n stretches the time limit.  Prints the
# closing "N passed, N failed" (scripts/check.sh adds these up).
set -uo pipefail

arch=$1 elf=$2 mkfs=$3 fsck=$4 stripped=$5
here=$(cd "$(dirname "$0")" && pwd)
. "$here/summary.sh"
smp=${SMP:-1}
scale=${TIME_SCALE:-1}
logs=$(dirname "$elf")/logs
mkdir -p "$logs"
disk=()
if [ "${NODISK:-0}" = 1 ]; then
	log=$logs/fstest-nodisk-smp$smp.log
	filter=archive_
else
	log=$logs/fstest-smp$smp.log
	img=$logs/fstest-smp$smp.img
	rm -f "$img"
	"$mkfs" -s 64M "$img" "$stripped"/*.elf >/dev/null || { summary_print 0 1; exit 1; }
	disk=(--disk "$img")
	filter=fs_
fi

"$here/run-qemu.sh" --arch "$arch" --smp "$smp" --timeout $((300 * scale)) \
	--append "init=fstests initargs=$filter" "${disk[@]}" --out "$log" "$elf"
status=$?
sed 's/\r$//; s/^/  | /' "$log"

if ! summary_read "$log"; then
	echo "fstest $arch: no summary line (status $status); log in $log"
	summary_print 0 1
	exit 1
fi
p=$PASSED f=$FAILED
if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
	echo "fstest $arch: summary says no failures but the kernel exited with status $status"
	f=$((f + 1))
fi
if [ ${#disk[@]} -gt 0 ]; then
	if "$fsck" "$img"; then
		echo "test fsck_after_the_run: OK"
		p=$((p + 1))
	else
		echo "test fsck_after_the_run: FAILED"
		f=$((f + 1))
	fi
fi
echo "fstest $arch: log in $log"
summary_print "$p" "$f"
[ "$f" -eq 0 ]
