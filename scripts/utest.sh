#!/usr/bin/env bash
# Run the user-mode test program (user/usertests.c) as process 1 of a normal kernel build.
#
# usage: scripts/utest.sh ARCH [KERNEL.elf]   (default build/ARCH/kernel.elf)
# The console goes to build/ARCH/logs/usertests.log and is shown prefixed
# with "  | ".  The program's closing "N passed, N failed" is repeated as a
# line of its own (scripts/check.sh adds these up); a boot that ends
# without one (crash, hang, time limit) counts as one failure.
# TIME_SCALE=n multiplies the time limit (slow machines).  SMP=n boots
# with n harts (log: usertests-smpN.log).  TESTS="a b" runs only the
# named tests (log: usertests-a.log); ICOUNT=1 boots with -icount, where
# guest time counts instructions and no host load can stretch it.
set -uo pipefail

arch=$1
elf=${2:-build/$arch/kernel.elf}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/summary.sh"
logs=$(dirname "$elf")/logs
smp=${SMP:-1}
log=$logs/usertests.log
[ "$smp" != 1 ] && log=$logs/usertests-smp$smp.log
tests=${TESTS:-}
append=init=usertests
if [ -n "$tests" ]; then
	append="init=usertests initargs=${tests// /,}"
	log=${log%.log}-${tests%% *}.log
fi
icount=()
[ "${ICOUNT:-0}" = 1 ] && icount=(--icount)
scale=${TIME_SCALE:-1}
mkdir -p "$logs"

# A scratch disk for the ring block tests, as ktest.sh does.
disk=$logs/utest-disk$smp.img
rm -f "$disk"
truncate -s 4M "$disk"

"$here/run-qemu.sh" --arch "$arch" --smp "$smp" "${icount[@]}" --timeout $((300 * scale)) \
	--append "$append" --disk "$disk" --out "$log" "$elf"
status=$?
sed 's/\r$//; s/^/  | /' "$log"

if ! summary_read "$log"; then
	case $status in
	124) why="time limit expired" ;;
	*) why="kernel exited with status $status" ;;
	esac
	echo "usertests $arch: no summary line ($why); log in $log"
	summary_print 0 1
	exit 1
fi
p=$PASSED f=$FAILED
# process 1's exit status is the number of failures (at most 99); a
# killed runner powers off with 100 + reason.
if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
	echo "usertests $arch: summary says no failures but the kernel exited with status $status"
	f=1
fi
echo "usertests $arch: log in $log"
summary_print "$p" "$f"
[ "$f" -eq 0 ]
