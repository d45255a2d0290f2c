/* UDP and ping sockets: a kind of struct file over the stack's UDP and echo bindings, receive queue and send futures. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/notify.h"
#include "executor/sync.h"
#include "kernel/file.h"
#include "kernel/kalloc.h"
#include "kernel/ktimer.h"
#include "kernel/net/net.h"
#include "kernel/net/net_kernel.h"
#include "kernel/net/udp_sock.h"
#include "kernel/uaccess.h"
#include "kernel/virtio_net.h"
#include "lib/uapi/pollux.h"

/*
 * A socket's receive queue holds UDPS_QLEN datagrams, two to a page; a
 * datagram arriving at a full queue is dropped and counted (UDP may).
 * Everything in a socket is guarded by the stack's lock (netk_lock): the
 * stack delivers into the queue with it held, and the futures take it.
 *
 * Receive futures that find the queue empty wait in `readers`, oldest
 * first, each with its task's waker (docs/labs/lab10.md):
 *   - a datagram queued wakes the oldest reader (wake_reader), which is
 *     unlinked and marked granted;
 *   - a reader that finds a datagram takes it at once, without waiting;
 *   - a granted reader dropped before it took anything passes its wake on
 *     to the next reader, so no datagram is left with a reader asleep;
 *   - udp_sock_shutdown wakes every reader; once the queue is empty they
 *     finish with -PX_EPIPE.
 * The queue is looked at and the reader linked in one hold of netk_lock,
 * so a datagram cannot slip in between (the waker is cloned before the
 * lock is taken: no waker code runs under it except a wake, which only
 * queues a task).
 */
#define UDPS_QLEN 8
#define UDPS_SLOT 2048
#define UDPS_EPHEMERAL 49152

struct udp_sock {
	uint8_t proto;            /* PX_IPPROTO_UDP or PX_IPPROTO_ICMP */
	uint16_t port;            /* 0: not bound; a ping socket's echo id */
	unsigned head, count;
	uint64_t drops;
	struct {
		uint32_t ip;
		uint16_t port;
		uint16_t len;
	} meta[UDPS_QLEN];
	uint8_t *page[UDPS_QLEN / 2];
	bool closed;              /* udp_sock_shutdown: nothing more is queued */
	struct wait_list readers; /* receive futures waiting, oldest first */
};

static uint8_t *slot_buf(struct udp_sock *s, unsigned i)
{
	return s->page[i / 2] + (i % 2) * UDPS_SLOT;
}

/* A datagram was queued: wake the oldest waiting reader, if any.  Caller
 * holds netk_lock. */
static void wake_reader(struct udp_sock *s)
{
	/* LAB 10 BEGIN */
	struct waiter *w = wait_list_pop(&s->readers);
	if (w) {
		w->granted = 1;
		waker_wake(&w->waker);
	}
	/* LAB 10 STUB
	// LAB 10: unlink the oldest reader, mark it granted and wake it
	// (docs/labs/lab10.md).  Until then nobody waits: the stub of
	// udp_recv_poll has its task polled again at once.
	(void)s;
	   LAB 10 END */
}

/* The stack's callback, with netk_lock held. */
static void deliver(void *arg, uint32_t src, uint16_t sport, uint16_t dport, const void *data,
		    size_t len)
{
	struct udp_sock *s = arg;
	(void)dport;
	if (s->closed || s->count == UDPS_QLEN || len > UDPS_SLOT) {
		s->drops++;
		return;
	}
	unsigned i = (s->head + s->count) % UDPS_QLEN;
	s->meta[i].ip = src;
	s->meta[i].port = sport;
	s->meta[i].len = (uint16_t)len;
	memcpy(slot_buf(s, i), data, len);
	s->count++;
	wake_reader(s);
}

static int64_t px_err(int r)
{
	switch (r) {
	case 0: return 0;
	case NET_EMSGSIZE: return -PX_EMSGSIZE;
	case NET_EHOSTUNREACH: return -PX_EHOSTUNREACH;
	case NET_EADDRINUSE: return -PX_EADDRINUSE;
	case NET_ENOBUFS: return -PX_ENOMEM;
	case NET_EINVAL: return -PX_EINVAL;
	default: return -PX_EIO;
	}
}

