/* Tracing kernel only: per-hart event buffers, a process's records, and the console dump. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/console.h"
#include "kernel/machine.h"
#include "kernel/proc.h"
#include "kernel/trace.h"
#include "kernel/uaccess.h"
#include "lib/uapi/pollux.h"

/*
 * Each hart owns one ring of TRACE_CAP records and is its only writer:
 * ktrace masks interrupts for the few stores of one record, so a
 * handler's record can neither interleave with nor reorder against the
 * one it interrupted, and no lock is taken.  `written` counts records
 * ever written; the ring keeps the last `cap` (TRACE_CAP, or fewer with
 * trace.cap=N on the command line), and written - cap were overwritten:
 * lost, and reported as such by the dump.
 */
#ifndef TRACE_CAP
#define TRACE_CAP 8192
#endif
#define TRAP_NEST 4

struct hart_buf {
	uint64_t written;
	struct px_trace_rec rec[TRACE_CAP];
};
static struct hart_buf bufs[SMP_MAX];
static unsigned cap = TRACE_CAP;
static atomic_int frozen;
/* This hart's buffer (found once: cheaper than asking for the hart id). */
static _Thread_local struct hart_buf *mine;

/* Per hart: the interrupt handlers this hart is inside, innermost last
 * (cause << 16 | interrupt number), for a wake's origin. */
static _Thread_local unsigned trap_nest;
static _Thread_local uint32_t trap_ctx[TRAP_NEST];

/* Interrupts masked.  NULL: a hart beyond SMP_MAX (records nothing). */
static struct hart_buf *my_buf(void)
{
	if (!mine) {
		unsigned h = arch_hart_id();
		if (h >= SMP_MAX)
			return NULL;
		mine = &bufs[h];
	}
	return mine;
}

void ktrace(unsigned ev, unsigned x, uint64_t a, uint64_t b)
{
	if (atomic_load_explicit(&frozen, memory_order_relaxed))
		return;
	unsigned long f = arch_irq_save();
	struct hart_buf *hb = my_buf();
	if (hb) {
		struct px_trace_rec *r = &hb->rec[hb->written++ % cap];
		r->ts = arch_timer_now();
		r->ev = (uint8_t)ev;
		r->hart = (uint8_t)(hb - bufs);
		r->x = (uint16_t)x;
		r->pid = 0;
		r->a = a;
		r->b = b;
	}
	arch_irq_restore(f);
}

/* The executor's hook (executor/trace.h): a wake from no task and no
 * timer, inside an interrupt handler, is that interrupt's. */
void exec_trace_emit(unsigned ev, unsigned x, uint64_t a, uint64_t b)
{
	if (ev == PX_TR_WAKE && (x & 0xf) == PX_TR_FROM_OUTSIDE && trap_nest) {
		x = (x & ~0xfu) | PX_TR_FROM_IRQ;
		b = trap_ctx[(trap_nest > TRAP_NEST ? TRAP_NEST : trap_nest) - 1];
	}
	ktrace(ev, x, a, b);
}

void ktrace_trap_enter(unsigned cause)
{
	if (trap_nest < TRAP_NEST)
		trap_ctx[trap_nest] = cause << 16;
	trap_nest++;
	ktrace(PX_TR_TRAP_ENTER, cause, 0, 0);
}

void ktrace_trap_exit(void)
{
	unsigned n = trap_nest ? --trap_nest : 0;
	ktrace(PX_TR_TRAP_EXIT, n < TRAP_NEST ? trap_ctx[n] >> 16 : 0, 0, 0);
}

void ktrace_irq(unsigned irq)
{
	if (trap_nest && trap_nest <= TRAP_NEST)
		trap_ctx[trap_nest - 1] = (trap_ctx[trap_nest - 1] & ~0xffffu) | (irq & 0xffffu);
	ktrace(PX_TR_IRQ, irq, 0, 0);
}

void ktrace_init(void)
{
	char v[16];
	if (bootarg("trace.cap", v, sizeof(v))) {
		unsigned long n = strtoul(v, NULL, 10);
		if (n >= 1 && n <= TRACE_CAP)
			cap = (unsigned)n;
	}
}

