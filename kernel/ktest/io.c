/* In-kernel test of the one I/O layer: a test-only kind of file, driven through both doors by a user program. */
#include <stdio.h>
#include <string.h>

#include "executor/notify.h"
#include "executor/spin.h"
#include "kernel/console_file.h"
#include "kernel/file.h"
#include "kernel/ktest/ktest.h"
#include "kernel/proc.h"
#include "kernel/uaccess.h"
#include "lib/uapi/pollux.h"

/*
 * io_doors: a kind of file that exists only here — MEMFILE_SIZE bytes of
 * kernel memory, byte i initially KIO_BYTE(i), seekable — is given to a
 * user program (user/kiotest.c) as fd 3.  Nothing in kernel/syscall.c or
 * kernel/ring.c knows this kind: the program reads and writes it with
 * read/write/pread/pwrite/fstat/fsync and with ring READ/WRITE at the file
 * position and at offsets, cancels a ring READ and gets a reader killed,
 * and leaves its verdict ("OK" at offset 0).  Afterwards this side checks
 * the file's contents and that every future it started ended: each was
 * polled to Ready or dropped.
 *
 * The kind's futures are Pending once before they complete (they wake
 * themselves), so both doors go through their resume path.  Past the end
 * of the file, where reads return 0, two offsets are special: a read at
 * MEMFILE_SLOW or beyond stays Pending until it is dropped, and a read at
 * MEMFILE_PROBE returns the number of such reads waiting right now (as
 * that many zero bytes), so the program can tell when its slow read has
 * reached the file.
 */
#define MEMFILE_SIZE 4096
#define MEMFILE_SLOW 6000
#define MEMFILE_PROBE 5000
#define KIO_BYTE(i) ((unsigned char)((i) * 7 + 3))

static struct {
	struct spin lock;
	unsigned char data[MEMFILE_SIZE];
	unsigned started, readied, dropped;
	unsigned slow_waiting, slow_dropped;
	unsigned fsyncs;
	bool released;
	struct notify gone;
} mf = { .lock = SPIN_INIT };

struct mf_io {
	struct io_future io;
	struct file *f;
	const struct vm_root *vm;
	uint64_t va, len, off;
	bool write, cur, polled, slow;
	struct waker w;          /* the slow read's: kept until dropped */
};
IO_SLOT_FITS(struct mf_io);

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static enum poll mf_poll(struct future *fut, struct context *cx)
{
	struct mf_io *m = (struct mf_io *)fut;
	if (!m->polled) {
		m->polled = true;
		if (!m->write && !m->cur && m->off >= MEMFILE_SLOW) {
			unsigned long fl = spin_lock(&mf.lock);
			m->slow = true;
			mf.slow_waiting++;
			spin_unlock(&mf.lock, fl);
			/* Until dropped (a cancel wakes the op's task), but a
			 * pending future keeps a waker all the same: the
			 * contract, and the lost-wake check, ask for one. */
			waker_register(&m->w, cx->waker);
			return POLL_PENDING;
		}
		waker_wake_by_ref(cx->waker);
		return POLL_PENDING;
	}
	if (m->slow) {
		waker_register(&m->w, cx->waker);
		return POLL_PENDING;
	}
	unsigned long fl = spin_lock(&mf.lock);
	uint64_t off = m->cur ? atomic_load(&m->f->pos) : m->off;
	int64_t res;
	if (!m->write && off == MEMFILE_PROBE) {
		static const char zeros[8];
		res = copyout(m->vm, m->va, zeros, min_u64(mf.slow_waiting, min_u64(m->len, 8)));
		res = res ? res : (int64_t)min_u64(mf.slow_waiting, min_u64(m->len, 8));
	} else {
		uint64_t k = off >= MEMFILE_SIZE ? 0 : min_u64(m->len, MEMFILE_SIZE - off);
		res = k == 0 ? 0
		      : m->write ? copyin(m->vm, mf.data + off, m->va, k)
				 : copyout(m->vm, m->va, mf.data + off, k);
		if (res == 0) {
			res = (int64_t)k;
			if (m->cur)
				atomic_store(&m->f->pos, off + k);
		}
	}
	mf.readied++;
	spin_unlock(&mf.lock, fl);
	m->io.result = res;
	return POLL_READY;
}

static void mf_drop(struct future *fut)
{
	struct mf_io *m = (struct mf_io *)fut;
	unsigned long fl = spin_lock(&mf.lock);
	mf.dropped++;
	if (m->slow) {
		mf.slow_waiting--;
		mf.slow_dropped++;
	}
	spin_unlock(&mf.lock, fl);
	waker_drop(&m->w);
}

static const struct future_vtable mf_vtable = { mf_poll, mf_drop };

