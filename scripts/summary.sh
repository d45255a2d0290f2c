# The one reader and writer of "N passed, N failed", the closing line of
# every test runner (host tests, ktest, usertests, the grader, make check).
# Source it from bash:  . scripts/summary.sh
#
# A summary line is exactly "<N> passed, <N> failed" on a line of its own
# (a trailing CR, from a serial console, is ignored).  An indented copy
# ("  | 3 passed, 0 failed": a nested runner's output shown by another)
# is not one, so it is never counted twice.

# summary_read FILE [all]: set PASSED and FAILED from FILE's last summary
# line, or with "all" from the sum of every one.  Returns 1, with both 0,
# when FILE has none.
summary_read() {
	PASSED=0 FAILED=0
	local lines p f
	lines=$(sed 's/\r$//' "$1" 2>/dev/null | grep -E '^[0-9]+ passed, [0-9]+ failed$')
	[ -n "$lines" ] || return 1
	[ "${2:-last}" = all ] || lines=${lines##*$'\n'}
	while read -r p _ f _; do
		PASSED=$((PASSED + 10#$p)) FAILED=$((FAILED + 10#$f))
	done <<<"$lines"
}

# summary_print P F: the summary line itself.
summary_print() {
	echo "$1 passed, $2 failed"
}
