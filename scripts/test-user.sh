#!/usr/bin/env bash
# Boot a kernel with one user program as process 1 and exit with its status.
#
# usage: scripts/test-user.sh ARCH KERNEL.elf PROG [ARG...]
# The console is shown as it comes (and kept in build/ARCH/logs/
# test-user-PROG[-smpN].log); the exit status is the program's (QEMU
# exits with the first process's status: docs/user.md), 124 if the time
# limit expired.  SMP=n boots n harts; TIME_SCALE=n stretches the limit
# (and, for runtests, every test's).
set -uo pipefail

arch=$1 elf=$2 prog=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
smp=${SMP:-1}
scale=${TIME_SCALE:-1}
logs=$(dirname "$elf")/logs
log=$logs/test-user-$prog.log
[ "$smp" != 1 ] && log=$logs/test-user-$prog-smp$smp.log
mkdir -p "$logs"

# runtests passes a TIME_SCALE on to every test program (-s N).
[ "$prog" = runtests ] && [ $# -eq 0 ] && [ "$scale" != 1 ] && set -- -s "$scale"
append="init=$prog"
if [ $# -gt 0 ]; then
	# The kernel splits its command line at spaces: arguments go
	# comma-separated (kernel/main.c, "initargs").
	args=$(IFS=,; echo "$*")
	append+=" initargs=$args"
fi
"$here/run-qemu.sh" --arch "$arch" --smp "$smp" --timeout $((600 * scale)) \
	--append "$append" "$elf" | sed -u 's/\r$//' | tee "$log"
status=${PIPESTATUS[0]}
case $status in
0) ;;
124) echo "test-user: $prog on $arch: time limit expired; log in $log" ;;
*) echo "test-user: $prog on $arch: exit status $status; log in $log" ;;
esac
exit "$status"
