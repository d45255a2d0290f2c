/* A fake disk in memory for the file-system host tests: completes in any order, fails, crashes. */
#ifndef KERNEL_FS_HOSTTEST_FAKEDISK_H
#define KERNEL_FS_HOSTTEST_FAKEDISK_H

#include <stdbool.h>
#include <stdint.h>

#include "executor/spin.h"
#include "kernel/fs/fs.h"

/*
 * Requests wait in flight until the test's runner completes them
 * (fakedisk_complete: a random choice among those in flight, from a
 * seeded generator, so a run repeats exactly).  A crash point makes the
 * disk stop storing writes after the N-th completed one, as a power cut
 * would: later writes still "complete", nothing of them reaches the
 * blocks.  A bad block fails every read of it with -PX_EIO.  The disk's
 * state is behind a spin lock and wakers are woken after it is dropped,
 * so a device thread may complete requests while executor threads poll
 * them (kernel/fs/hosttest/fs_stress.c).
 */
#define FAKEDISK_MAX_INFLIGHT 4096

struct fakedisk {
	struct spin lock;
	struct fs_dev dev;
	uint8_t *mem;
	uint64_t nblocks;
	struct fs_req *inflight[FAKEDISK_MAX_INFLIGHT];
	unsigned n;
	uint64_t rng;
	long writes;              /* writes stored */
	long crash_after;         /* -1: never */
	bool crashed;
	uint32_t bad_block;       /* UINT32_MAX: none */
	unsigned inflight_max;
	uint64_t reads_done, writes_done;
};

void fakedisk_init(struct fakedisk *d, uint64_t nblocks, uint64_t seed);
void fakedisk_free(struct fakedisk *d);
/* A fake disk holding the image file at path (whole blocks): 0, or -1
 * if it cannot be read. */
int fakedisk_load(struct fakedisk *d, const char *path, uint64_t seed);
/* Read or write block b of the fake disk (ctx) directly, past every
 * request, as fsck_check's fsck_read_fn and fsck_write_fn: 0, or -1
 * beyond the end. */
int fakedisk_read_block(void *ctx, uint32_t b, void *buf);
int fakedisk_write_block(void *ctx, uint32_t b, const void *buf);
/* Complete up to k requests (a random choice); returns how many. */
unsigned fakedisk_complete(struct fakedisk *d, unsigned k);

/* Drive futures to Ready: poll each woken one; when none is woken, the
 * disk completes a random batch.  0, or -1 if they wait for nothing (a
 * deadlock or a lost wake-up). */
int run_all(struct fakedisk *d, struct io_future *const *fs, unsigned n);
/* One operation: started with its result or IO_STARTED, then driven.
 * Returns io.result. */
int64_t run1(struct fakedisk *d, union io_slot *slot, int64_t started);

#endif /* KERNEL_FS_HOSTTEST_FAKEDISK_H */