/* An echo reply for a ping socket's id, with netk_lock held: queued as
 * the ICMP message (header with checksum 0, then the data). */
static void deliver_echo(void *arg, uint32_t src, uint16_t id, uint16_t seq, const void *data,
			 size_t len)
{
	struct udp_sock *s = arg;
	if (s->closed || s->count == UDPS_QLEN || len + 8 > UDPS_SLOT) {
		s->drops++;
		return;
	}
	unsigned i = (s->head + s->count) % UDPS_QLEN;
	uint8_t *b = slot_buf(s, i);
	memset(b, 0, 8);
	b[4] = (uint8_t)(id >> 8);
	b[5] = (uint8_t)id;
	b[6] = (uint8_t)(seq >> 8);
	b[7] = (uint8_t)seq;
	memcpy(b + 8, data, len);
	s->meta[i].ip = src;
	s->meta[i].port = 0;
	s->meta[i].len = (uint16_t)(len + 8);
	s->count++;
	wake_reader(s);
}

/* Caller holds netk_lock. */
static int bind_locked(struct udp_sock *s, uint16_t port)
{
	int r = s->proto == PX_IPPROTO_ICMP ? net_echo_bind(port, deliver_echo, s)
					    : net_udp_bind(port, deliver, s);
	if (r == 0)
		s->port = port;
	return r;
}

int64_t udp_sock_bind(struct file *f, uint16_t port)
{
	struct udp_sock *s = f->obj;
	if (port == 0)
		return -PX_EINVAL;
	unsigned long fl = netk_lock();
	int r = s->port ? NET_EINVAL : bind_locked(s, port);
	netk_unlock(fl);
	return px_err(r);
}

/* ---- receive ---------------------------------------------------------------*/

struct udp_recv {
	struct io_future io;
	struct udp_sock *s;
	const struct vm_root *vm;
	uint64_t va, n, from_va;
	struct waiter w;          /* in s->readers while waiting */
};
IO_SLOT_FITS(struct udp_recv);

/* Take the oldest queued datagram into r's buffer: its length (cut to
 * r->n) or -PX_EFAULT.  Caller holds netk_lock; s->count > 0. */
static int64_t take_locked(struct udp_sock *s, struct udp_recv *r)
{
	unsigned i = s->head;
	size_t len = s->meta[i].len, k = len < r->n ? len : (size_t)r->n;
	struct px_sockaddr_in from = { PX_AF_INET, s->meta[i].port, s->meta[i].ip };
	int64_t res = (int64_t)k;
	if (copyout(r->vm, r->va, slot_buf(s, i), k) != 0 ||
	    (r->from_va && copyout(r->vm, r->from_va, &from, sizeof(from)) != 0))
		res = -PX_EFAULT;
	s->head = (s->head + 1) % UDPS_QLEN;
	s->count--;
	return res;
}

/* Ready with the oldest datagram (take_locked), or -PX_EPIPE once the
 * socket is shut down and its queue empty; else Pending in s->readers
 * with cx's waker. */
static enum poll udp_recv_poll(struct future *fut, struct context *cx)
{
	struct udp_recv *r = (struct udp_recv *)fut;
	struct udp_sock *s = r->s;
	/* LAB 10 BEGIN */
	struct waker mine = waker_clone(cx->waker);  /* outside the lock */
	unsigned long fl = netk_lock();
	if (s->count > 0 || s->closed) {
		if (r->w.queued)
			wait_list_remove(&s->readers, &r->w);
		r->w.granted = 0;
		r->io.result = s->count > 0 ? take_locked(s, r) : -PX_EPIPE;
		netk_unlock(fl);
		waker_drop(&mine);
		waker_drop(&r->w.waker);
		return POLL_READY;
	}
	/* Nothing yet: wait, keeping our place if we have one.  The look
	 * above and the link here are one hold of the lock. */
	struct waker old = r->w.waker;
	r->w.waker = mine;
	r->w.granted = 0;
	if (!r->w.queued)
		wait_list_push(&s->readers, &r->w);
	netk_unlock(fl);
	waker_drop(&old);
	return POLL_PENDING;
	/* LAB 10 STUB
	// LAB 10: take a queued datagram at once, else wait in s->readers
	// with cx's waker, looking and linking in one hold of netk_lock
	// (docs/labs/lab10.md).  Until then a reader busy-polls: its task is
	// woken again at once, and a datagram is found on some later poll.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 10: implement udp_recv_poll, wake_reader and udp_recv_drop "
		       "(kernel/net/udp_sock.c)\n");
	}
	unsigned long fl = netk_lock();
	if (s->count > 0 || s->closed) {
		r->io.result = s->count > 0 ? take_locked(s, r) : -PX_EPIPE;
		netk_unlock(fl);
		return POLL_READY;
	}
	netk_unlock(fl);
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
	   LAB 10 END */
}

