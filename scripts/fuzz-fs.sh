#!/usr/bin/env bash
# Run the file system's two libFuzzer targets for SECONDS each (make
# host-test-fsfuzz: a bounded slice; make fuzz-fs: a long run).
#
# usage: scripts/fuzz-fs.sh SECONDS FUZZ_DIR
#   FUZZ_DIR holds fs_fuzz_image, fs_fuzz_ops, base.img (made by the
#   Makefile) and the corpora, which grow from run to run.  A failing
#   input is kept as FUZZ_DIR/crash-<target>-*: rerun it with
#   FS_FUZZ_BASE=FUZZ_DIR/base.img FUZZ_DIR/fs_fuzz_<target> FILE.
# Prints one line per target and "N passed, N failed".
set -uo pipefail
secs=${1:?seconds}
dir=${2:?fuzz dir}
pass=0 fail=0
for t in image ops; do
	mkdir -p "$dir/corpus-$t"
	log=$dir/$t.log
	if FS_FUZZ_BASE=$dir/base.img "$dir/fs_fuzz_$t" -max_total_time="$secs" -timeout=20 \
		-max_len=512 -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$dir/crash-$t-" "$dir/corpus-$t" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		echo "fuzz-fs: $t: OK, ${runs:-?} inputs in ${secs}s, $cov"
		pass=$((pass + 1))
	else
		echo "fuzz-fs: $t: FAILED (log: $log)"
		grep -E 'ERROR|SUMMARY|fs_fuzz:|Test unit written' "$log" | head -20
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
