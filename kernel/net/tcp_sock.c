/* TCP sockets: a kind of struct file over the stack's connections, with recv, send, accept and connect futures. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "executor/notify.h"
#include "kernel/file.h"
#include "kernel/kalloc.h"
#include "kernel/ktimer.h"
#include "kernel/net/net.h"
#include "kernel/net/net_kernel.h"
#include "kernel/net/tcp.h"
#include "kernel/net/tcp_sock.h"
#include "kernel/proc.h"
#include "kernel/uaccess.h"
#include "lib/uapi/pollux.h"

/*
 * One struct tcp_sock per socket file.  Its connection (c) is NULL until
 * listen or connect; a listener's c is the stack's listening entry.  All
 * of it is guarded by netk_lock, like the stack itself.
 *
 * Waiting: a future that finds nothing to do (tcp_* said NET_EAGAIN)
 * waits on one of two notifies, and the stack's notify callback, which
 * runs under netk_lock inside whichever tcp_ or net_ call changed the
 * connection, wakes everybody waiting on the matching one:
 *
 *   rd   READABLE, ACCEPTABLE, ERROR   recv, accept
 *   wr   WRITABLE, CONNECTED, ERROR    send, connect
 *
 * Each future creates its notified() before it looks (under the lock),
 * and notify_all wakes every notified() created before the call, so a
 * change between the look and the wait is never lost.  Spurious wakes
 * only cost a look.
 *
 * Calls that may arm an earlier timer (connect, send, shutdown, close)
 * need nothing more: netk_unlock wakes the stack's task when the stack's
 * deadline fell below the one it sleeps until.
 *
 * Bytes move once, between the connection's buffers and the program's
 * pages: tcp_recv_copy and tcp_send_copy call copyout/copyin under
 * netk_lock for each piece (the program's buffer was checked mapped when
 * the operation started; a piece that faults takes or queues nothing).
 */

struct tcp_sock {
	struct tcp_conn *c;
	uint16_t port;            /* bind's; 0: none */
	bool listening;
	bool shut_rd;             /* shutdown(SHUT_RD): recv returns 0 */
	bool counted;             /* in files_open: a socket a program holds */
	struct notify rd, wr;
};

/* A program's buffer, for the stack's copy callbacks. */
struct ubuf {
	const struct vm_root *vm;
	uint64_t va;
};

static int to_user(void *arg, size_t off, void *p, size_t len)
{
	const struct ubuf *u = arg;
	return copyout(u->vm, u->va + off, p, len);
}

static int from_user(void *arg, size_t off, void *p, size_t len)
{
	const struct ubuf *u = arg;
	return copyin(u->vm, p, u->va + off, len);
}
static atomic_ulong files_open;

uint64_t tcp_sock_files(void)
{
	return atomic_load(&files_open);
}

uint64_t tcp_sock_conns_alive(void)
{
	unsigned long fl = netk_lock();
	uint64_t n = tcp_stats.conns_alive;
	netk_unlock(fl);
	return n;
}

uint64_t tcp_sock_retransmits(bool fast)
{
	unsigned long fl = netk_lock();
	uint64_t n = fast ? tcp_stats.fast_retransmits : tcp_stats.retransmits;
	netk_unlock(fl);
	return n;
}

static int64_t px_err(long r)
{
	switch (r) {
	case 0: return 0;
	case NET_ECONNREFUSED: return -PX_ECONNREFUSED;
	case NET_ECONNRESET: return -PX_ECONNRESET;
	case NET_ETIMEDOUT: return -PX_ETIMEDOUT;
	case NET_EPIPE: return -PX_EPIPE;
	case NET_ENOTCONN: return -PX_ENOTCONN;
	case NET_EISCONN: return -PX_EISCONN;
	case NET_EADDRINUSE: return -PX_EADDRINUSE;
	case NET_ENOMEM: return -PX_ENOMEM;
	case NET_ENOBUFS: return -PX_ENOMEM;
	case NET_EINVAL: return -PX_EINVAL;
	case NET_EHOSTUNREACH: return -PX_EHOSTUNREACH;
	default: return -PX_EIO;
	}
}

/* The stack's callback, under netk_lock. */
static void sock_notify(void *arg, unsigned events)
{
	struct tcp_sock *s = arg;
	if (events & (TCP_EV_READABLE | TCP_EV_ACCEPTABLE | TCP_EV_ERROR))
		notify_all(&s->rd);
	if (events & (TCP_EV_WRITABLE | TCP_EV_CONNECTED | TCP_EV_ERROR))
		notify_all(&s->wr);
}

static const struct file_ops tcp_ops;

