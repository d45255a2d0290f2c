/* In-kernel tests of labs 2-4 (futures and wakers, the executor, timers): graded checkpoints (grade/lab*.json). */
#include <stddef.h>

#include "kernel/ktest.h"

#ifdef KTEST

const struct ktest_sync ktest_exec_sync[] = {
	{ NULL, NULL },
};

const struct ktest_async ktest_exec_async[] = {
	{ NULL, NULL, NULL },
};

#endif /* KTEST */