static int64_t mf_start(const struct io_req *rq, union io_slot *slot, bool write)
{
	struct mf_io *m = (struct mf_io *)slot;
	*m = (struct mf_io){ .io = { .base = { &mf_vtable } }, .f = rq->file, .vm = rq->vm,
			     .va = rq->va, .len = rq->len, .off = rq->off, .write = write,
			     .cur = rq->off == PX_OFF_CUR };
	unsigned long fl = spin_lock(&mf.lock);
	mf.started++;
	spin_unlock(&mf.lock, fl);
	return IO_STARTED;
}

static int64_t mf_read(const struct io_req *rq, union io_slot *slot)
{
	return mf_start(rq, slot, false);
}

static int64_t mf_write(const struct io_req *rq, union io_slot *slot)
{
	return mf_start(rq, slot, true);
}

static int64_t mf_stat(const struct io_req *rq, union io_slot *slot)
{
	struct px_stat st = { .type = PX_S_REG, .size = MEMFILE_SIZE };
	(void)slot;
	return copyout(rq->vm, rq->va, &st, sizeof(st));
}

static int64_t mf_fsync(const struct io_req *rq, union io_slot *slot)
{
	(void)rq;
	(void)slot;
	unsigned long fl = spin_lock(&mf.lock);
	mf.fsyncs++;
	spin_unlock(&mf.lock, fl);
	return 0;
}

static void mf_release(struct file *f)
{
	(void)f;
	mf.released = true;
	notify_all(&mf.gone);
}

static const struct file_ops memfile_ops = {
	.kind = "ktest memfile",
	.start = { [IO_READ] = mf_read, [IO_WRITE] = mf_write, [IO_STAT] = mf_stat,
		   [IO_FSYNC] = mf_fsync },
	.seekable = true,
	.release = mf_release,
};

/* ---- the test ------------------------------------------------------------------*/

static struct io_doors_test {
	struct future base;
	int state;
	int pid;
	struct notified wait;
} io_doors;

static enum poll io_doors_poll(struct future *f, struct context *cx)
{
	struct io_doors_test *t = (struct io_doors_test *)f;
	ASYNC_BEGIN(t);
	for (unsigned i = 0; i < MEMFILE_SIZE; i++)
		mf.data[i] = KIO_BYTE(i);
	notify_init(&mf.gone);
	struct file *con = console_file_open(), *file = file_alloc(&memfile_ops, NULL);
	if (!file) {
		file_put(con);
		ASYNC_RETURN(t);
	}
	struct file *files[PROC_NFD_INLINE] = { con, con, con, file };
	static char arg0[] = "kiotest";
	char *argv[] = { arg0, NULL };
	notified_init(&t->wait, &mf.gone);
	t->pid = proc_spawn_files("kiotest", argv, 1, files);
	file_put(con);
	file_put(file); /* the program's descriptors hold it now */
	if (t->pid < 0) {
		notified_drop(&t->wait);
		ASYNC_RETURN(t);
	}
	/* The file goes when the program and its children have exited. */
	AWAIT(t, notified_poll(&t->wait, cx));
	ASYNC_END(t);
}

static void io_doors_drop(struct future *f)
{
	(void)f;
}

static struct future *io_doors_start(void)
{
	static const struct future_vtable vt = { io_doors_poll, io_doors_drop };
	io_doors = (struct io_doors_test){ .base = { &vt }, .state = ASYNC_INIT };
	return &io_doors.base;
}

static bool io_doors_ok(void)
{
	if (io_doors.pid < 0)
		KTEST_FAIL("cannot start kiotest: error %d", -io_doors.pid);
	if (!mf.released)
		KTEST_FAIL("the file was never released");
	if (memcmp(mf.data, "OK", 2) != 0)
		KTEST_FAIL("kiotest did not finish: its verdict is %#x %#x (its failing line "
			   "is on the console)", mf.data[0], mf.data[1]);
	/* What the program wrote through each door is in the file. */
	EXPECT(memcmp(mf.data + 171, "ABcd", 4) == 0);
	EXPECT(memcmp(mf.data + 300, "XYZ", 3) == 0);
	EXPECT(memcmp(mf.data + 4094, "QR", 2) == 0);
	EXPECT(mf.data[175] == KIO_BYTE(175) && mf.data[299] == KIO_BYTE(299));
	EXPECT(mf.fsyncs == 1);
	/* Every future started was polled to Ready or dropped; the two that
	 * were dropped are the ring's cancelled read and the killed child's
	 * pread. */
	printf("    %u futures started, %u ready, %u dropped\n", mf.started, mf.readied,
	       mf.dropped);
	EXPECT(mf.slow_dropped == 2 && mf.slow_waiting == 0);
	EXPECT(mf.dropped == 2);
	EXPECT(mf.started == mf.readied + mf.dropped);
	return true;
}

const struct ktest_async ktest_io_async[] = {
	{ "io_doors", io_doors_start, io_doors_ok },
	{ NULL, NULL, NULL },
};

