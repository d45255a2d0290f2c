#!/usr/bin/env bash
# Boot a kernel many times at several harts and check every boot.
#
# usage: scripts/boot-loop.sh [--arch A] [--smp N] [--count N] [--jobs J]
#                             [--early] [--keep DIR] KERNEL.elf
#
# Each boot runs "init=echo initargs=x" and must print the banner exactly
# once, bring every hart online ("N of N harts online"), print the echo's
# "x", and power off with status 0, within the time limit.  A boot that
# does anything else is a failure; its console log is kept in DIR
# (default build/<arch>/boot-loop) for a post-mortem.  --jobs runs that
# many QEMUs at once (the host's load widens boot races, so 2 on a
# 2-core machine finds more than 1).  --early adds "hartstart=early": the
# secondaries enter the kernel before they are released and must stay
# parked until they are (the boot must say "0 hart(s) ran before release").
#
# Prints one line per failure and a closing "N passed, N failed".
set -euo pipefail

arch=riscv64 smp=4 count=20 jobs=1 keep= kernel= early=0
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--count) count=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	--early) early=1; shift ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	-*) echo "boot-loop.sh: unknown option $1" >&2; exit 2 ;;
	*) kernel=$1; shift ;;
	esac
done
[ -n "$kernel" ] || { echo "boot-loop.sh: no kernel given" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/summary.sh"
keep=${keep:-$(dirname "$kernel")/boot-loop}
mkdir -p "$keep"
extra=
[ "$early" = 1 ] && extra=" hartstart=early"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# one_boot I: boot once; exit 0 if the boot was right, else keep its log.
one_boot() {
	local i=$1 log="$work/boot.$1" status=0 why=
	"$here/run-qemu.sh" --arch "$arch" --smp "$smp" --timeout 30 \
		--append "init=echo initargs=x$extra" --out "$log" "$kernel" || status=$?
	local banners
	banners=$(grep -c '^Pollux on ' "$log" || true)
	if [ "$status" != 0 ]; then
		why="exit status $status"
	elif [ "$banners" != 1 ]; then
		why="$banners banners"
	elif [ "$early" = 1 ] && ! grep -q '^hartstart=early: 0 hart(s) ran before release' "$log"; then
		why="a hart ran before it was released"
	elif [ "$smp" -gt 1 ] && ! grep -q "^$smp of $smp harts online" "$log"; then
		why="not every hart came online"
	elif ! grep -qx 'x' "$log" && ! grep -q $'^x\r$' "$log"; then
		why="no output from the first program"
	fi
	if [ -n "$why" ]; then
		cp "$log" "$keep/fail.$i.log"
		echo "boot $i: $why (log: $keep/fail.$i.log)"
		return 1
	fi
	rm -f "$log"
}

pass=0 fail=0
i=0
while [ $i -lt "$count" ]; do
	pids=()
	for ((j = 0; j < jobs && i < count; j++, i++)); do
		one_boot $i &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		if wait "$p"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	done
done
echo "boot-loop $arch smp=$smp${extra}:"
summary_print "$pass" "$fail"
[ "$fail" = 0 ]