static struct file *sock_new(struct tcp_sock **out)
{
	struct tcp_sock *s = kmalloc(sizeof(*s));   /* zeroed */
	if (!s)
		return NULL;
	notify_init(&s->rd);
	notify_init(&s->wr);
	struct file *f = file_alloc(&tcp_ops, s);
	if (!f) {
		kfree(s, sizeof(*s));
		return NULL;
	}
	*out = s;
	return f;
}

/* A socket a program holds now (an accept's spare file is not one). */
static void sock_count(struct tcp_sock *s)
{
	s->counted = true;
	atomic_fetch_add(&files_open, 1);
}

/* A future's wait on one of the socket's notifies. */
struct sock_wait {
	bool armed;
	struct notified n;
};

static void wait_arm(struct sock_wait *w, struct notify *n)
{
	if (!w->armed) {
		notified_init(&w->n, n);
		w->armed = true;
	}
}

/* POLL_READY: woken (look again). */
static enum poll wait_poll(struct sock_wait *w, struct context *cx)
{
	if (notified_poll(&w->n, cx) == POLL_PENDING)
		return POLL_PENDING;
	notified_drop(&w->n);
	w->armed = false;
	return POLL_READY;
}

static void wait_drop(struct sock_wait *w)
{
	if (w->armed)
		notified_drop(&w->n);
	w->armed = false;
}

/* ---- recv ---------------------------------------------------------------*/

struct tcp_recv {
	struct io_future io;
	struct tcp_sock *s;
	const struct vm_root *vm;
	uint64_t va, n, from_va;
	bool done;                /* finished at the start: io.result is it */
	bool looked;              /* armed before a look that found nothing:
	                             the first poll waits without looking */
	struct sock_wait w;
};
IO_SLOT_FITS(struct tcp_recv);

/* One look: NET_EAGAIN (nothing there yet), or the result in *res. */
static long recv_look(struct tcp_recv *r, int64_t *res_out)
{
	struct tcp_sock *s = r->s;
	unsigned long fl = netk_lock();
	long got;
	int64_t res;
	if (s->shut_rd) {
		got = res = 0;
	} else if (!s->c || s->listening) {
		got = NET_ENOTCONN;
		res = -PX_ENOTCONN;
	} else {
		struct ubuf u = { r->vm, r->va };
		got = tcp_recv_copy(s->c, r->n, to_user, &u, ktimer_now_ns());
		res = got >= 0 ? got : got == NET_EFAULT ? -PX_EFAULT : px_err(got);
		if (got > 0 && r->from_va) {
			struct px_sockaddr_in from = { PX_AF_INET, 0, 0 };
			uint32_t lip, rip;
			uint16_t lport;
			tcp_addrs(s->c, &lip, &lport, &rip, &from.port);
			from.addr = rip;
			if (copyout(r->vm, r->from_va, &from, sizeof(from)) != 0)
				res = -PX_EFAULT;
		}
	}
	netk_unlock(fl);
	*res_out = res;
	return got;
}

static enum poll tcp_recv_poll(struct future *fut, struct context *cx)
{
	struct tcp_recv *r = (struct tcp_recv *)fut;
	if (r->done)
		return POLL_READY;
	for (;;) {
		int64_t res;
		long got = NET_EAGAIN;
		if (r->looked) {
			r->looked = false;     /* the start's look, armed before it */
		} else {
			wait_arm(&r->w, &r->s->rd);
			got = recv_look(r, &res);
		}
		if (got == NET_EAGAIN) {
			if (wait_poll(&r->w, cx) == POLL_PENDING)
				return POLL_PENDING;
			continue;
		}
		wait_drop(&r->w);
		r->io.result = res;
		return POLL_READY;
	}
}

static void tcp_recv_drop(struct future *fut)
{
	wait_drop(&((struct tcp_recv *)fut)->w);
}

static const struct future_vtable tcp_recv_vtable = { tcp_recv_poll, tcp_recv_drop };

int64_t tcp_sock_recv(struct file *f, const struct vm_root *vm, uint64_t va, uint64_t n,
		      uint64_t from_va, union io_slot *slot)
{
	struct tcp_recv *r = (struct tcp_recv *)slot;
	io_future_init(&r->io, &tcp_recv_vtable);
	r->s = f->obj;
	r->vm = vm;
	r->va = va;
	r->n = n;
	r->from_va = from_va;
	r->w.armed = false;
	r->done = false;
	r->looked = false;
	/* Bytes already there: the result at once, no wait and (on the ring)
	 * no task.  Nothing there: the future waits.  It is armed before the
	 * look, so bytes that come after the look wake it, and its first
	 * poll need not look again. */
	int64_t res;
	wait_arm(&r->w, &r->s->rd);
	if (recv_look(r, &res) == NET_EAGAIN) {
		r->looked = true;
		return IO_STARTED;
	}
	wait_drop(&r->w);
	if (res != IO_STARTED)
		return res;
	r->done = true;           /* 1 byte: a result that reads as IO_STARTED */
	r->io.result = res;
	return IO_STARTED;
}

