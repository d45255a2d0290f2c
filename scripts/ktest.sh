#!/usr/bin/env bash
# Run the in-kernel self tests of one arch: the suite boot, the -smp 4 boot, then the boots that must fail loudly.
#
# usage: scripts/ktest.sh ARCH KERNEL.elf
# Logs go to build/ARCH-ktest/logs/.  TIME_SCALE=n multiplies time limits
# (slow machines).  SMP=n boots the suite with n harts (default 1) and the
# multi-hart suite with n (default 4).  Ends with "N passed, N failed"; exit status 1 on failure.
set -uo pipefail

arch=$1 elf=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/summary.sh"
logs=$(dirname "$elf")/logs
scale=${TIME_SCALE:-1}
mkdir -p "$logs"
passed=0 failed=0

pass() { echo "ktest-boot $1: OK"; passed=$((passed + 1)); }
fail() { echo "ktest-boot $1: FAILED ($2)"; failed=$((failed + 1)); }
show() { sed 's/\r$//; s/^/  | /' "$1"; }
# A suite boot: its own summary line counts, and a boot that ended badly
# without a failing test counts as one failure.
count_suite() {	# name log status
	summary_read "$2"
	passed=$((passed + PASSED)) failed=$((failed + FAILED))
	if [ "$3" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
		case $3 in
		124) fail "$1" "time limit expired" ;;
		*) fail "$1" "kernel exited with status $3" ;;
		esac
	fi
}

# The console input the tests expect (kernel/ktest/ktest.h): 8 KiB for uart_rx,
# then the 64 KiB flood for console_flood.
python3 -c '
import sys
rx = bytes(33 + (i * 31 + i // 94 + 7) % 94 for i in range(8192))
flood = bytes((i * 7 + i // 251) & 0xff for i in range(65536))
sys.stdout.buffer.write(rx + flood)
' >"$logs/rx.bin"

# A fresh scratch disk for the virtio-blk tests: 4 MiB of zeros.
rm -f "$logs/disk.img"
truncate -s 4M "$logs/disk.img"

# 1. The suite: every non-destructive test in one boot.  Under -icount,
#    guest time counts guest instructions, so CPU-bound stretches take the
#    same guest time however busy the host is (idle waits still follow
#    host time: sleep=on).  The limit only catches a hang: the boot takes
#    about 25 s of host time at 4 harts (all on one host thread under
#    -icount) on an idle 2-core host, and more than 60 s beside two
#    other QEMUs.
"$here/run-qemu.sh" --arch "$arch" --smp "${SMP:-1}" --icount --timeout $((150 * scale)) --input "$logs/rx.bin" \
	--wait-for "ktest: running" --disk "$logs/disk.img" --net --net-ports none --out "$logs/suite.log" "$elf"
status=$?
show "$logs/suite.log"
count_suite suite "$logs/suite.log" $status

# 1b. The multi-hart suite (kernel/ktest/smp.c), "ktest=smp", with SMP
#     harts if SMP > 1 (make check SMP=n), else 4.  No -icount: QEMU 7.2
#     with icount runs every hart on one host thread (sleep=off can hang).
smp=${SMP:-1}
[ "$smp" -gt 1 ] || smp=4
"$here/run-qemu.sh" --arch "$arch" --smp "$smp" --timeout $((120 * scale)) \
	--append "ktest=smp" --out "$logs/smp.log" "$elf"
status=$?
show "$logs/smp.log"
count_suite smp "$logs/smp.log" $status
if ! grep -q "$smp of $smp harts online" "$logs/smp.log"; then
	fail smp-bringup "not all $smp harts came online"
else
	pass smp-bringup
fi

# 1c. aarch64 entered at EL2 (QEMU virtualization=on, like most real boot
#     loaders): every hart, the boot hart and the PSCI-started ones, must
#     drop to EL1 and run the multi-hart spawn test.
if [ "$arch" = aarch64 ]; then
	"$here/run-qemu.sh" --arch "$arch" --smp 4 --el2 --timeout $((120 * scale)) \
		--append "ktest=smp_spawn_100k" --out "$logs/el2.log" "$elf"
	status=$?
	show "$logs/el2.log"
	if [ $status -ne 0 ]; then
		fail el2-smp "kernel exited with status $status"
	elif ! grep -q "entered at EL2" "$logs/el2.log"; then
		fail el2-smp "the kernel was not entered at EL2"
	elif ! grep -q "4 of 4 harts online" "$logs/el2.log"; then
		fail el2-smp "not all 4 harts came online"
	else
		pass el2-smp
	fi
fi

# 2. Destructive tests: each must end the kernel with a full report and
#    exit status 2 (EXIT_FAULT), never hang or exit 0.
expect_fault() {
	local name=$1 pattern=$2 log="$logs/$1.log"
	"$here/run-qemu.sh" --arch "$arch" --timeout $((30 * scale)) --append "ktest=$name" \
		--out "$log" "$elf"
	local st=$?
	show "$log"
	if [ $st -ne 2 ]; then
		fail "$name" "expected exit status 2, got $st"
	elif ! grep -q "unexpected exception" "$log"; then
		fail "$name" "no exception report"
	elif ! grep -qE "$pattern" "$log"; then
		fail "$name" "report lacks /$pattern/"
	elif [ "$(grep -cE '[0-9a-f]{16}' "$log")" -lt 8 ]; then
		fail "$name" "no register dump"
	else
		pass "$name"
	fi
}
expect_fault fault 'address 0xdead0000000'
expect_fault breakpoint_unhandled 'breakpoint|BRK'
expect_fault kernel_wx 'page fault|permission'

echo "ktest $arch: logs in $logs"
summary_print "$passed" "$failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
