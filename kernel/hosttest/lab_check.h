/* CHECK, CHECK_EQ and EXPECT for the labs' host checkpoints (a failure is counted, the test goes on, and only the first few are said), and the runner's main. */
#ifndef KERNEL_HOSTTEST_LAB_CHECK_H
#define KERNEL_HOSTTEST_LAB_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * One mistake in a student's code makes many checks fail, often the same
 * one in a loop: each failure counts in failed_checks, but a check is said
 * once in a row and at most four per test (EXPECT says the rule it
 * enforces).  The runner (lab_check_main) zeroes failed_checks, lab_said and
 * lab_last_line before each test.
 */
static int failed_checks;
static int lab_said;      /* failures printed in this test */
static int lab_last_line; /* a check in a loop is said once */

static inline bool lab_say_failure(int line)
{
	failed_checks++;
	if (line == lab_last_line)
		return false;
	lab_last_line = line;
	if (lab_said++ < 4)
		return true;
	if (lab_said == 5)
		printf("    (more failed checks not shown)\n");
	return false;
}

#define CHECK(c) lab_expect((c), #c, NULL, __FILE__, __LINE__)
#define EXPECT(c, rule) lab_expect((c), #c, rule, __FILE__, __LINE__)
#define CHECK_EQ(a, b) lab_check_eq((int64_t)(a), (int64_t)(b), #a, #b, __FILE__, __LINE__)

static inline void lab_expect(bool ok, const char *what, const char *rule, const char *file,
			      int line)
{
	if (!ok && lab_say_failure(line)) {
		if (rule)
			printf("    %s:%d: %s (%s failed)\n", file, line, rule, what);
		else
			printf("    %s:%d: CHECK(%s) failed\n", file, line, what);
	}
}

static inline void lab_check_eq(int64_t a, int64_t b, const char *sa, const char *sb,
				const char *file, int line)
{
	if (a != b && lab_say_failure(line))
		printf("    %s:%d: %s == %s: %lld != %lld\n", file, line, sa, sb, (long long)a,
		       (long long)b);
}

/* Zero the counts before a test. */
static inline void lab_check_reset(void)
{
	failed_checks = 0;
	lab_said = 0;
	lab_last_line = 0;
}

struct lab_test {
	void (*fn)(void);
	const char *name;
};

/*
 * The checkpoint runner's main: `SUITE [-T TOKEN] [NAME...]` runs every test,
 * or the ones named, each after lab_check_reset, and prints one line a test,
 * "SUITE NAME: OK" or "SUITE NAME: FAILED (N checks)", then "N passed, N
 * failed".  With a token (scripts/grade.py) each OK line ends in "[TOKEN]":
 * the grader matches these lines, so their words must not change.  A name
 * that is no test fails.  Returns main's exit status.
 */
static inline int lab_check_main(const char *suite, const struct lab_test *tests, size_t n,
				 int argc, char **argv)
{
	const char *token = NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "-T") == 0) {
		token = argv[2];
		argv += 2;
		argc -= 2;
	}
	unsigned passed = 0, failed = 0;
	for (int a = 1; a < argc; a++) {
		size_t i = 0;
		while (i < n && strcmp(tests[i].name, argv[a]) != 0)
			i++;
		if (i == n) {
			printf("%s %s: FAILED (no such test)\n", suite, argv[a]);
			failed++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		bool named = argc <= 1;
		for (int a = 1; a < argc; a++)
			named |= strcmp(tests[i].name, argv[a]) == 0;
		if (!named)
			continue;
		lab_check_reset();
		tests[i].fn();
		if (failed_checks) {
			printf("%s %s: FAILED (%d checks)\n", suite, tests[i].name, failed_checks);
			failed++;
		} else {
			if (token)
				printf("%s %s: OK [%s]\n", suite, tests[i].name, token);
			else
				printf("%s %s: OK\n", suite, tests[i].name);
			passed++;
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif /* KERNEL_HOSTTEST_LAB_CHECK_H */
