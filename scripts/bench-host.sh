#!/bin/sh
# Host executor benchmarks: callgrind instructions/op, median ns/op, bytes/task, heap allocs.
# usage: scripts/bench-host.sh build/host/exec_bench build/bench-host.json [lto_bin]
set -eu
BIN=${1:-build/host/exec_bench}
JSON=${2:-build/bench-host.json}
LTO=${3:-}
N=${BENCH_N:-1000000}
RUNS=5
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

emit() {	# name value unit
	echo "bench $1 $2 $3"
	echo "$1 $2 $3" >>"$OUT"
}

measure() {	# binary suffix
	for c in spawn_join pingpong timer; do
		# Instructions: only inside bench_<case> (set-up excluded) / N.
		ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			--toggle-collect=bench_$c "$1" $c "$N" 2>&1 >/dev/null |
			sed -n 's/.*Collected : *\([0-9]*\).*/\1/p')
		emit "${c}_instructions$2" "$(awk -v a="$ir" -v n="$N" 'BEGIN{printf "%.1f", a/n}')" "instructions/op"
		# Wall time: median of RUNS native runs.
		ns=$(for i in $(seq $RUNS); do "$1" $c "$N" | awk '{print $3}'; done |
			sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
		emit "${c}_time$2" "$ns" "ns/op"
	done
}

measure "$BIN" ""
[ -n "$LTO" ] && measure "$LTO" "_lto"

set -- $("$BIN" bytes)
emit task_bytes_trivial "$2" "bytes/task"

# Heap allocations per round trip: the whole program's malloc count at two
# sizes; the difference over the extra round trips (0 = none per wake).
allocs() {
	valgrind --tool=memcheck "$BIN" pingpong "$1" 2>&1 >/dev/null |
		sed -n 's/.*total heap usage: *\([0-9,]*\) allocs.*/\1/p' | tr -d ,
}
a1=$(allocs 1000)
a2=$(allocs 11000)
emit pingpong_heap_allocs "$(awk -v a="$a1" -v b="$a2" 'BEGIN{printf "%.3f", (b-a)/10000}')" "allocs/round_trip"

mkdir -p "$(dirname "$JSON")"
awk -v n="$N" 'BEGIN{printf "{\n  \"n\": %s,\n  \"figures\": [\n", n}
	{ if (NR > 1) printf ",\n"; printf "    {\"name\": \"%s\", \"value\": %s, \"unit\": \"%s\"}", $1, $2, $3 }
	END{printf "\n  ]\n}\n"}' "$OUT" >"$JSON"
echo "bench-host: wrote $JSON"