/* Dropped before Ready (or after: then nothing is left to do). */
static void udp_recv_drop(struct future *fut)
{
	struct udp_recv *r = (struct udp_recv *)fut;
	struct udp_sock *s = r->s;
	/* LAB 10 BEGIN */
	unsigned long fl = netk_lock();
	if (r->w.queued)
		wait_list_remove(&s->readers, &r->w);
	else if (r->w.granted && s->count > 0)
		wake_reader(s);  /* woken for a datagram we will not take */
	r->w.granted = 0;
	netk_unlock(fl);
	waker_drop(&r->w.waker);
	/* LAB 10 STUB
	// LAB 10: leave s->readers; a reader woken for a datagram it will
	// not take passes the wake on (docs/labs/lab10.md).
	(void)r;
	(void)s;
	   LAB 10 END */
}

static const struct future_vtable udp_recv_vtable = { udp_recv_poll, udp_recv_drop };

int64_t udp_sock_recvfrom(struct file *f, const struct vm_root *vm, uint64_t va, uint64_t n,
			  uint64_t from_va, union io_slot *slot)
{
	struct udp_sock *s = f->obj;
	if (!s->port)
		return -PX_EINVAL; /* nothing can arrive for an unbound socket */
	struct udp_recv *r = (struct udp_recv *)slot;
	io_future_init(&r->io, &udp_recv_vtable);
	r->s = s;
	r->vm = vm;
	r->va = va;
	r->n = n;
	r->from_va = from_va;
	waiter_init(&r->w);
	return IO_STARTED;
}

static int64_t udp_read_start(const struct io_req *rq, union io_slot *slot)
{
	return udp_sock_recvfrom(rq->file, rq->vm, rq->va, rq->len, 0, slot);
}

/* ---- send ------------------------------------------------------------------*/

struct udp_send {
	struct io_future io;
	struct udp_sock *s;
	const struct vm_root *vm;
	uint64_t va, n;
	uint32_t ip;
	uint16_t port;
	bool waiting;
	struct notified room;
};
IO_SLOT_FITS(struct udp_send);

/* The datagram being sent, copied from user memory under netk_lock. */
static uint8_t send_buf[NET_UDP_MAX];

static enum poll udp_send_poll(struct future *fut, struct context *cx)
{
	struct udp_send *w = (struct udp_send *)fut;
	for (;;) {
		/* Waiting for room before trying: a completion between a full
		 * link and the await still wakes us. */
		if (!w->waiting) {
			notified_init(&w->room, &vnet_tx_room);
			w->waiting = true;
		}
		unsigned long fl = netk_lock();
		int r = 0;
		if (copyin(w->vm, send_buf, w->va, w->n) != 0)
			r = 1;
		else if (w->s->proto == PX_IPPROTO_ICMP)
			r = send_buf[0] != 8 || send_buf[1] != 0 ? NET_EINVAL
				: net_ping_send(w->ip, w->s->port,
						(uint16_t)(send_buf[6] << 8 | send_buf[7]),
						send_buf + 8, w->n - 8, ktimer_now_ns());
		else
			r = net_udp_send(w->s->port, w->ip, w->port, send_buf, w->n,
					 ktimer_now_ns());
		netk_unlock(fl);
		if (r == NET_EAGAIN) {
			if (notified_poll(&w->room, cx) == POLL_PENDING)
				return POLL_PENDING;
			notified_drop(&w->room);
			w->waiting = false;
			continue;
		}
		notified_drop(&w->room);
		w->waiting = false;
		w->io.result = r == 1 ? -PX_EFAULT : r == 0 ? (int64_t)w->n : px_err(r);
		return POLL_READY;
	}
}