static bool user_event(unsigned ev)
{
	unsigned base = ev & ~(unsigned)PX_TR_U;
	return (ev & PX_TR_U) &&
	       ((base >= PX_TR_POLL_START && base <= PX_TR_PARKED) || base == PX_TR_U_REAP);
}

/* Copy the records in, 16 at a time; check them all (store: false), or
 * keep them in this hart's buffer (store: true). */
static int64_t put_pass(struct proc *p, uint64_t va, uint64_t n, bool store)
{
	struct px_trace_rec r[16];

	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < 16 ? n - done : 16;
		if (copyin(p->vm, r, va + done * sizeof(r[0]), k * sizeof(r[0])) != 0)
			return -PX_EFAULT;
		for (uint64_t i = 0; i < k; i++)
			if (!user_event(r[i].ev))
				return -PX_EINVAL;
		if (store) {
			unsigned long f = arch_irq_save();
			struct hart_buf *hb = my_buf();
			for (uint64_t i = 0; i < k && hb && !frozen; i++) {
				r[i].hart = (uint8_t)(hb - bufs);
				r[i].pid = (uint32_t)p->pid;
				hb->rec[hb->written++ % cap] = r[i];
			}
			arch_irq_restore(f);
		}
		done += k;
	}
	return (int64_t)n;
}

/* All or nothing: a batch with a bad record or address keeps nothing
 * (the records are read twice; a batch changed in between keeps those
 * before the first bad one). */
int64_t ktrace_put(struct proc *p, uint64_t va, uint64_t n)
{
	if (n > PX_TRACE_PUT_MAX)
		return -PX_EINVAL;
	int64_t r = put_pass(p, va, n, false);
	return r < 0 ? r : put_pass(p, va, n, true);
}

/* ---- the dump ------------------------------------------------------------------*/

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* One record as "@R" + base64 (44 characters) + newline. */
static void dump_rec(const struct px_trace_rec *r, uint32_t *sum)
{
	unsigned char in[33] = { 0 };
	char line[2 + 44 + 1];
	size_t o = 0;

	memcpy(in, r, 32);
	for (unsigned i = 0; i < 32; i += 4) {
		uint32_t w;
		memcpy(&w, in + i, 4);
		*sum += w;
	}
	line[o++] = '@';
	line[o++] = 'R';
	for (unsigned i = 0; i < 33; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		line[o++] = b64[(v >> 18) & 63];
		line[o++] = b64[(v >> 12) & 63];
		line[o++] = i + 1 < 32 ? b64[(v >> 6) & 63] : '=';
		line[o++] = i + 2 < 32 ? b64[v & 63] : '=';
	}
	line[o++] = '\n';
	console_write_sync(line, o);
}

/*
 * Stop recording, then print every hart's ring, oldest first:
 *   @@PXTRACE 1 harts=N freq=HZ cap=C
 *   @@HART h written=W lost=L       then its records, "@R" + base64
 *   @@END records=R sum=S            (S: the 32-bit sum of the records' words)
 * A hart still running elsewhere records nothing more once frozen.
 */
void ktrace_dump(void)
{
	char line[96];
	uint32_t sum = 0;
	uint64_t total = 0;
	unsigned nharts = SMP_MAX;

	atomic_store(&frozen, 1);
	while (nharts > 1 && bufs[nharts - 1].written == 0)
		nharts--;
	snprintf(line, sizeof(line), "\n@@PXTRACE 1 harts=%u freq=%llu cap=%u\n", nharts,
	         (unsigned long long)arch_timer_freq(), cap);
	console_write_sync(line, strlen(line));
	for (unsigned h = 0; h < nharts; h++) {
		uint64_t w = bufs[h].written, kept = w < cap ? w : cap;
		snprintf(line, sizeof(line), "@@HART %u written=%llu lost=%llu\n", h,
		         (unsigned long long)w, (unsigned long long)(w - kept));
		console_write_sync(line, strlen(line));
		for (uint64_t i = w - kept; i < w; i++)
			dump_rec(&bufs[h].rec[i % cap], &sum);
		total += kept;
	}
	snprintf(line, sizeof(line), "@@END records=%llu sum=%lu\n",
	         (unsigned long long)total, (unsigned long)sum);
	console_write_sync(line, strlen(line));
}
