/* Inside the test harness: what px_test.c and px_test_runner.c share. */
#ifndef USER_LIB_PX_TEST_INT_H
#define USER_LIB_PX_TEST_INT_H

#include <stdbool.h>

#include "px_test.h"

/* The command line (px_test.h, "Running"). */
struct px_test_opts {
	bool list;              /* -l */
	bool isolate;           /* -i */
	bool here;              /* -n */
	unsigned scale;         /* -s N; 1 */
	int nfilters;
	char **filters;
	/* --px-child WFD RFD FIRST: this process is the runner's child */
	bool child;
	int wfd, rfd;
	unsigned first;
	/* the options and filters as given, for the child's command line */
	int nargs;
	char **args;
};

/* The registered tests, in order. */
unsigned px_test_count(void);
const struct px_test *px_test_at(unsigned i);
bool px_test_selected(const struct px_test_opts *o, unsigned i);
/* The first selected test at index i or later; px_test_count() if none. */
unsigned px_test_next(const struct px_test_opts *o, unsigned i);
/* Run test i in this process: fresh executor, the test, what it left
 * behind; prints its verdict line.  True if it passed. */
bool px_test_run_here(unsigned i);
/* Its time limit in ms, options included. */
unsigned px_test_limit_ms(const struct px_test_opts *o, const struct px_test *t);

/* px_test_runner.c: the runner's side and the child's. */
/* Run the selected tests in child processes, adding to *passed and
 * *failed.  -1 if not even the first child could be started (nothing
 * counted; the caller may run them here instead). */
int px_test_supervise(const struct px_test_opts *o, const char *prog, int *passed,
                      int *failed);
/* The child: run tests from o->first on, reporting on o->wfd. */
int px_test_child(const struct px_test_opts *o);

#endif /* USER_LIB_PX_TEST_INT_H */