static int64_t tcp_read_start(const struct io_req *rq, union io_slot *slot)
{
	return tcp_sock_recv(rq->file, rq->vm, rq->va, rq->len, 0, slot);
}

/* ---- send ---------------------------------------------------------------*/

/* While Pending, io.result counts the bytes the stack has taken so far
 * (kernel/io.h): a cancelled send reports them. */
struct tcp_send {
	struct io_future io;
	struct tcp_sock *s;
	const struct vm_root *vm;
	uint64_t va, n;
	bool done;                /* finished at the start: io.result is it */
	struct sock_wait w;
};
IO_SLOT_FITS(struct tcp_send);

/* One try at queueing the rest: what tcp_send_copy returned (0 with
 * *fault for a fault). */
static long send_try(struct tcp_send *w, bool *fault)
{
	struct tcp_sock *s = w->s;
	uint64_t done = (uint64_t)w->io.result;
	struct ubuf u = { w->vm, w->va + done };
	*fault = false;
	unsigned long fl = netk_lock();
	long r;
	if (!s->c || s->listening)
		r = NET_ENOTCONN;
	else
		r = tcp_send_copy(s->c, w->n - done, from_user, &u, ktimer_now_ns());
	if (r == NET_EFAULT)
		r = 0, *fault = true;
	netk_unlock(fl);
	return r;
}

static enum poll tcp_send_poll(struct future *fut, struct context *cx)
{
	struct tcp_send *w = (struct tcp_send *)fut;
	if (w->done)
		return POLL_READY;
	for (;;) {
		wait_arm(&w->w, &w->s->wr);
		bool fault;
		long r = send_try(w, &fault);
		if (r > 0) {
			w->io.result += r;
			if ((uint64_t)w->io.result < w->n)
				continue;
		} else if (r == NET_EAGAIN) {
			if (wait_poll(&w->w, cx) == POLL_PENDING)
				return POLL_PENDING;
			continue;
		} else if (w->io.result == 0) {
			/* Bytes already taken are reported; the error comes
			 * with the next send. */
			w->io.result = fault ? -PX_EFAULT : px_err(r);
		}
		wait_drop(&w->w);
		return POLL_READY;
	}
}

static void tcp_send_drop(struct future *fut)
{
	wait_drop(&((struct tcp_send *)fut)->w);
}

static const struct future_vtable tcp_send_vtable = { tcp_send_poll, tcp_send_drop };

int64_t tcp_sock_send(struct file *f, const struct vm_root *vm, uint64_t va, uint64_t n,
		      union io_slot *slot)
{
	if (n == 0)
		return 0;
	/* A bad buffer is -PX_EFAULT before any other error, and before a
	 * byte of it goes out.  A range longer than a page is checked whole
	 * now.  One in a single page is checked by the copy of the first
	 * try (tcp_send_copy queues all it copied or nothing), and checked
	 * here only if that try did not take it: one walk of the page
	 * tables, not two, for the usual small send. */
	bool one_page = (va ^ (va + n - 1)) < PAGE_SIZE;
	if (!one_page && !uaccess_ok(vm, va, n, VM_R))
		return -PX_EFAULT;
	struct tcp_send *w = (struct tcp_send *)slot;
	io_future_init(&w->io, &tcp_send_vtable);
	w->s = f->obj;
	w->vm = vm;
	w->va = va;
	w->n = n;
	w->w.armed = false;
	w->done = false;
	/* Room for all of it: the result at once, no wait and (on the ring)
	 * no task.  Otherwise the future goes on from what was taken. */
	bool fault;
	long r = send_try(w, &fault);
	if (r > 0 && (uint64_t)(w->io.result += r) == n) {
		if (n != IO_STARTED)
			return (int64_t)n;
		w->done = true;           /* 1 byte: a result that reads as IO_STARTED */
		return IO_STARTED;
	}
	if (r <= 0 && one_page && !uaccess_ok(vm, va, n, VM_R))
		return -PX_EFAULT;
	if (r <= 0 && r != NET_EAGAIN)
		return fault ? -PX_EFAULT : px_err(r);
	return IO_STARTED;
}

static int64_t tcp_write_start(const struct io_req *rq, union io_slot *slot)
{
	return tcp_sock_send(rq->file, rq->vm, rq->va, rq->len, slot);
}

