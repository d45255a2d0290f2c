/* The stack in the kernel: virtio-net as its link, one task driving it, a lock around it. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "executor/notify.h"
#include "executor/spin.h"
#include "arch/arch.h"
#include "executor/timer.h"
#include "kernel/ktask.h"
#include "kernel/kalloc.h"
#include "kernel/ktimer.h"
#include "kernel/net/tcp.h"
#include "kernel/net/net_kernel.h"
#include "kernel/virtio_net.h"

static struct spin netk_spin = SPIN_INIT;
static bool up;
uint64_t netk_tx_dropped;
/* The deadline the stack's task has last seen (NET_NEVER: none); under
 * netk_spin. */
static uint64_t task_deadline = NET_NEVER;

unsigned long netk_lock(void)
{
	return spin_lock(&netk_spin);
}

/* Anyone holding the lock may have given the stack an earlier deadline (a
 * datagram sent to an address not yet resolved starts ARP's retry timer):
 * then the task is woken to sleep until it instead.  The bound, not the
 * exact deadline: the exact one visits every TCP connection, on every
 * unlock; an early bound costs at most one wake that finds nothing due. */
void netk_unlock(unsigned long flags)
{
	uint64_t bound = up ? net_deadline_bound() : NET_NEVER;
	bool kick = bound < task_deadline;
	if (kick)
		task_deadline = bound;
	spin_unlock(&netk_spin, flags);
	if (kick)
		notify_one(&vnet_rx_ready);
}

bool netk_up(void)
{
	return up;
}

/* The stack's task holds netk_lock (its own sends, not a socket's). */
static bool in_net_task;

/* The stack's link.  A full transmit queue refuses the frame: the stack's
 * own output (ARP, echo replies) is lost like any datagram, and TCP's
 * segment waits for room (tcp_link_room).  A socket's task that meets the
 * full queue wakes the stack's task, which waits for the room; the stack's
 * task itself looks at tcp_link_blocked after its round (waking itself
 * would make it spin until a buffer is free). */
static int link_send(void *arg, const void *frame, size_t len)
{
	(void)arg;
	int r = vnet_tx(frame, len);
	if (r != VNET_OK) {
		netk_tx_dropped++;
		if (r != VNET_EAGAIN)
			return NET_EIO;
		if (!in_net_task)
			notify_one(&vnet_rx_ready);
		return NET_EAGAIN;
	}
	return 0;
}

/* Frames are built in the driver's transmit buffers when one is free,
 * and sent from there without a copy. */
static void *link_frame(void *arg)
{
	(void)arg;
	return vnet_tx_frame();
}

/* TCP's memory: connections from the heap, buffers (page-sized pieces)
 * from the page allocator. */
static void *tcp_alloc(void *arg, size_t size)
{
	(void)arg;
	if (size <= KMALLOC_MAX)
		return kmalloc(size);
	return size == PAGE_SIZE ? kpage_alloc() : NULL;
}

/* A ring's piece: a page not zeroed (TCP writes before it reads). */
static void *tcp_alloc_buf(void *arg, size_t size)
{
	(void)arg;
	return size == PAGE_SIZE ? kpage_alloc_raw() : tcp_alloc(arg, size);
}

static void tcp_free(void *arg, void *p, size_t size)
{
	(void)arg;
	if (size <= KMALLOC_MAX)
		kfree(p, size);
	else if (p)
		kpage_free(p);
}

/* RFC 862 over UDP: every datagram to port 7 goes back to its sender.
 * Runs inside net_input, with the lock held. */
static void udp_echo(void *arg, uint32_t src, uint16_t sport, uint16_t dport,
		     const void *data, size_t len)
{
	(void)arg;
	net_udp_send(dport, src, sport, data, len, ktimer_now_ns());
}

/* RFC 862 over TCP, run by the stack's task after each batch of frames
 * and timers (with the lock held): every connection's bytes go back.
 * Bytes read but not yet taken by tcp_send wait in pending. */
static struct tcp_conn *echo_listener;
static struct tcp_echo {
	struct tcp_conn *c;
	uint16_t len, off;
	uint8_t buf[512];
} tcp_echo[NETK_TCP_ECHO_CONNS];

