/* Minimal host test framework: self-registering TEST()s, one runner. */
#ifndef EXECUTOR_TESTS_TEST_H
#define EXECUTOR_TESTS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 *   TEST(channel_closes) { ... CHECK(x == 1); CHECK_EQ(a, b); ... }
 *
 * Each TEST registers itself before main (a constructor), so test files
 * need no shared table.  The runner (tests/runner.c) runs them in name
 * order, or only those whose name contains argv[1], prints OK/FAILED per
 * test and closes with "N passed, N failed".  A failed CHECK ends the
 * test at once (returns from it) and marks it failed.
 */
struct test_case {
	const char *name;
	const char *file;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *tc);
/* Set by CHECK on failure; read by the runner. */
extern int test_failed;

#define TEST(name)                                                      \
	static void test_fn_##name(void);                               \
	static struct test_case test_case_##name = {                    \
		#name, __FILE__, test_fn_##name, NULL };                \
	__attribute__((constructor)) static void test_reg_##name(void)  \
	{ test_register(&test_case_##name); }                           \
	static void test_fn_##name(void)

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "    %s:%d: CHECK(%s) failed\n",  \
			        __FILE__, __LINE__, #cond);             \
			test_failed = 1;                                \
			return;                                         \
		}                                                       \
	} while (0)

#define CHECK_EQ(a, b)                                                  \
	do {                                                            \
		long long check_a_ = (long long)(a);                    \
		long long check_b_ = (long long)(b);                    \
		if (check_a_ != check_b_) {                             \
			fprintf(stderr, "    %s:%d: CHECK_EQ(%s, %s): "   \
			        "%lld != %lld\n", __FILE__, __LINE__,   \
			        #a, #b, check_a_, check_b_);            \
			test_failed = 1;                                \
			return;                                         \
		}                                                       \
	} while (0)

#define CHECK_STR(a, b)                                                 \
	do {                                                            \
		const char *check_a_ = (a), *check_b_ = (b);            \
		if (strcmp(check_a_, check_b_) != 0) {                  \
			fprintf(stderr, "    %s:%d: CHECK_STR(%s, %s):\n" \
			        "      got      \"%s\"\n"                 \
			        "      expected \"%s\"\n", __FILE__,      \
			        __LINE__, #a, #b, check_a_, check_b_);  \
			test_failed = 1;                                \
			return;                                         \
		}                                                       \
	} while (0)

#endif /* EXECUTOR_TESTS_TEST_H */
