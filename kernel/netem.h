/* Loss injection for the network link: which frames to drop, duplicate or hold back (net_drop=P). */
#ifndef KERNEL_NETEM_H
#define KERNEL_NETEM_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One decision per frame, from a small deterministic generator, so a run
 * with the same net_drop=P and net_seed=S makes the same decisions for the
 * n-th frame of each direction (the driver keeps one netem per direction;
 * which frames those are depends on timing, as on a real link).
 *
 * Three independent rolls, each true with probability P/100:
 *   drop     the frame is lost;
 *   then, for a frame not dropped,
 *   dup      it is delivered twice, the copy right after it;
 *   hold     it is held back and delivered after the next frame (if a frame
 *            is already held, this one goes on normally).
 * So P% of frames are dropped and about P% of the rest each duplicated and
 * reordered.  P is 0..NETEM_MAX_PCT; 0 makes no decision at all.
 *
 * Pure and freestanding: the host tests it (kernel/hosttest/virtq_test.c).
 */
#define NETEM_MAX_PCT 50

#define NETEM_DROP 1u
#define NETEM_DUP  2u
#define NETEM_HOLD 4u

struct netem {
	uint64_t state;  /* xorshift64 state, never 0 */
	unsigned pct;
};

static inline void netem_init(struct netem *n, unsigned pct, uint64_t seed)
{
	n->pct = pct > NETEM_MAX_PCT ? NETEM_MAX_PCT : pct;
	/* splitmix64's finaliser spreads small seeds over all 64 bits. */
	uint64_t z = seed + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	n->state = z ? z : 1;
}

/* A number in 0..99 (xorshift64; the bias of % 100 is below 1e-17). */
static inline unsigned netem_roll(struct netem *n)
{
	uint64_t x = n->state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	n->state = x;
	return (unsigned)(x % 100);
}

/* The next frame's fate: 0 or NETEM_DROP, or NETEM_DUP and/or NETEM_HOLD.
 * Always three rolls, so one frame's fate does not shift the next's. */
static inline unsigned netem_decide(struct netem *n)
{
	if (n->pct == 0)
		return 0;
	bool drop = netem_roll(n) < n->pct;
	bool dup = netem_roll(n) < n->pct;
	bool hold = netem_roll(n) < n->pct;
	if (drop)
		return NETEM_DROP;
	return (dup ? NETEM_DUP : 0) | (hold ? NETEM_HOLD : 0);
}

#endif /* KERNEL_NETEM_H */