/* ---- accept -------------------------------------------------------------*/

/* The new socket file is made before the look (outside the lock) and
 * kept across waits, so taking a connection never fails for memory. */
struct tcp_accept {
	struct io_future io;
	struct tcp_sock *s;
	struct proc *p;
	uint64_t addr_va;
	struct file *nf;
	struct tcp_sock *ns;
	struct sock_wait w;
};
IO_SLOT_FITS(struct tcp_accept);

static enum poll tcp_accept_poll(struct future *fut, struct context *cx)
{
	struct tcp_accept *a = (struct tcp_accept *)fut;
	struct tcp_sock *s = a->s;
	for (;;) {
		wait_arm(&a->w, &s->rd);
		if (!a->nf && !(a->nf = sock_new(&a->ns))) {
			a->io.result = -PX_ENOMEM;
			break;
		}
		struct px_sockaddr_in peer = { PX_AF_INET, 0, 0 };
		struct tcp_conn *c = NULL;
		unsigned long fl = netk_lock();
		int r = tcp_accept(s->c, &c);
		if (r == 0) {
			uint32_t lip;
			uint16_t lport;
			a->ns->c = c;
			tcp_set_notify(c, sock_notify, a->ns);
			tcp_addrs(c, &lip, &lport, &peer.addr, &peer.port);
			a->ns->port = lport;
		}
		netk_unlock(fl);
		if (r == NET_EAGAIN) {
			if (wait_poll(&a->w, cx) == POLL_PENDING)
				return POLL_PENDING;
			continue;
		}
		if (r != 0) {
			a->io.result = px_err(r);
			break;
		}
		sock_count(a->ns);
		int fd = proc_fd_install(a->p, a->nf);
		if (fd < 0)
			file_put(a->nf); /* resets the connection */
		else if (a->addr_va)
			copyout(a->p->vm, a->addr_va, &peer, sizeof(peer)); /* checked at start */
		a->nf = NULL;
		a->io.result = fd;
		break;
	}
	wait_drop(&a->w);
	if (a->nf)
		file_put(a->nf);
	a->nf = NULL;
	return POLL_READY;
}

static void tcp_accept_drop(struct future *fut)
{
	struct tcp_accept *a = (struct tcp_accept *)fut;
	wait_drop(&a->w);
	if (a->nf)
		file_put(a->nf);
	a->nf = NULL;
}

static const struct future_vtable tcp_accept_vtable = { tcp_accept_poll, tcp_accept_drop };

int64_t tcp_sock_accept(struct file *f, struct proc *p, uint64_t addr_va, union io_slot *slot)
{
	struct tcp_sock *s = f->obj;
	if (!s->listening)
		return -PX_EINVAL;
	if (addr_va && !uaccess_ok(p->vm, addr_va, sizeof(struct px_sockaddr_in), VM_W))
		return -PX_EFAULT;
	struct tcp_accept *a = (struct tcp_accept *)slot;
	io_future_init(&a->io, &tcp_accept_vtable);
	a->s = s;
	a->p = p;
	a->addr_va = addr_va;
	a->nf = NULL;
	a->ns = NULL;
	a->w.armed = false;
	return IO_STARTED;
}

/* ---- connect ------------------------------------------------------------*/

struct tcp_connect {
	struct io_future io;
	struct tcp_sock *s;
	struct sock_wait w;
};
IO_SLOT_FITS(struct tcp_connect);

static enum poll tcp_connect_poll(struct future *fut, struct context *cx)
{
	struct tcp_connect *k = (struct tcp_connect *)fut;
	struct tcp_sock *s = k->s;
	for (;;) {
		wait_arm(&k->w, &s->wr);
		unsigned long fl = netk_lock();
		unsigned ev = tcp_events(s->c);
		int err = tcp_error(s->c);
		int st = tcp_state(s->c);
		netk_unlock(fl);
		if (err) {
			k->io.result = px_err(err);
			break;
		}
		if ((ev & TCP_EV_CONNECTED) || (st != TCP_SYN_SENT && st != TCP_CLOSED)) {
			k->io.result = 0;
			break;
		}
		if (wait_poll(&k->w, cx) == POLL_PENDING)
			return POLL_PENDING;
	}
	wait_drop(&k->w);
	return POLL_READY;
}

static void tcp_connect_drop(struct future *fut)
{
	wait_drop(&((struct tcp_connect *)fut)->w);
}

static const struct future_vtable tcp_connect_vtable = { tcp_connect_poll, tcp_connect_drop };

