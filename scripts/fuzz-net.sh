#!/usr/bin/env bash
# Run the network stack's libFuzzer target for SECONDS (make
# host-test-netfuzz: a bounded slice; make fuzz-net: a long run).
#
# usage: scripts/fuzz-net.sh SECONDS FUZZ_DIR
#   FUZZ_DIR holds net_fuzz (made by the Makefile) and its corpus, which
#   grows from run to run.  A failing input is kept as
#   FUZZ_DIR/crash-net-*: rerun it with FUZZ_DIR/net_fuzz FILE.
# Prints one line and "N passed, N failed".
set -uo pipefail
secs=${1:?seconds}
dir=${2:?fuzz dir}
mkdir -p "$dir/corpus-net"
log=$dir/net.log
# Hand-made starting points (read only): one record of each kind.
seeds=$(cd "$(dirname "$0")/.." && pwd)/kernel/net/hosttest/seeds
if "$dir/net_fuzz" -max_total_time="$secs" -timeout=20 -max_len=4096 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$dir/crash-net-" "$dir/corpus-net" "$seeds" \
	>"$log" 2>&1; then
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	echo "fuzz-net: OK, ${runs:-?} inputs in ${secs}s, $cov"
	echo "1 passed, 0 failed"
	exit 0
fi
echo "fuzz-net: FAILED (log: $log)"
grep -E 'ERROR|SUMMARY|net_fuzz:|Test unit written' "$log" | head -20
echo "0 passed, 1 failed"
exit 1