static void tcp_echo_run(uint64_t now)
{
	for (unsigned i = 0; i < NETK_TCP_ECHO_CONNS; i++) {
		struct tcp_echo *e = &tcp_echo[i];
		if (!e->c && (!echo_listener || tcp_accept(echo_listener, &e->c) != 0)) {
			e->c = NULL;
			continue;
		}
		for (;;) {
			if (e->off < e->len) {
				long r = tcp_send(e->c, e->buf + e->off, e->len - e->off, now);
				if (r == NET_EAGAIN)
					break;
				if (r < 0) {
					e->len = e->off = 0;
					tcp_close(e->c, now);
					e->c = NULL;
					break;
				}
				e->off = (uint16_t)(e->off + r);
				continue;
			}
			long r = tcp_recv(e->c, e->buf, sizeof(e->buf), now);
			if (r > 0) {
				e->len = (uint16_t)r;
				e->off = 0;
				continue;
			}
			if (r != NET_EAGAIN) {
				/* End of stream or an error: our side ends too. */
				tcp_close(e->c, now);
				e->c = NULL;
			}
			break;
		}
	}
}

/* ---- the stack's task ------------------------------------------------------*/

/* The stack's task lets go of the lock without netk_unlock's look at the
 * deadline: it runs the timers right after its frames, and sleeps until
 * the deadline they give (netk_unlock would wake it for one round more
 * whenever a frame had lowered the bound). */
static void task_unlock(unsigned long fl)
{
	in_net_task = false;
	spin_unlock(&netk_spin, fl);
}

/* Frames handled in one hold of netk_lock: a socket's task on another
 * hart waits at most this long for it. */
#define NETK_RX_BATCH 16

struct net_task {
	struct future base;
	struct notified rx;
	struct notified tx_room;  /* while TCP waits for the link */
	struct sleep timer;
	bool rx_armed, tx_armed, timer_armed;
	uint64_t deadline;       /* of timer, if armed */
};


static enum poll net_task_poll(struct future *f, struct context *cx)
{
	struct net_task *t = (struct net_task *)f;
	for (;;) {
		/* Created before draining: a frame filed after the drain
		 * leaves a permit, so no wake-up is lost.  The wake-up that
		 * brought us here is taken first, so that the drain answers
		 * it and only a frame filed after it makes another round. */
		if (t->rx_armed && notified_poll(&t->rx, cx) == POLL_READY) {
			notified_drop(&t->rx);
			t->rx_armed = false;
		}
		if (!t->rx_armed) {
			notified_init(&t->rx, &vnet_rx_ready);
			t->rx_armed = true;
		}
		/* Each frame is read where the device wrote it, then its
		 * buffer goes back; up to NETK_RX_BATCH frames in one hold
		 * of the lock, at one time. */
		size_t n;
		const void *frame = vnet_rx_peek(&n);
		while (frame) {
			unsigned long fl = netk_lock();
			in_net_task = true;
			uint64_t now = ktimer_now_ns();
			for (unsigned k = 0; frame && k < NETK_RX_BATCH; k++) {
				net_input(frame, n, now);
				frame = vnet_rx_next(&n);
			}
			task_unlock(fl);
		}
		unsigned long fl = netk_lock();
		in_net_task = true;
		uint64_t now = ktimer_now_ns();
		tcp_link_room(now);
		tcp_echo_run(now);
		uint64_t next = net_timer(now);
		bool blocked = tcp_link_blocked();
		task_deadline = next;
		task_unlock(fl);
		bool again = false;
		/* TCP waits for transmit room: wait for a completion too.  The
		 * waiter is made first and the room looked at once more (the
		 * next round), so a slot freed in between is not missed. */
		if (blocked && !t->tx_armed) {
			notified_init(&t->tx_room, &vnet_tx_room);
			t->tx_armed = true;
			again = true;
		} else if (!blocked && t->tx_armed) {
			notified_drop(&t->tx_room);
			t->tx_armed = false;
		}
		if (t->timer_armed && t->deadline != next) {
			sleep_drop(&t->timer);
			t->timer_armed = false;
		}
		if (!t->timer_armed && next != NET_NEVER) {
			sleep_init(&t->timer, exec_wheel(&kernel_exec), next);
			t->deadline = next;
			t->timer_armed = true;
		}
		if (t->tx_armed && !again && notified_poll(&t->tx_room, cx) == POLL_READY) {
			notified_drop(&t->tx_room);
			t->tx_armed = false;
			again = true;
		}
		if (notified_poll(&t->rx, cx) == POLL_READY) {
			notified_drop(&t->rx);
			t->rx_armed = false;
			again = true;
		}
		if (t->timer_armed && sleep_poll(&t->timer, cx) == POLL_READY) {
			sleep_drop(&t->timer);
			t->timer_armed = false;
			again = true;
		}
		if (!again)
			return POLL_PENDING;
	}
}

