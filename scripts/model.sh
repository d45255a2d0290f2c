#!/usr/bin/env bash
# make model: run the SPIN models of the executor and the ring; each must
# pass, and each of its known-bad variants must be caught.
#
# usage: scripts/model.sh [model...]   (default: every models' .pml below)
# A model is executor/model/*.pml or kernel/model/*.pml.  Its header
# comment names its bad variants as lines " *   BAD_NAME  ..."; each is
# the same model built with -DBAD_NAME.  Exhaustive safety search
# (assertions, invalid end states); SPIN's timeout-guarded monitor in each
# model checks what must hold once nothing can move.  Work files in
# build/model/.  Prints one line per run, then "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/summary.sh

scripts/deps.sh model || { echo "model: could not install spin"; summary_print 0 1; exit 1; }

models=("$@")
[ ${#models[@]} -eq 0 ] && models=(executor/model/*.pml kernel/model/*.pml)
mem=${MODEL_MEM_MB:-4096}
passed=0 failed=0

# run NAME FILE DEFINE: verify FILE (with -DDEFINE unless empty) in
# build/model/NAME; sets ERRORS, STATES, WHY.
run() {
	local name=$1 file=$2 def=$3 dir=build/model/$1 out
	rm -rf "$dir" && mkdir -p "$dir"
	cp "$file" "$dir/model.pml"
	ERRORS=x STATES=? WHY=
	(cd "$dir" && spin ${def:+-D$def} -a model.pml >spin.log 2>&1) || { WHY="spin -a failed: $(tail -1 "$dir/spin.log")"; return; }
	# A bad variant stops at its first error: compiling fast beats running fast.
	local opt=-O2
	[ -n "$def" ] && opt=-O0
	(cd "$dir" && gcc $opt -w -DSAFETY -DCOLLAPSE -DMEMLIM=$mem -o pan pan.c >cc.log 2>&1) || { WHY="pan did not compile"; return; }
	(cd "$dir" && ./pan -m200000 >pan.log 2>&1)
	out=$dir/pan.log
	ERRORS=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | tail -1)
	STATES=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$out" | tail -1)
	WHY=$(grep -m1 -E 'assertion violated|invalid end state|error:' "$out" | sed 's/^pan:[0-9]*: *//')
	grep -qE 'Search not completed|max search depth too small|out of memory' "$out" &&
		[ "${ERRORS:-x}" = 0 ] && ERRORS=incomplete
}

for m in "${models[@]}"; do
	base=$(basename "$m" .pml)
	start=$SECONDS
	run "$base" "$m" ""
	if [ "$ERRORS" = 0 ]; then
		echo "model $base: OK ($STATES states, $((SECONDS - start))s)"
		passed=$((passed + 1))
	else
		echo "model $base: FAILED (errors: $ERRORS) $WHY; see build/model/$base/pan.log"
		failed=$((failed + 1))
	fi
	for bad in $(sed -n 's/^ \*   \(BAD_[A-Z0-9_]*\).*/\1/p' "$m"); do
		run "$base-$bad" "$m" "$bad"
		if [[ "$ERRORS" =~ ^[1-9][0-9]*$ ]]; then
			echo "model $base $bad: caught ($WHY)"
			passed=$((passed + 1))
		else
			echo "model $base $bad: NOT caught (errors: $ERRORS $WHY); see build/model/$base-$bad/pan.log"
			failed=$((failed + 1))
		fi
	done
done
summary_print "$passed" "$failed"
[ "$failed" -eq 0 ]
