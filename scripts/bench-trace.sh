#!/usr/bin/env bash
# make bench-trace (make bench runs it last): what tracing costs, counted
# in guest instructions under -icount.
#
# usage: scripts/bench-trace.sh ARCH      (RUNS=n boots, default 5)
# Boots the tracing test kernel (build/ARCH-ktest-trace: KTEST=1 TRACE=1)
# with "kbench": the same in-kernel benchmarks as make bench, so
# irq_to_poll, kspawn_join and kpingpong_roundtrip come out with every
# trace point recording (printed with the suffix _traced), plus the cost
# of one record (trace_event, trace_wake_event: kernel/kbench/trace.c).
# Medians over boots; written to build/ARCH/bench-trace.json.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=$1
runs=${RUNS:-5}
out=build/$arch
kernel=build/$arch-ktest-trace/kernel.elf
mkdir -p "$out/bench"
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2)}'; }

for i in $(seq "$runs"); do
	scripts/run-qemu.sh --arch "$arch" --icount --timeout 120 --append kbench \
		--out "$out/bench/kbench-trace.$i.log" "$kernel" \
		|| { echo "bench-trace: run $i failed (log: $out/bench/kbench-trace.$i.log)" >&2; exit 1; }
	sed 's/\r$//' "$out/bench/kbench-trace.$i.log" | grep '^bench '
done >"$out/bench/kbench-trace.txt"
results=()
for name in irq_to_poll kspawn_join kpingpong_roundtrip trace_event trace_wake_event; do
	unit=$(awk -v n="$name" '$2 == n {print $4; exit}' "$out/bench/kbench-trace.txt")
	[ -n "$unit" ] || { echo "bench-trace: no $name figure (log: $out/bench/kbench-trace.1.log)" >&2; exit 1; }
	v=$(awk -v n="$name" '$2 == n {print $3}' "$out/bench/kbench-trace.txt" | median)
	case $name in trace_*) shown=$name ;; *) shown=${name}_traced ;; esac
	echo "bench $shown $v $unit"
	results+=("{\"name\": \"$shown\", \"median\": $v, \"unit\": \"$unit\", \"runs\": $runs}")
done
{
	echo "{\"arch\": \"$arch\", \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\", \"results\": ["
	(IFS=,; echo "  ${results[*]}" | sed 's/},{/},\n  {/g')
	echo "]}"
} >"$out/bench-trace.json"
echo "bench-trace: wrote $out/bench-trace.json"
