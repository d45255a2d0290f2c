/* TCP (RFC 9293's core) over the stack's IPv4: the interface the socket layer builds on. */
#ifndef KERNEL_NET_TCP_H
#define KERNEL_NET_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/net/net.h"

/*
 * Like the rest of kernel/net/: arch-neutral, free of the kernel, not
 * locked (the caller serialises every call; in the kernel under
 * netk_lock), time passed in as now_ns.  Errors are negative NET_E*.
 * Timers run inside net_timer and count in net_next_deadline.
 * docs/net.md draws the state machine and lists the timers.
 */

struct tcp_conn;                        /* opaque to callers */

/* The states of RFC 9293, section 3.3.2. */
enum tcp_state {
	TCP_CLOSED = 0,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RECEIVED,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

/* Each connection's receive and send buffers (bytes each). */
#define TCP_BUF 8192
/* The MSS we announce: 1500 - 20 - 20 = 1460, rounded down to a multiple
 * of 8 (full segments then start at stream offsets a multiple of 8 apart,
 * so the copies between frames and the rings move whole words); the
 * peer's when it sends none (RFC 9293 3.7.1); the least we believe.  The
 * peer's MSS is rounded down to a multiple of 8 as well. */
#define TCP_MSS 1456
#define TCP_MSS_DEFAULT 536
#define TCP_MSS_MIN 64
/* A listener holds at most this many children, whatever it asks for. */
#define TCP_BACKLOG_MAX 256
/* Out-of-order ranges held per connection (inside the receive buffer). */
#define TCP_OOO_MAX 8
#define TCP_EPHEMERAL_LO 49152

/* Timers (ns).  The RTO follows RFC 6298 from TCP_RTO_INIT_NS, within
 * [TCP_RTO_MIN_NS, TCP_RTO_MAX_NS], doubling on each expiry; after
 * TCP_RETRIES expiries without progress (TCP_SYN_RETRIES for a SYN or
 * SYN,ACK) the connection fails with NET_ETIMEDOUT.  TIME_WAIT lasts 2 s,
 * not 2 x MSL = 240 s: our peers are on one link and ports are plenty.
 * An orphan (closed by its owner, still closing) that has not finished
 * TCP_ORPHAN_NS after tcp_close is reset and freed (this bounds FIN_WAIT_2). */
#define TCP_RTO_INIT_NS 1000000000ull
#define TCP_RTO_MIN_NS 200000000ull
#define TCP_RTO_MAX_NS 60000000000ull
#define TCP_CLOCK_NS 1000000ull           /* G, the clock granularity */
#define TCP_RETRIES 8
#define TCP_SYN_RETRIES 4
#define TCP_DUPACK_THRESH 3
#define TCP_TIME_WAIT_NS 2000000000ull
#define TCP_ORPHAN_NS 15000000000ull
/* The longest delay tcp_set_delayed_ack accepts (RFC 9293 3.8.6.3 allows
 * 0.5 s). */
#define TCP_DELACK_MAX_NS 200000000ull

/* Memory for connections and their buffers, given once (kernel: kmalloc/kpage_alloc;
 * host: malloc).  Each connection's receive and send buffers are TCP_BUF bytes each,
 * in pieces from alloc_buf when it is given: those need not be zeroed (TCP writes
 * every byte of them before it reads it). */
struct tcp_mem {
	void *(*alloc)(void *arg, size_t size);      /* zeroed, NULL when out of memory */
	void (*free)(void *arg, void *p, size_t size);
	void *arg;
	void *(*alloc_buf)(void *arg, size_t size);  /* NULL: alloc */
};
/* Forget every connection and set the allocator; the caller calls it right after net_init. */
void tcp_init(const struct tcp_mem *mem);

/* Delayed ACK (off after tcp_init): an in-order data segment's ACK waits
 * up to delay_ns (at most TCP_DELACK_MAX_NS) for data of ours to ride on,
 * or for a second segment; 0 acknowledges every segment at once. */
void tcp_set_delayed_ack(uint64_t delay_ns);

/* Readiness bits, passed to the notify callback and returned by tcp_events(). */
#define TCP_EV_READABLE   1u  /* data, or end of stream, or an error to report */
#define TCP_EV_WRITABLE   2u  /* room in the send buffer, or an error to report */
#define TCP_EV_ACCEPTABLE 4u  /* a listener has an established connection waiting */
#define TCP_EV_CONNECTED  8u  /* an active open finished (ESTABLISHED) */
#define TCP_EV_ERROR     16u  /* reset, refused or timed out: tcp_error() says which */

/* Called, inside whichever tcp_ or net_ call caused it, when events may have become true
 * (spurious calls allowed; the callee re-checks with tcp_events).  It may not call back
 * into the stack except tcp_events/tcp_error; the kernel's wakes wakers from it. */
typedef void (*tcp_notify_fn)(void *arg, unsigned events);
void tcp_set_notify(struct tcp_conn *c, tcp_notify_fn fn, void *arg);
unsigned tcp_events(const struct tcp_conn *c);
int tcp_error(const struct tcp_conn *c);       /* 0 or NET_ECONNREFUSED/ECONNRESET/ETIMEDOUT */

/* Passive open on local port (nonzero), at most backlog (>= 1, capped) connections waiting
 * to be accepted (SYN_RECEIVED + ESTABLISHED-not-yet-accepted).  0 or NET_EADDRINUSE /
 * NET_ENOMEM / NET_EINVAL. */
int tcp_listen(uint16_t port, unsigned backlog, struct tcp_conn **out);
/* One waiting connection: 0 with *out, or NET_EAGAIN when none waits. */
int tcp_accept(struct tcp_conn *listener, struct tcp_conn **out);

/* Active open from local_port (0: an ephemeral port 49152..65535) to ip:port.  0 with *out
 * in SYN_SENT (then TCP_EV_CONNECTED or TCP_EV_ERROR), or NET_E* at once. */
int tcp_connect(uint16_t local_port, uint32_t ip, uint16_t port, uint64_t now_ns,
		struct tcp_conn **out);

/* Copy out up to n received bytes: >0 bytes, 0 at end of stream (FIN received and all read),
 * NET_EAGAIN when nothing is there yet, or the error.  Opening the window sends an update. */
long tcp_recv(struct tcp_conn *c, void *buf, size_t n, uint64_t now_ns);
/* Queue up to n bytes for sending: >0 bytes taken (maybe fewer than n), NET_EAGAIN when the
 * send buffer is full, NET_EPIPE after tcp_shutdown, NET_ENOTCONN before ESTABLISHED, or the
 * error.  Segments go out at once if the windows allow. */
long tcp_send(struct tcp_conn *c, const void *buf, size_t n, uint64_t now_ns);
/* tcp_recv and tcp_send with the copy left to the caller, so that bytes
 * move once between the connection's buffers and, say, a program's pages:
 * copy(arg, off, p, len) moves len bytes between p, inside the stack's
 * buffer, and the caller's bytes at offset off (out of p for a receive,
 * into p for a send), in order, in one or more pieces.  A nonzero return
 * stops the call: nothing is taken or queued and the result is
 * NET_EFAULT.  Otherwise exactly as tcp_recv and tcp_send. */
typedef int (*tcp_copy_fn)(void *arg, size_t off, void *p, size_t len);
long tcp_recv_copy(struct tcp_conn *c, size_t n, tcp_copy_fn copy, void *arg, uint64_t now_ns);
long tcp_send_copy(struct tcp_conn *c, size_t n, tcp_copy_fn copy, void *arg, uint64_t now_ns);
/* No more sending: FIN after the queued data.  0 or NET_ENOTCONN. */
int tcp_shutdown(struct tcp_conn *c, uint64_t now_ns);
/* The caller lets go of c (no notify after this).  Unread data or a listener: RST to each;
 * otherwise an orderly close (FIN), and c frees itself when the close ends (after
 * TIME_WAIT) or times out.  A listener's unaccepted connections are reset and freed. */
void tcp_close(struct tcp_conn *c, uint64_t now_ns);

void tcp_addrs(const struct tcp_conn *c, uint32_t *local_ip, uint16_t *local_port,
	       uint32_t *remote_ip, uint16_t *remote_port);
int tcp_state(const struct tcp_conn *c);       /* TCP_CLOSED..TCP_TIME_WAIT */
/* A full link (the send hook said NET_EAGAIN) refuses a segment: its
 * connection waits for room instead of for a retransmission timeout.
 * tcp_link_blocked: some connection waits; the caller calls tcp_link_room
 * when the link has room again (its transmit queue freed a slot), which
 * sends what they could not. */
bool tcp_link_blocked(void);
void tcp_link_room(uint64_t now_ns);
const char *tcp_state_name(int state);

struct tcp_stats {
	uint64_t conns_alive;          /* allocated now (listeners included): leak check */
	uint64_t active_opens, passive_opens, accepted, resets_tx, resets_rx;
	uint64_t segs_rx, segs_tx, bad_segs, bad_checksum, out_of_window;
	uint64_t retransmits, fast_retransmits, rto_timeouts, dup_acks;
	uint64_t ooo_queued, ooo_dropped, syn_backlog_full, idle_timeouts, time_wait_ends;
	uint64_t time_wait_reopens;     /* new SYNs that ended a TIME_WAIT (RFC 1122 4.2.2.13) */
	uint64_t bytes_rx, bytes_tx;
	uint64_t link_full;            /* segments the link refused (full): sent again */
};
extern struct tcp_stats tcp_stats;

#endif /* KERNEL_NET_TCP_H */