static void net_task_drop(struct future *f)
{
	struct net_task *t = (struct net_task *)f;
	if (t->rx_armed)
		notified_drop(&t->rx);
	if (t->tx_armed)
		notified_drop(&t->tx_room);
	if (t->timer_armed)
		sleep_drop(&t->timer);
}

static const struct future_vtable net_task_vtable = { net_task_poll, net_task_drop };

int netk_init(const struct machine *mach)
{
	if (vnet_init(mach) != VNET_OK)
		return -1;
	struct net_config cfg = { { 0 }, NET_QEMU_IP, NET_QEMU_MASK, NET_QEMU_GW };
	struct net_link link = { link_send, NULL, link_frame };
	vnet_mac(cfg.mac);
	unsigned long fl = netk_lock();
	net_init(&cfg, &link);
	struct tcp_mem mem = { tcp_alloc, tcp_free, NULL, tcp_alloc_buf };
	tcp_init(&mem);
	/* A request's ACK rides on its answer (docs/net.md, "Delayed ACK"). */
	tcp_set_delayed_ack(NETK_TCP_DELACK_NS);
	if (tcp_listen(NETK_TCP_ECHO_PORT, NETK_TCP_ECHO_CONNS, &echo_listener) != 0)
		echo_listener = NULL;
	net_udp_bind(NETK_ECHO_PORT, udp_echo, NULL);
	netk_unlock(fl);

	struct net_task t = { .base = { &net_task_vtable } };
	if (KSPAWN(t, "net", NULL) != TASK_OK) {
		printf("net: cannot spawn the stack's task\n");
		return -1;
	}
	up = true;
	printf("net: up, 10.0.2.15/24 via 10.0.2.2, UDP echo on port %u, TCP echo on port %u\n",
	       NETK_ECHO_PORT, NETK_TCP_ECHO_PORT);
	return 0;
}

/*
 * The stack's counters for netk_print_stats, a line each: its format,
 * with one %llu per counter, and where those counters are, in order, in
 * struct tcp_stats (tcp) or else struct net_stats.  Tests read these
 * lines ("tcp: N connections alive"): their words stay as they are.
 */
