/* In-kernel tests of lab 5 (interrupt-driven drivers): graded checkpoints (grade/lab*.json). */
#include <stddef.h>

#include "kernel/ktest.h"

#ifdef KTEST

const struct ktest_sync ktest_drv_sync[] = {
	{ NULL, NULL },
};

const struct ktest_async ktest_drv_async[] = {
	{ NULL, NULL, NULL },
};

#endif /* KTEST */
