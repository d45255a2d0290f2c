/* CHECK/CHECK_EQ for the kernel's host tests (count a failure and go on), and check_run, their runner. */
#ifndef KERNEL_TESTS_CHECK_H
#define KERNEL_TESTS_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Each host test is one program (one translation unit): the runner
 * (check_run, or the test's own) zeroes failed_checks before a test and
 * reports FAILED if it grew.  A failed check prints where and why, and
 * the test continues, so one run shows every broken expectation.
 */
static int failed_checks;

#define CHECK(c) check_true((c), #c, __FILE__, __LINE__)
#define CHECK_EQ(a, b) \
	check_eq((uint64_t)(a), (uint64_t)(b), #a, #b, __FILE__, __LINE__)

static inline void check_true(int ok, const char *what, const char *file, int line)
{
	if (!ok) {
		printf("    %s:%d: CHECK(%s) failed\n", file, line, what);
		failed_checks++;
	}
}

static inline void check_eq(uint64_t a, uint64_t b, const char *sa, const char *sb,
			    const char *file, int line)
{
	if (a != b) {
		printf("    %s:%d: %s == %s: %#llx (%llu) != %#llx (%llu)\n", file, line,
		       sa, sb, (unsigned long long)a, (unsigned long long)a,
		       (unsigned long long)b, (unsigned long long)b);
		failed_checks++;
	}
}

struct check_test {
	void (*fn)(void);
	const char *name;
};

/* Run every test, failed_checks zeroed before each; print "SUITE NAME: OK"
 * or "SUITE NAME: FAILED" a test, then "N passed, N failed".  Returns how
 * many failed. */
static inline int check_run(const char *suite, const struct check_test *tests, size_t n)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		failed_checks = 0;
		tests[i].fn();
		printf("%s %s: %s\n", suite, tests[i].name, failed_checks ? "FAILED" : "OK");
		if (failed_checks)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed;
}

#endif /* KERNEL_TESTS_CHECK_H */