#define COUNTERS_MAX 12
struct counter_line {
	bool tcp;
	uint16_t at[COUNTERS_MAX];
	const char *fmt;
};
#define NS(f) offsetof(struct net_stats, f)
#define TS(f) offsetof(struct tcp_stats, f)
static const struct counter_line counter_lines[] = {
	{ false,
	  { NS(rx_frames), NS(tx_frames), NS(tx_link_drops), NS(eth_short), NS(eth_not_ours),
	    NS(eth_unknown_type) },
	  "eth: rx %llu, tx %llu (%llu dropped by the link); dropped: %llu short, "
	  "%llu not ours, %llu unknown type\n" },
	{ false,
	  { NS(arp_rx), NS(arp_bad), NS(arp_requests_tx), NS(arp_replies_tx), NS(arp_timeouts),
	    NS(arp_pending_dropped) },
	  "arp: rx %llu (%llu bad), %llu requests and %llu replies sent, %llu timeouts, "
	  "%llu held packets dropped\n" },
	{ false,
	  { NS(ip_rx), NS(ip_bad_header), NS(ip_bad_checksum), NS(ip_bad_length), NS(ip_bad_src),
	    NS(ip_frag_dropped), NS(ip_not_ours), NS(ip_unknown_proto) },
	  "ipv4: rx %llu; dropped: %llu bad header, %llu bad checksum, %llu bad length, "
	  "%llu bad source, %llu fragments, %llu not ours, %llu unknown protocol\n" },
	{ false,
	  { NS(icmp_rx), NS(icmp_bad), NS(icmp_echo_replied), NS(icmp_echo_replies_rx), NS(udp_rx),
	    NS(udp_bad), NS(udp_bad_checksum), NS(udp_no_port), NS(udp_tx) },
	  "icmp: rx %llu (%llu bad), %llu echo requests answered, %llu echo replies "
	  "received; udp: rx %llu (%llu bad, %llu bad checksum, %llu no port), tx %llu\n" },
	{ true,
	  { TS(conns_alive), TS(active_opens), TS(passive_opens), TS(accepted), TS(segs_rx),
	    TS(bad_segs), TS(bad_checksum), TS(out_of_window), TS(segs_tx), TS(resets_rx),
	    TS(resets_tx) },
	  "tcp: %llu connections alive (%llu active, %llu passive opens, %llu accepted); "
	  "segs rx %llu (%llu bad, %llu bad checksum, %llu out of window) tx %llu; "
	  "resets rx %llu tx %llu\n" },
	{ true,
	  { TS(retransmits), TS(fast_retransmits), TS(rto_timeouts), TS(dup_acks), TS(ooo_queued),
	    TS(ooo_dropped), TS(syn_backlog_full), TS(idle_timeouts), TS(time_wait_ends),
	    TS(time_wait_reopens), TS(bytes_rx), TS(bytes_tx) },
	  "tcp: %llu retransmits (%llu fast), %llu RTO give-ups, %llu dup ACKs, "
	  "%llu out-of-order held (%llu dropped), %llu SYNs over backlog, %llu orphan "
	  "timeouts, %llu TIME_WAIT ends (%llu by a new SYN), bytes rx %llu tx %llu\n" },
	{ true, { TS(link_full) },
	  "tcp: %llu segments refused by the full transmit queue, sent again when it had room\n" },
};
#undef NS
#undef TS

/* One line: a counter from the snapshot at base for each conversion of
 * the format (printf ignores the arguments left over). */
static void print_counters(const struct counter_line *l, const void *base)
{
	unsigned long long v[COUNTERS_MAX] = { 0 };
	unsigned n = 0;
	for (const char *p = l->fmt; *p; p++)
		if (*p == '%' && n < COUNTERS_MAX) {
			uint64_t x;
			memcpy(&x, (const char *)base + l->at[n], sizeof(x));
			v[n++] = x;
		}
	printf(l->fmt, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]);
}

void netk_print_stats(void)
{
	if (!up) {
		printf("net: no network device\n");
		return;
	}
	const struct vnet_stats *v = &vnet_stats;
	printf("virtio-net: rx %llu frames (%llu malformed), tx %llu frames "
	       "(%llu done, %llu malformed, %llu full), %llu interrupts, %llu doorbells\n",
	       (unsigned long long)v->rx_frames, (unsigned long long)v->rx_malformed,
	       (unsigned long long)v->tx_frames,
	       (unsigned long long)v->tx_done, (unsigned long long)v->tx_malformed,
	       (unsigned long long)v->tx_full, (unsigned long long)v->interrupts,
	       (unsigned long long)v->notifies);
	if (vnet_inject_pct())
		printf("injected (net_drop=%u): rx %llu dropped, %llu duplicated, %llu reordered; "
		       "tx %llu dropped, %llu duplicated, %llu reordered\n", vnet_inject_pct(),
		       (unsigned long long)v->rx_inj_dropped, (unsigned long long)v->rx_inj_duplicated,
		       (unsigned long long)v->rx_inj_reordered, (unsigned long long)v->tx_inj_dropped,
		       (unsigned long long)v->tx_inj_duplicated,
		       (unsigned long long)v->tx_inj_reordered);
	unsigned long fl = netk_lock();
	struct net_stats s = net_stats;
	struct tcp_stats t = tcp_stats;
	netk_unlock(fl);
	for (size_t i = 0; i < sizeof(counter_lines) / sizeof(counter_lines[0]); i++)
		print_counters(&counter_lines[i], counter_lines[i].tcp ? (const void *)&t : &s);
}
