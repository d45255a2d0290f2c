/* Host test runner: runs every registered TEST, prints "N passed, N failed". */
#include "check.h"
#include "test.h"

static struct test_case *tests;
static int ntests;
int test_failed;

void test_register(struct test_case *tc)
{
	tc->next = tests;
	tests = tc;
	ntests++;
}

/* Prints the note; counts in *arg those that fail the test (all but a
 * self-wake storm, which is only reported). */
static void say_note(void *arg, const struct check_note *n)
{
	*(int *)arg += n->kind != CHECK_SELF_WAKE_STORM;
	printf("\n    %s: task %s (polls %u, wakes %u, waker clones %u, drops %u, "
	       "self-wakes %u, references %u) ", exec_check_kind_name(n->kind), n->name,
	       n->polls, n->wakes, n->clones, n->drops, n->requeues, n->refs);
}

static int by_name(const void *a, const void *b)
{
	const struct test_case *x = *(struct test_case *const *)a;
	const struct test_case *y = *(struct test_case *const *)b;
	return strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	struct test_case **v = calloc((size_t)ntests + 1, sizeof(*v));
	int n = 0, passed = 0, failed = 0;

	for (struct test_case *t = tests; t; t = t->next)
		v[n++] = t;
	qsort(v, (size_t)n, sizeof(*v), by_name);

	for (int i = 0; i < n; i++) {
		if (filter && !strstr(v[i]->name, filter))
			continue;
		test_failed = 0;
		exec_check_allow(0);
		printf("test %s: ", v[i]->name);
		fflush(stdout);
		v[i]->fn();
		/* The waker discipline checks (executor/check.h): what the
		 * test left behind in the static pools, and what the
		 * executor noted while it ran. */
		int failing = 0;
		exec_check_scan(NULL, CHECK_SCAN_ALL);
		exec_check_drain(say_note, &failing);
		if (failing)
			test_failed = 1;
		printf("%s\n", test_failed ? "FAILED" : "OK");
		if (test_failed)
			failed++;
		else
			passed++;
	}
	free(v);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