static void udp_send_drop(struct future *fut)
{
	struct udp_send *w = (struct udp_send *)fut;
	if (w->waiting)
		notified_drop(&w->room);
	w->waiting = false;
}

static const struct future_vtable udp_send_vtable = { udp_send_poll, udp_send_drop };

int64_t udp_sock_sendto(struct file *f, const struct vm_root *vm, uint64_t va, uint64_t n,
			uint32_t ip, uint16_t port, union io_slot *slot)
{
	struct udp_sock *s = f->obj;
	bool ping = s->proto == PX_IPPROTO_ICMP;
	if (n > (ping ? NET_ICMP_HDR + NET_PING_MAX : NET_UDP_MAX))
		return -PX_EMSGSIZE;
	if (ping ? n < NET_ICMP_HDR : port == 0)
		return -PX_EINVAL;
	if (!uaccess_ok(vm, va, n, VM_R))
		return -PX_EFAULT;
	if (!s->port) {
		/* An ephemeral port (or echo id), the first free one from
		 * 49152. */
		unsigned long fl = netk_lock();
		int r = NET_EADDRINUSE;
		for (uint32_t p = UDPS_EPHEMERAL; p <= 0xffff && r == NET_EADDRINUSE; p++)
			r = bind_locked(s, (uint16_t)p);
		netk_unlock(fl);
		if (r != 0)
			return px_err(r);
	}
	struct udp_send *w = (struct udp_send *)slot;
	io_future_init(&w->io, &udp_send_vtable);
	w->s = s;
	w->vm = vm;
	w->va = va;
	w->n = n;
	w->ip = ip;
	w->port = port;
	w->waiting = false;
	return IO_STARTED;
}

/* ---- the file --------------------------------------------------------------*/

void udp_sock_shutdown(struct file *f)
{
	struct udp_sock *s = f->obj;
	unsigned long fl = netk_lock();
	s->closed = true;
	/* LAB 10 BEGIN */
	while (!wait_list_empty(&s->readers))
		wake_reader(s);
	/* LAB 10 STUB
	// LAB 10: wake every waiting reader (docs/labs/lab10.md).
	   LAB 10 END */
	netk_unlock(fl);
}

static void udp_release(struct file *f)
{
	struct udp_sock *s = f->obj;
	unsigned long fl = netk_lock();
	if (s->port && s->proto == PX_IPPROTO_ICMP)
		net_echo_unbind(s->port);
	else if (s->port)
		net_udp_unbind(s->port);
	netk_unlock(fl);
	for (unsigned i = 0; i < UDPS_QLEN / 2; i++)
		kpage_free(s->page[i]);
	kfree(s, sizeof(*s));
}

static const struct file_ops udp_ops = {
	.kind = "udp",
	.start = { [IO_READ] = udp_read_start },
	.release = udp_release,
};

bool udp_sock_is(const struct file *f)
{
	return f && f->ops == &udp_ops;
}

struct file *udp_sock_open(int proto, int *err)
{
	if (!netk_up()) {
		*err = -PX_ENODEV;
		return NULL;
	}
	*err = -PX_ENOMEM;
	struct udp_sock *s = kmalloc(sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->proto = (uint8_t)proto;
	wait_list_init(&s->readers);
	for (unsigned i = 0; i < UDPS_QLEN / 2; i++) {
		s->page[i] = kpage_alloc();
		if (!s->page[i]) {
			while (i-- > 0)
				kpage_free(s->page[i]);
			kfree(s, sizeof(*s));
			return NULL;
		}
	}
	struct file *f = file_alloc(&udp_ops, s);
	if (!f) {
		for (unsigned i = 0; i < UDPS_QLEN / 2; i++)
			kpage_free(s->page[i]);
		kfree(s, sizeof(*s));
	}
	return f;
}
