#!/usr/bin/env bash
# The syscall-and-ring fuzzer (user/fuzz.c): boots whose process 1 is
# "fuzz", each running a range of seeds, and one closing "N passed, N failed".
#
# usage: scripts/fuzz-sys.sh [--arch riscv64|aarch64|all] [--smp "1 4"]
#          [--seed S] [--seeds N] [--calls C] [--par P] [--per-boot K]
#          [--fs F] [--fs-calls D]
# Seeds S .. S+N-1 run on each arch and hart count, K seeds per boot
# (default 64), each seed a child process making C calls (default 1500),
# P children at a time (default 3).  A seed is one test; a boot that ends
# without its summary line (a panic, a hang: the time limit) counts one
# failure and names its seed range, so it can be run again alone:
#   scripts/fuzz-sys.sh --arch riscv64 --smp 4 --seed 1234 --seeds 1
# Logs: build/<arch>/logs/fuzz-<first seed>-smp<n>.log.  Each boot has a
# fresh 4 MiB scratch disk for the ring's raw disk operations.
# --fs F: then, on each arch and hart count, one more boot on a fresh
# file-system image (mkfs), seeds S .. S+F-1 of "fuzz fs" (D calls each,
# default 300: changes in a scratch directory per seed), and fsck of the
# image afterwards: one more test.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/summary.sh

arches=riscv64 smps="1 4" seed=1 seeds=64 calls=1500 par=3 per_boot=64 fs=0 fs_calls=300
while [ $# -gt 0 ]; do
	case $1 in
	--arch) arches=$2; shift 2 ;;
	--smp) smps=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--seeds) seeds=$2; shift 2 ;;
	--calls) calls=$2; shift 2 ;;
	--par) par=$2; shift 2 ;;
	--per-boot) per_boot=$2; shift 2 ;;
	--fs) fs=$2; shift 2 ;;
	--fs-calls) fs_calls=$2; shift 2 ;;
	*) echo "fuzz-sys: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ "$arches" = all ] && arches="riscv64 aarch64"
mkfs=build/host/mkfs fsck=build/host/fsck
if [ "$fs" -gt 0 ] && ! make -s --no-print-directory "$mkfs" "$fsck" >/dev/null; then
	echo "fuzz-sys: building $mkfs and $fsck failed"
	summary_print 0 1
	exit 1
fi

# One boot of "fuzz fs" on a fresh image, then fsck of it.
fs_boot() {
	local arch=$1 smp=$2 elf=$3 logs=$4
	local log=$logs/fuzz-fs-$seed-smp$smp.log img=$logs/fuzz-fs-smp$smp.img
	rm -f "$img"
	if ! "$mkfs" -s 8M "$img" >/dev/null; then
		echo "fuzz-sys $arch smp$smp: mkfs failed"
		failed=$((failed + 1))
		return
	fi
	local limit=$((60 + fs * fs_calls / 50)) status
	scripts/run-qemu.sh --arch "$arch" --smp "$smp" --timeout "$limit" \
		--append "init=fuzz initargs=fs,$seed,$fs,$fs_calls,$par" --disk "$img" \
		--out "$log" "$elf" >/dev/null
	status=$?
	grep -E '^fuzz: seed [0-9]+ (call|: FAILED)|^fuzz: seed [0-9]+: (FAILED|kill)|^    got' "$log" | head -40 | sed 's/^/  | /'
	if summary_read "$log"; then
		passed=$((passed + PASSED)) failed=$((failed + FAILED))
		echo "fuzz-sys $arch smp$smp fs seeds $seed..$((seed + fs - 1)): $PASSED passed, $FAILED failed"
	else
		echo "fuzz-sys $arch smp$smp fs seeds $seed..$((seed + fs - 1)): no summary (status $status); log in $log"
		tail -5 "$log" | sed 's/^/  | /'
		failed=$((failed + 1))
	fi
	if "$fsck" "$img" >"$log.fsck" 2>&1; then
		passed=$((passed + 1))
		echo "fuzz-sys $arch smp$smp fs: fsck after the run: OK"
	else
		failed=$((failed + 1))
		echo "fuzz-sys $arch smp$smp fs: fsck after the run FAILED; image $img"
		head -10 "$log.fsck" | sed 's/^/  | /'
	fi
}

passed=0 failed=0
for arch in $arches; do
	elf=build/$arch/kernel.elf logs=build/$arch/logs
	mkdir -p "$logs"
	if ! make -s --no-print-directory ARCH="$arch" all >"$logs/fuzz-build.log" 2>&1; then
		tail -20 "$logs/fuzz-build.log"
		echo "fuzz-sys: $arch build failed; log in $logs/fuzz-build.log"
		failed=$((failed + 1))
		continue
	fi
	for smp in $smps; do
		for ((first = seed; first < seed + seeds; first += per_boot)); do
			n=$((seed + seeds - first < per_boot ? seed + seeds - first : per_boot))
			log=$logs/fuzz-$first-smp$smp.log disk=$logs/fuzz-disk-smp$smp.img
			rm -f "$disk" && truncate -s 4M "$disk"
			# time limit: generous for n seeds of `calls` calls at 2 ms per 100
			limit=$((60 + n * calls / 50))
			scripts/run-qemu.sh --arch "$arch" --smp "$smp" --timeout "$limit" \
				--append "init=fuzz initargs=$first,$n,$calls,$par" --disk "$disk" \
				--out "$log" "$elf" >/dev/null
			status=$?
			grep -E '^fuzz: seed [0-9]+ (call|: FAILED)|^fuzz: seed [0-9]+: (FAILED|kill)|^    got' "$log" | head -40 | sed 's/^/  | /'
			if summary_read "$log"; then
				passed=$((passed + PASSED)) failed=$((failed + FAILED))
				echo "fuzz-sys $arch smp$smp seeds $first..$((first + n - 1)): $PASSED passed, $FAILED failed"
			else
				case $status in
				124) why="time limit (${limit}s) expired: a hang" ;;
				*) why="kernel exited with status $status: a panic?" ;;
				esac
				echo "fuzz-sys $arch smp$smp seeds $first..$((first + n - 1)): no summary ($why); log in $log"
				tail -5 "$log" | sed 's/^/  | /'
				failed=$((failed + 1))
			fi
		done
		[ "$fs" -gt 0 ] && fs_boot "$arch" "$smp" "$elf" "$logs"
	done
done
summary_print "$passed" "$failed"
[ "$failed" -eq 0 ]
