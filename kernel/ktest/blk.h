/* In-kernel tests of the virtio-blk driver (KTEST=1 builds; listed in kernel/ktest/ktest.c). */
#ifndef KERNEL_KTEST_BLK_H
#define KERNEL_KTEST_BLK_H

#include <stdbool.h>

bool ktest_blk_pattern(void);  /* 256 sectors written and read, 8+ in flight */
bool ktest_blk_range(void);    /* end of disk: refused up front; device IOERR is an error */
bool ktest_blk_exhaust(void);  /* more requests than descriptors wait (a nowait one is refused), then finish */
bool ktest_blk_stats(void);    /* requests == completions, interrupts > 0 */

#endif /* KERNEL_KTEST_BLK_H */