int64_t tcp_sock_connect(struct file *f, uint32_t ip, uint16_t port, union io_slot *slot)
{
	struct tcp_sock *s = f->obj;
	if (port == 0 || ip == 0)
		return -PX_EINVAL;
	/* Checked under the lock: two connects (two harts, two ring ops)
	 * on one socket must not both open a connection. */
	unsigned long fl = netk_lock();
	struct tcp_conn *c = NULL;
	int r = s->listening ? NET_EINVAL : s->c ? NET_EISCONN
		: tcp_connect(s->port, ip, port, ktimer_now_ns(), &c);
	if (r == 0) {
		s->c = c;
		tcp_set_notify(c, sock_notify, s);
	}
	netk_unlock(fl);
	if (r != 0)
		return px_err(r);
	struct tcp_connect *k = (struct tcp_connect *)slot;
	io_future_init(&k->io, &tcp_connect_vtable);
	k->s = s;
	k->w.armed = false;
	return IO_STARTED;
}

/* ---- calls that finish at once ----------------------------------------------*/

int64_t tcp_sock_bind(struct file *f, uint16_t port)
{
	struct tcp_sock *s = f->obj;
	if (port == 0)
		return -PX_EINVAL;
	unsigned long fl = netk_lock();
	int r = s->port || s->c ? -PX_EINVAL : 0;
	if (r == 0)
		s->port = port;
	netk_unlock(fl);
	return r;
}

int64_t tcp_sock_listen(struct file *f, uint64_t backlog)
{
	struct tcp_sock *s = f->obj;
	if (backlog == 0)
		backlog = 1;
	if (backlog > 1024)
		backlog = 1024;
	unsigned long fl = netk_lock();
	struct tcp_conn *c = NULL;
	bool already = s->listening;
	int r = already ? 0 : s->c || !s->port ? NET_EINVAL
		: tcp_listen(s->port, (unsigned)backlog, &c);
	if (r == 0 && !already) {
		s->c = c;
		s->listening = true;
		tcp_set_notify(c, sock_notify, s);
	}
	netk_unlock(fl);
	return px_err(r);
}

int64_t tcp_sock_shutdown(struct file *f, uint64_t how)
{
	struct tcp_sock *s = f->obj;
	if (how > PX_SHUT_RDWR)
		return -PX_EINVAL;
	unsigned long fl = netk_lock();
	int r = 0;
	if (!s->c || s->listening)
		r = NET_ENOTCONN;
	else if (how != PX_SHUT_RD)
		r = tcp_shutdown(s->c, ktimer_now_ns());
	if (r == 0 && how != PX_SHUT_WR)
		s->shut_rd = true;
	netk_unlock(fl);
	if (r == 0 && how != PX_SHUT_WR)
		notify_all(&s->rd);
	return r ? px_err(r) : 0;
}

int64_t tcp_sock_name(struct file *f, bool peer, struct px_sockaddr_in *out)
{
	struct tcp_sock *s = f->obj;
	*out = (struct px_sockaddr_in){ PX_AF_INET, peer ? 0 : s->port, 0 };
	unsigned long fl = netk_lock();
	int r = 0;
	if (s->c && !s->listening) {
		uint32_t lip, rip;
		uint16_t lport, rport;
		tcp_addrs(s->c, &lip, &lport, &rip, &rport);
		*out = peer ? (struct px_sockaddr_in){ PX_AF_INET, rport, rip }
			    : (struct px_sockaddr_in){ PX_AF_INET, lport, lip };
	} else if (peer) {
		r = -PX_ENOTCONN;
	} else if (s->listening) {
		out->addr = 0; /* any address: ours */
	}
	netk_unlock(fl);
	return r;
}

/* ---- the file -------------------------------------------------------------*/

static void tcp_release(struct file *f)
{
	struct tcp_sock *s = f->obj;
	unsigned long fl = netk_lock();
	if (s->c)
		tcp_close(s->c, ktimer_now_ns());
	netk_unlock(fl);
	if (s->counted)
		atomic_fetch_sub(&files_open, 1);
	kfree(s, sizeof(*s));
}

static const struct file_ops tcp_ops = {
	.kind = "tcp",
	.start = { [IO_READ] = tcp_read_start, [IO_WRITE] = tcp_write_start },
	.release = tcp_release,
};

bool tcp_sock_is(const struct file *f)
{
	return f && f->ops == &tcp_ops;
}

struct file *tcp_sock_open(int *err)
{
	if (!netk_up()) {
		*err = -PX_ENODEV;
		return NULL;
	}
	struct tcp_sock *s;
	struct file *f = sock_new(&s);
	*err = f ? 0 : -PX_ENOMEM;
	if (f)
		sock_count(s);
	return f;
}
