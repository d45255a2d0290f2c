/* CHECK, CHECK_EQ and EXPECT for the labs' host checkpoints: a failure is counted, the test goes on, and only the first few are said. */
#ifndef KERNEL_HOSTTEST_LAB_CHECK_H
#define KERNEL_HOSTTEST_LAB_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * One mistake in a student's code makes many checks fail, often the same
 * one in a loop: each failure counts in failed_checks, but a check is said
 * once in a row and at most four per test (EXPECT says the rule it
 * enforces).  The runner zeroes failed_checks, lab_said and lab_last_line
 * before each test.
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

#endif /* KERNEL_HOSTTEST_LAB_CHECK_H */
