#!/usr/bin/env bash
# make check: every test suite, both arches; one closing "N passed, N failed".
#
# Each step's own closing lines ("N passed, N failed", read by
# scripts/summary.sh) are added up.  A step that fails without printing one counts as one
# failure, so a crash or a build error is never silent.  Logs: build/check/.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/summary.sh

# Builds use every core (each step's make, and the makes its scripts run);
# the tests themselves run one step at a time.
export MAKEFLAGS="-j$(nproc) ${MAKEFLAGS:-}"

scripts/deps.sh || { echo "check: could not install dependencies"; summary_print 0 1; exit 1; }
mkdir -p build/check

# The host suites are the Makefile's HOST_TESTS (make host-test runs the same).
hosts=$(make -s --no-print-directory host-test-list)
[ -n "$hosts" ] || { echo "check: make host-test-list printed no suites"; summary_print 0 1; exit 1; }
steps=()
for t in $hosts; do
	steps+=("host-$t|make --no-print-directory host-test-$t")
done
steps+=(
	"model|make --no-print-directory model"
	"ktest-riscv64|make --no-print-directory ktest ARCH=riscv64"
	"ktest-aarch64|make --no-print-directory ktest ARCH=aarch64"
	"ktest-smp4-riscv64|make --no-print-directory ktest ARCH=riscv64 SMP=4"
	"ktest-smp4-aarch64|make --no-print-directory ktest ARCH=aarch64 SMP=4"
	"usertests-riscv64|make --no-print-directory utest ARCH=riscv64"
	"usertests-aarch64|make --no-print-directory utest ARCH=aarch64"
	"usertests-smp4-riscv64|make --no-print-directory utest ARCH=riscv64 SMP=4"
	"usertests-smp4-aarch64|make --no-print-directory utest ARCH=aarch64 SMP=4"
	"fs-riscv64|make --no-print-directory fstest ARCH=riscv64"
	"fs-aarch64|make --no-print-directory fstest ARCH=aarch64"
	"fs-smp4-riscv64|make --no-print-directory fstest ARCH=riscv64 SMP=4"
	"fs-smp4-aarch64|make --no-print-directory fstest ARCH=aarch64 SMP=4"
	"fs-nodisk-riscv64|make --no-print-directory fstest ARCH=riscv64 NODISK=1"
	"fs-nodisk-aarch64|make --no-print-directory fstest ARCH=aarch64 NODISK=1"
	"shell-riscv64|make --no-print-directory shtest ARCH=riscv64"
	"shell-aarch64|make --no-print-directory shtest ARCH=aarch64"
	"shell-smp4-riscv64|make --no-print-directory shtest ARCH=riscv64 SMP=4"
	"shell-smp4-aarch64|make --no-print-directory shtest ARCH=aarch64 SMP=4"
	"boot-loop-riscv64|make --no-print-directory boot-loop-arch ARCH=riscv64 BOOTS=24"
	"boot-loop-aarch64|make --no-print-directory boot-loop-arch ARCH=aarch64 BOOTS=24"
	"net-riscv64|make --no-print-directory nettest ARCH=riscv64"
	"net-aarch64|make --no-print-directory nettest ARCH=aarch64"
	"net-tcp-smp4-riscv64|make --no-print-directory nettest ARCH=riscv64 SMP=4 NETTEST_ONLY=tcp"
	"fssys-riscv64|make --no-print-directory fssys ARCH=riscv64"
	"fssys-aarch64|make --no-print-directory fssys ARCH=aarch64"
	"fssys-smp4-riscv64|make --no-print-directory fssys ARCH=riscv64 SMP=4 FSSYS=conc,persist"
	"fssys-smp4-aarch64|make --no-print-directory fssys ARCH=aarch64 SMP=4 FSSYS=conc,persist"
	"timers-exact-riscv64|make --no-print-directory utest ARCH=riscv64 TESTS=timers_busy_exact ICOUNT=1"
	"timers-exact-aarch64|make --no-print-directory utest ARCH=aarch64 TESTS=timers_busy_exact ICOUNT=1"
	"gdb-riscv64|make --no-print-directory gdb-test ARCH=riscv64"
	"gdb-smp2-aarch64|make --no-print-directory gdb-test ARCH=aarch64 SMP=2"
	"harness-riscv64|make --no-print-directory harness-check ARCH=riscv64"
	"harness-aarch64|make --no-print-directory harness-check ARCH=aarch64"
	"harness-smp4-riscv64|make --no-print-directory harness-check ARCH=riscv64 SMP=4"
	"harness-smp4-aarch64|make --no-print-directory harness-check ARCH=aarch64 SMP=4"
	"fuzz-sys-riscv64|make --no-print-directory fuzz-sys-slice ARCH=riscv64 SMP=1"
	"fuzz-sys-aarch64|make --no-print-directory fuzz-sys-slice ARCH=aarch64 SMP=1"
	"fuzz-sys-smp4-riscv64|make --no-print-directory fuzz-sys-slice ARCH=riscv64 SMP=4"
	"fuzz-sys-smp4-aarch64|make --no-print-directory fuzz-sys-slice ARCH=aarch64 SMP=4"
	"test-user-riscv64|make --no-print-directory test-user ARCH=riscv64"
	"test-user-aarch64|make --no-print-directory test-user ARCH=aarch64"
	"test-user-smp4-riscv64|make --no-print-directory test-user ARCH=riscv64 SMP=4"
	"test-user-smp4-aarch64|make --no-print-directory test-user ARCH=aarch64 SMP=4"
	"trace-riscv64|make --no-print-directory trace-test ARCH=riscv64"
	"trace-aarch64|make --no-print-directory trace-test ARCH=aarch64"
	"tutorial|make --no-print-directory tutorial-check"
	"grade-labs|make --no-print-directory grade-selftest"
	"grade-autograder|make --no-print-directory grade-autograder-test"
	"grade-mutants|make --no-print-directory mutants-check"
)
# CHECK_ONLY='host-fdt|ktest-riscv64' runs a subset (a regex on step names).
if [ -n "${CHECK_ONLY:-}" ]; then
	sel=()
	for s in "${steps[@]}"; do
		[[ ${s%%|*} =~ ^(${CHECK_ONLY})$ ]] && sel+=("$s")
	done
	steps=("${sel[@]}")
fi

total_p=0 total_f=0 table=""
for step in "${steps[@]}"; do
	name=${step%%|*} cmd=${step#*|}
	log=build/check/$name.log
	echo "=== $name: $cmd"
	start=$SECONDS
	$cmd 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	summary_read "$log" all
	p=$PASSED f=$FAILED
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "=== $name: exited with status $status without a failing test; counted as a failure"
		f=$((f + 1))
	fi
	total_p=$((total_p + p)) total_f=$((total_f + f))
	table+=$(printf '%-24s %6d passed %4d failed %5ds' "$name" "$p" "$f" $((SECONDS - start)))$'\n'
done

echo
echo "=== summary"
printf '%s' "$table"
summary_print "$total_p" "$total_f"
[ "$total_f" -eq 0 ]
