/* TCP (RFC 9293's core): handshakes, windows, retransmission, reassembly, every state. */
#include "kernel/net/net_impl.h"
#include "kernel/net/tcp.h"

/*
 * One struct tcp_conn per connection or listener, allocated through the
 * struct tcp_mem given to tcp_init.  Connections with a remote end sit in
 * a hash table keyed by the 4-tuple; listeners in a list of their own.  A
 * connection that reaches CLOSED while its owner still holds it leaves the
 * table and waits for tcp_close; one whose owner has let go (an orphan),
 * or a listener's child not yet accepted, is freed by the stack.
 *
 * Buffers: the receive and send rings are TCP_BUF bytes each, in
 * TCP_CHUNK-sized pieces (the kernel's page allocator hands out one page
 * at a time).  The receive ring holds the bytes not yet read and, after
 * them, out-of-order bytes at their place in the window (ranges in ooo[]);
 * the advertised window is exactly the free space, so its right edge never
 * moves left.  The send ring holds the bytes from snd_data (the first
 * unacknowledged data byte) on.
 *
 * No congestion control (RFC 5681) and no Nagle: data goes out as soon
 * as the peer's window allows.  Delayed ACK (RFC 9293 3.8.6.3, RFC 5681
 * 4.2) when tcp_set_delayed_ack gave a delay: an in-order data segment
 * with no gap around it is acknowledged by whatever we send next (the
 * reply, a window update), by the second such segment, or when the
 * delay ends, whichever comes first; everything else (out-of-order data,
 * data filling a gap, a FIN) is acknowledged at once.  Without a delay
 * every segment that carries data or a FIN is acknowledged at once.
 */

#define TCP_CHUNK 4096
#define TCP_CHUNKS (TCP_BUF / TCP_CHUNK)
#define TCP_HDR 20

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

struct ring {
	uint8_t *chunk[TCP_CHUNKS];
};

struct range {
	uint32_t start, end;     /* sequence numbers, [start, end) */
};

struct tcp_conn {
	struct tcp_conn *next;           /* hash bucket, or the listener list */
	struct tcp_conn *all_next;       /* every hashed connection (tcp_g.conns) */
	struct tcp_conn **all_prev;      /* the pointer to this one in that list */
	struct tcp_conn *parent;         /* a listener's child not yet accepted */
	struct tcp_conn *q_next;         /* in the parent's queue */
	uint8_t state;
	bool hashed, orphan, shut, fin_rcvd, timing;
	bool fin_held;                   /* a FIN after a gap, at fin_at */
	bool link_wait;                  /* the link had no room: tcp_link_room */
	uint32_t fin_at;
	int err;
	uint32_t lip, rip;
	uint16_t lport, rport;
	uint16_t mss;                    /* most data per segment we send */

	/* Send side (RFC 9293 names). snd_max: the highest sequence sent. */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t snd_data;               /* sequence of the first byte in the ring */
	uint32_t snd_head, snd_len;      /* ring position and bytes held */
	unsigned dupacks;

	/* Receive side. */
	uint32_t irs, rcv_nxt, rcv_adv;  /* rcv_adv: right edge last advertised */
	uint32_t rcv_head, rcv_len;      /* unread in-order bytes */
	unsigned n_ooo;
	struct range ooo[TCP_OOO_MAX];

	/* Timers (NET_NEVER when off) and round-trip estimation (ns). */
	uint64_t rexmt_at;               /* retransmission or window probe */
	uint64_t end_at;                 /* TIME_WAIT end, or an orphan's deadline */
	uint64_t ack_at;                 /* a delayed ACK is due */
	unsigned ack_segs;               /* data segments its ACK owes */
	uint64_t srtt, rttvar, rto, rtt_start;
	uint32_t rtt_seq;
	unsigned tries;

	/* A listener's queue (children in SYN_RECEIVED or not yet accepted). */
	struct tcp_conn *q_head;
	unsigned q_len, backlog;

	tcp_notify_fn notify;
	void *notify_arg;
	struct ring rx, tx;
};

struct tcp_global tcp_g;
struct tcp_stats tcp_stats;

/* ---- sequence numbers: modulo 2^32, compared within half the space ------ */

static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}
static inline bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b)
{
	return seq_lt(b, a);
}
static inline bool seq_ge(uint32_t a, uint32_t b)
{
	return seq_le(b, a);
}

/* ---- memory ----------------------------------------------------------------*/

static void ring_free(struct ring *r)
{
	for (unsigned i = 0; i < TCP_CHUNKS; i++)
		if (r->chunk[i]) {
			tcp_g.mem.free(tcp_g.mem.arg, r->chunk[i], TCP_CHUNK);
			r->chunk[i] = NULL;
		}
}

static bool ring_alloc(struct ring *r)
{
	for (unsigned i = 0; i < TCP_CHUNKS; i++)
		if (!r->chunk[i] && !(r->chunk[i] = tcp_g.mem.alloc_buf(tcp_g.mem.arg, TCP_CHUNK)))
			return false;
	return true;
}

static bool bufs_alloc(struct tcp_conn *c)
{
	return ring_alloc(&c->rx) && ring_alloc(&c->tx);
}

/* Copy n bytes into / out of a ring at position pos (mod TCP_BUF). */
static void ring_put(struct ring *r, uint32_t pos, const uint8_t *src, uint32_t n)
{
	while (n) {
		pos %= TCP_BUF;
		uint32_t off = pos % TCP_CHUNK, k = TCP_CHUNK - off;
		if (k > n)
			k = n;
		memcpy(r->chunk[pos / TCP_CHUNK] + off, src, k);
		src += k;
		pos += k;
		n -= k;
	}
}

/* ring_put, summing the bytes as they are copied: their Internet
 * checksum (net_csum_add's, unfolded) as one buffer from an even offset;
 * a piece at an odd offset in it sums with its bytes' pairing swapped
 * (RFC 1071 2(B)). */
static uint32_t ring_put_sum(struct ring *r, uint32_t pos, const uint8_t *src, uint32_t n)
{
	pos %= TCP_BUF;
	if (TCP_CHUNK - pos % TCP_CHUNK >= n)      /* one piece: most segments */
		return net_csum_copy(0, r->chunk[pos / TCP_CHUNK] + pos % TCP_CHUNK, src, n);
	uint32_t sum = 0;
	for (uint32_t done = 0; done < n;) {
		pos %= TCP_BUF;
		uint32_t off = pos % TCP_CHUNK, k = TCP_CHUNK - off;
		if (k > n - done)
			k = n - done;
		uint32_t s = net_csum_fold(net_csum_copy(0, r->chunk[pos / TCP_CHUNK] + off,
							 src + done, k));
		sum += done & 1 ? (s & 0xff) << 8 | s >> 8 : s;
		done += k;
		pos += k;
	}
	return sum;
}

/* n bytes of a ring from position pos through the caller's copy: 0, or
 * NET_EFAULT when it refused a piece. */
static int ring_copy(struct ring *r, uint32_t pos, uint32_t n, tcp_copy_fn copy, void *arg)
{
	size_t off = 0;
	while (n) {
		pos %= TCP_BUF;
		uint32_t o = pos % TCP_CHUNK, k = TCP_CHUNK - o;
		if (k > n)
			k = n;
		if (copy(arg, off, r->chunk[pos / TCP_CHUNK] + o, k))
			return NET_EFAULT;
		off += k;
		pos += k;
		n -= k;
	}
	return 0;
}

static struct tcp_conn *conn_new(void)
{
	struct tcp_conn *c = tcp_g.mem.alloc(tcp_g.mem.arg, sizeof(*c));
	if (!c)
		return NULL;
	c->mss = TCP_MSS_DEFAULT;
	c->rto = TCP_RTO_INIT_NS;
	c->rexmt_at = c->end_at = c->ack_at = NET_NEVER;
	c->lip = net.cfg.ip;
	tcp_stats.conns_alive++;
	return c;
}

static unsigned bucket(uint16_t lport, uint32_t rip, uint16_t rport)
{
	uint32_t h = rip * 0x9e3779b1u ^ ((uint32_t)lport << 16 | rport) * 0x85ebca6bu;
	return (h ^ h >> 15) % TCP_HASH;
}

static void hash_add(struct tcp_conn *c)
{
	unsigned b = bucket(c->lport, c->rip, c->rport);
	c->next = tcp_g.hash[b];
	tcp_g.hash[b] = c;
	c->hashed = true;
	c->all_next = tcp_g.conns;
	if (c->all_next)
		c->all_next->all_prev = &c->all_next;
	c->all_prev = &tcp_g.conns;
	tcp_g.conns = c;
}

static void unlink_from(struct tcp_conn **head, struct tcp_conn *c)
{
	for (struct tcp_conn **p = head; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			return;
		}
}

static void hash_del(struct tcp_conn *c)
{
	if (c->hashed) {
		unlink_from(&tcp_g.hash[bucket(c->lport, c->rip, c->rport)], c);
		*c->all_prev = c->all_next;
		if (c->all_next)
			c->all_next->all_prev = c->all_prev;
		c->all_next = NULL;
		c->all_prev = NULL;
	}
	c->hashed = false;
	c->next = NULL;
}

static struct tcp_conn *lookup(uint16_t lport, uint32_t rip, uint16_t rport)
{
	for (struct tcp_conn *c = tcp_g.hash[bucket(lport, rip, rport)]; c; c = c->next)
		if (c->lport == lport && c->rip == rip && c->rport == rport)
			return c;
	return NULL;
}

static struct tcp_conn *find_listener(uint16_t port)
{
	for (struct tcp_conn *c = tcp_g.listeners; c; c = c->next)
		if (c->lport == port)
			return c;
	return NULL;
}

static void queue_del(struct tcp_conn *c)
{
	struct tcp_conn *l = c->parent;
	if (!l)
		return;
	for (struct tcp_conn **p = &l->q_head; *p; p = &(*p)->q_next)
		if (*p == c) {
			*p = c->q_next;
			l->q_len--;
			break;
		}
	c->parent = NULL;
	c->q_next = NULL;
}

static void conn_free(struct tcp_conn *c)
{
	hash_del(c);
	queue_del(c);
	ring_free(&c->rx);
	ring_free(&c->tx);
	tcp_g.mem.free(tcp_g.mem.arg, c, sizeof(*c));
	tcp_stats.conns_alive--;
}

static void wake(struct tcp_conn *c)
{
	if (c->parent)
		c = c->parent;
	if (c->notify)
		c->notify(c->notify_arg, tcp_events(c));
}

/* A wake for what one change can have made true (data: READABLE; an
 * acknowledgment or a window: WRITABLE), so the waiters for the other
 * events are not woken for nothing. */
static void wake_ev(struct tcp_conn *c, unsigned mask)
{
	if (c->parent) {
		wake(c);
		return;
	}
	unsigned ev = c->notify ? tcp_events(c) & (mask | TCP_EV_ERROR) : 0;
	if (ev)
		c->notify(c->notify_arg, ev);
}

/* The connection is over (err: why, or 0).  Returns true if it was freed
 * (nobody holds it); else it waits in CLOSED for tcp_close. */
static bool conn_done(struct tcp_conn *c, int err)
{
	c->state = TCP_CLOSED;
	if (err && !c->err)
		c->err = err;
	c->rexmt_at = c->end_at = c->ack_at = NET_NEVER;
	hash_del(c);
	if (c->orphan || c->parent) {
		conn_free(c);
		return true;
	}
	wake(c);
	return false;
}

/* Set one of c's timers.  tcp_g.next_timer is never later than the
 * earliest timer of any connection (it may be earlier: a timer stopped or
 * moved later leaves it, and the next scan corrects it), so tcp_timer
 * scans the connections only when something may be due. */
static void arm(struct tcp_conn *c, uint64_t *timer, uint64_t at)
{
	(void)c;
	*timer = at;
	if (at < tcp_g.next_timer)
		tcp_g.next_timer = at;
}

/* ---- output ----------------------------------------------------------------*/

static uint32_t rcv_window(const struct tcp_conn *c)
{
	return c->rx.chunk[0] ? TCP_BUF - c->rcv_len : TCP_BUF;
}

/* Build and send one segment: flags, seq, and len bytes of data from the
 * send ring starting at sequence seq (len 0: none).  0, or NET_EAGAIN when
 * the link had no room for it: then it was not sent, and what it
 * acknowledges is still owed. */
static int emit(struct tcp_conn *c, uint8_t flags, uint32_t seq, uint32_t len, uint64_t now)
{
	uint8_t *t = ip_payload_out();
	size_t hlen = TCP_HDR + ((flags & F_SYN) ? 4 : 0);
	uint32_t wnd = rcv_window(c);
	put16(t, c->lport);
	put16(t + 2, c->rport);
	put32(t + 4, seq);
	put32(t + 8, (flags & F_ACK) ? c->rcv_nxt : 0);
	t[12] = (uint8_t)(hlen / 4 << 4);
	t[13] = flags;
	put16(t + 14, (uint16_t)wnd);
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (flags & F_SYN) {
		t[20] = 2;               /* MSS */
		t[21] = 4;
		put16(t + 22, TCP_MSS);
	}
	size_t n = hlen + len;
	uint32_t sum = tcp_pseudo_sum(net.cfg.ip, c->rip, n);
	if (len) {
		/* The data is summed as it is copied, piece by piece of the
		 * ring; a piece at an odd offset in the segment sums with
		 * its bytes' pairing swapped (RFC 1071 2(B)). */
		uint32_t pos = (c->snd_head + (seq - c->snd_data)) % TCP_BUF;
		for (uint32_t done = 0; done < len;) {
			uint32_t off = pos % TCP_CHUNK, k = TCP_CHUNK - off;
			if (k > len - done)
				k = len - done;
			uint32_t s = net_csum_fold(net_csum_copy(
				0, t + hlen + done, c->tx.chunk[pos / TCP_CHUNK] + off, k));
			sum += done & 1 ? (s & 0xff) << 8 | s >> 8 : s;
			done += k;
			pos = (pos + k) % TCP_BUF;
		}
	}
	put16(t + 16, (uint16_t)~net_csum_fold(net_csum_add(sum, t, hlen)));
	if (ip_output(c->rip, IP_PROTO_TCP, n, now) == NET_EAGAIN)
		return NET_EAGAIN;
	tcp_stats.segs_tx++;
	if (flags & F_ACK) {
		c->rcv_adv = c->rcv_nxt + wnd;
		c->ack_at = NET_NEVER;   /* this acknowledges everything */
		c->ack_segs = 0;
	}
	return 0;
}

/* The link (a full transmit queue) refused a segment of c: c sends again
 * when tcp_link_room says there is room, instead of waiting for a
 * retransmission timeout for a segment that never left. */
static void link_full(struct tcp_conn *c)
{
	c->link_wait = true;
	tcp_g.link_wait = true;
	tcp_stats.link_full++;
}

/* A reply to a segment that belongs to no connection (RFC 9293 3.10.7.1). */
static void send_reset(uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		       uint8_t flags, uint64_t now)
{
	uint8_t *t = ip_payload_out();
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = TCP_HDR / 4 << 4;
	t[13] = flags;
	put16(t + 14, 0);
	put16(t + 16, 0);
	put16(t + 18, 0);
	put16(t + 16, (uint16_t)~net_csum_fold(net_csum_add(
		tcp_pseudo_sum(net.cfg.ip, dst, TCP_HDR), t, TCP_HDR)));
	tcp_stats.segs_tx++;
	tcp_stats.resets_tx++;
	ip_output(dst, IP_PROTO_TCP, TCP_HDR, now);
}

static void send_ack(struct tcp_conn *c, uint64_t now)
{
	if (emit(c, F_ACK, c->snd_nxt, 0, now) == NET_EAGAIN)
		link_full(c);
}

static void send_rst(struct tcp_conn *c, uint64_t now)
{
	tcp_stats.resets_tx++;
	emit(c, F_RST | F_ACK, c->snd_nxt, 0, now);
}

static uint32_t fin_seq(const struct tcp_conn *c)
{
	return c->snd_data + c->snd_len;
}

static bool fin_acked(const struct tcp_conn *c)
{
	return c->shut && seq_gt(c->snd_una, fin_seq(c));
}

/* Send what the window allows from seq on, at most one segment of at most
 * max bytes; returns the sequence space it used (0: nothing to send). */
static uint32_t send_from(struct tcp_conn *c, uint32_t seq, uint32_t max, uint64_t now)
{
	uint8_t flags = F_ACK;
	uint32_t used;
	if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
		/* Before the handshake ends only the SYN is ever sent. */
		flags = c->state == TCP_SYN_SENT ? F_SYN : F_SYN | F_ACK;
		seq = c->iss;
		used = 1;
		emit(c, flags, seq, 0, now);
	} else {
		uint32_t end = fin_seq(c), n = 0;
		if (seq_lt(seq, end)) {
			n = end - seq;
			if (n > max) {
				/* Cut by the window: end on a word of the ring
				 * when that leaves something, so the segments
				 * after it start on one too (see TCP_MSS). */
				uint32_t cut = (c->snd_head + (seq - c->snd_data) + max) % 8;
				n = max > cut ? max - cut : max;
			}
			if (n > c->mss)
				n = c->mss;
			flags |= F_PSH;
		}
		used = n;
		if (c->shut && seq + n == end && (n < max || n == 0)) {
			flags |= F_FIN;
			used++;
		}
		if (!used)
			return 0;
		if (emit(c, flags, seq, n, now) == NET_EAGAIN) {
			link_full(c);
			return 0;
		}
		tcp_stats.bytes_tx += n;
	}
	if (seq_lt(seq, c->snd_max)) {
		tcp_stats.retransmits++;
		c->timing = false;   /* Karn: no sample from a retransmitted segment */
	} else if (!c->timing) {
		c->timing = true;
		c->rtt_seq = seq + used;
		c->rtt_start = now;
	}
	if (seq_gt(seq + used, c->snd_nxt))
		c->snd_nxt = seq + used;
	if (seq_gt(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	if (c->rexmt_at == NET_NEVER || c->tries)
		arm(c, &c->rexmt_at, now + c->rto);
	return used;
}

/* Arm or disarm the retransmission / persist timer after the send state
 * changed. */
static void set_rexmt(struct tcp_conn *c, uint64_t now)
{
	if (c->snd_una != c->snd_max) {
		if (c->rexmt_at == NET_NEVER)
			arm(c, &c->rexmt_at, now + c->rto);
	} else if (c->snd_wnd == 0 && seq_lt(c->snd_nxt, fin_seq(c) + (c->shut ? 1 : 0)) &&
		   c->state != TCP_SYN_SENT && c->state != TCP_SYN_RECEIVED) {
		/* Zero window with something to send: probe it. */
		if (c->rexmt_at == NET_NEVER)
			arm(c, &c->rexmt_at, now + c->rto);
	} else {
		c->rexmt_at = NET_NEVER;
		c->tries = 0;
	}
}

/* Send new data (and the FIN) as far as the peer's window allows. */
static void output(struct tcp_conn *c, uint64_t now)
{
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	default:
		return;
	}
	for (;;) {
		uint32_t edge = c->snd_una + c->snd_wnd;
		uint32_t room = seq_gt(edge, c->snd_nxt) ? edge - c->snd_nxt : 0;
		bool fin_only = c->shut && c->snd_nxt == fin_seq(c);
		if (!room && !fin_only)
			break;
		if (!send_from(c, c->snd_nxt, room, now))
			break;
	}
	set_rexmt(c, now);
}

/* ---- ISN (RFC 6528): a keyed hash of the 4-tuple plus a 4 µs clock ------ */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	return x ^ x >> 33;
}

static uint32_t make_isn(const struct tcp_conn *c, uint64_t now)
{
	uint64_t k = mix(tcp_g.secret ^ ((uint64_t)c->lip << 32 | c->rip));
	k = mix(k ^ ((uint64_t)c->lport << 16 | c->rport));
	return (uint32_t)k + (uint32_t)(now / 4000);
}

/* ---- round-trip time and the RTO (RFC 6298) ------------------------------*/

static void rtt_sample(struct tcp_conn *c, uint64_t r)
{
	if (!c->srtt) {
		c->srtt = r ? r : 1;
		c->rttvar = r / 2;
	} else {
		uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
		if (!c->srtt)
			c->srtt = 1;
	}
	uint64_t rto = c->srtt + (4 * c->rttvar > TCP_CLOCK_NS ? 4 * c->rttvar : TCP_CLOCK_NS);
	if (rto < TCP_RTO_MIN_NS)
		rto = TCP_RTO_MIN_NS;
	if (rto > TCP_RTO_MAX_NS)
		rto = TCP_RTO_MAX_NS;
	c->rto = rto;
}

/* ---- input -----------------------------------------------------------------*/

uint32_t tcp_pseudo_sum(uint32_t src, uint32_t dst, size_t len)
{
	return net_pseudo_sum(src, dst, IP_PROTO_TCP, len);
}

struct seg {
	uint32_t seq, ack, len;          /* len: data bytes */
	uint16_t wnd, mss;               /* mss: 0 if no option */
	uint8_t flags;
	bool placed;                     /* data already in the receive ring */
	const uint8_t *data;
};

static uint16_t parse_mss(const uint8_t *o, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t kind = o[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
			break;       /* malformed: stop reading options */
		if (kind == 2 && o[i + 1] == 4)
			return get16(o + i + 2);
		i += o[i + 1];
	}
	return 0;
}

static void set_mss(struct tcp_conn *c, uint16_t peer)
{
	uint16_t m = peer ? peer : TCP_MSS_DEFAULT;
	if (m > TCP_MSS)
		m = TCP_MSS;
	if (m < TCP_MSS_MIN)
		m = TCP_MSS_MIN;
	c->mss = m & ~7u;   /* whole words per segment: see TCP_MSS */
}

static void enter_established(struct tcp_conn *c)
{
	c->state = TCP_ESTABLISHED;
	c->tries = 0;
}

/* A SYN to a listener: a child in SYN_RECEIVED, unless the backlog is full. */
static void listen_input(struct tcp_conn *l, uint32_t src, uint16_t sport, const struct seg *s,
			 uint32_t iss_floor, uint64_t now)
{
	if (s->flags & F_RST)
		return;
	if (s->flags & F_ACK) {
		send_reset(src, l->lport, sport, s->ack, 0, F_RST, now);
		return;
	}
	if (!(s->flags & F_SYN))
		return;
	if (l->q_len >= l->backlog) {
		tcp_stats.syn_backlog_full++;
		return;
	}
	struct tcp_conn *c = conn_new();
	if (!c) {
		tcp_stats.syn_backlog_full++;
		return;
	}
	c->lport = l->lport;
	c->rip = src;
	c->rport = sport;
	c->state = TCP_SYN_RECEIVED;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt + TCP_BUF;
	c->iss = make_isn(c, now);
	if (iss_floor && seq_lt(c->iss, iss_floor))
		c->iss = iss_floor;
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_data = c->iss + 1;
	c->snd_wnd = s->wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = c->iss;
	set_mss(c, s->mss);
	c->parent = l;
	c->q_next = l->q_head;
	l->q_head = c;
	l->q_len++;
	hash_add(c);
	tcp_stats.passive_opens++;
	send_from(c, c->iss, 0, now);
}

/* A segment for a connection in SYN_SENT (RFC 9293 3.10.7.3). */
static void syn_sent_input(struct tcp_conn *c, const struct seg *s, uint64_t now)
{
	bool ack_ok = false;
	if (s->flags & F_ACK) {
		if (seq_le(s->ack, c->iss) || seq_gt(s->ack, c->snd_max)) {
			if (!(s->flags & F_RST))
				send_reset(c->rip, c->lport, c->rport, s->ack, 0, F_RST, now);
			return;
		}
		ack_ok = true;
	}
	if (s->flags & F_RST) {
		if (ack_ok) {
			tcp_stats.resets_rx++;
			conn_done(c, NET_ECONNREFUSED);
		}
		return;
	}
	if (!(s->flags & F_SYN))
		return;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	set_mss(c, s->mss);
	c->snd_wnd = s->wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	if (ack_ok) {
		c->snd_una = s->ack;
		if (c->timing && seq_ge(s->ack, c->rtt_seq)) {
			rtt_sample(c, now - c->rtt_start);
			c->timing = false;
		}
		enter_established(c);
		c->rexmt_at = NET_NEVER;
		send_ack(c, now);
		output(c, now);
		wake(c);
		return;
	}
	/* Simultaneous open: both sent a SYN; answer with SYN,ACK. */
	c->state = TCP_SYN_RECEIVED;
	c->tries = 0;
	c->timing = false;
	send_from(c, c->iss, 0, now);
}

/* Out-of-order bytes [seq, seq + n) already written to the ring: remember
 * the range, merged with those it touches.  False if no slot is left. */
static bool ooo_add(struct tcp_conn *c, uint32_t seq, uint32_t n)
{
	struct range r = { seq, seq + n };
	unsigned i = 0, out = 0;
	struct range keep[TCP_OOO_MAX + 1];
	bool placed = false;
	for (i = 0; i < c->n_ooo; i++) {
		struct range o = c->ooo[i];
		if (seq_lt(o.end, r.start)) {
			keep[out++] = o;
		} else if (seq_gt(o.start, r.end)) {
			if (!placed) {
				keep[out++] = r;
				placed = true;
			}
			keep[out++] = o;
		} else {
			if (seq_lt(o.start, r.start))
				r.start = o.start;
			if (seq_gt(o.end, r.end))
				r.end = o.end;
		}
	}
	if (!placed)
		keep[out++] = r;
	if (out > TCP_OOO_MAX)
		return false;
	memcpy(c->ooo, keep, out * sizeof(keep[0]));
	c->n_ooo = out;
	return true;
}

/* Data at seq (already trimmed to the window); placed: tcp_input copied
 * it to its place in the ring already (then seq is RCV.NXT). */
static void take_data(struct tcp_conn *c, uint32_t seq, const uint8_t *p, uint32_t n,
		      bool placed)
{
	uint32_t at = c->rcv_head + c->rcv_len + (seq - c->rcv_nxt);
	if (seq != c->rcv_nxt) {
		struct range save[TCP_OOO_MAX];
		unsigned saved = c->n_ooo;
		memcpy(save, c->ooo, sizeof(save));
		if (!ooo_add(c, seq, n)) {
			memcpy(c->ooo, save, sizeof(save));
			c->n_ooo = saved;
			tcp_stats.ooo_dropped++;
			return;
		}
		ring_put(&c->rx, at, p, n);
		tcp_stats.ooo_queued++;
		return;
	}
	if (!placed)
		ring_put(&c->rx, at, p, n);
	c->rcv_nxt += n;
	c->rcv_len += n;
	tcp_stats.bytes_rx += n;
	/* Held ranges that now touch the in-order data join it. */
	while (c->n_ooo && seq_le(c->ooo[0].start, c->rcv_nxt)) {
		if (seq_gt(c->ooo[0].end, c->rcv_nxt)) {
			uint32_t more = c->ooo[0].end - c->rcv_nxt;
			c->rcv_nxt += more;
			c->rcv_len += more;
			tcp_stats.bytes_rx += more;
		}
		c->n_ooo--;
		memmove(c->ooo, c->ooo + 1, c->n_ooo * sizeof(c->ooo[0]));
	}
}

static void enter_time_wait(struct tcp_conn *c, uint64_t now)
{
	c->state = TCP_TIME_WAIT;
	c->rexmt_at = NET_NEVER;
	arm(c, &c->end_at, now + TCP_TIME_WAIT_NS);
}

/* The peer's FIN, at RCV.NXT. */
static void take_fin(struct tcp_conn *c, uint64_t now)
{
	c->fin_rcvd = true;
	c->fin_held = false;
	c->rcv_nxt++;
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		c->state = TCP_CLOSE_WAIT;
		break;
	case TCP_FIN_WAIT_1:
		if (fin_acked(c))
			enter_time_wait(c, now);
		else
			c->state = TCP_CLOSING;
		break;
	case TCP_FIN_WAIT_2:
		enter_time_wait(c, now);
		break;
	default:
		break;
	}
	wake(c);
}

/* A segment for a synchronized connection or one in SYN_RECEIVED
 * (RFC 9293 3.10.7.4, with RFC 5961's care for RST and SYN). */
static void conn_input(struct tcp_conn *c, struct seg *s, uint64_t now)
{
	uint32_t wnd = rcv_window(c);
	uint32_t slen = s->len + ((s->flags & F_SYN) ? 1 : 0) + ((s->flags & F_FIN) ? 1 : 0);

	/* A retransmitted SYN in SYN_RECEIVED: our SYN,ACK was lost. */
	if (c->state == TCP_SYN_RECEIVED && (s->flags & (F_SYN | F_ACK | F_RST)) == F_SYN &&
	    s->seq == c->irs) {
		emit(c, F_SYN | F_ACK, c->iss, 0, now);
		return;
	}

	/* The peer's SYN,ACK crossing ours (simultaneous open): its SYN
	 * is the one we have; the ACK is what counts. */
	if (c->state == TCP_SYN_RECEIVED && (s->flags & (F_SYN | F_ACK)) == (F_SYN | F_ACK) &&
	    s->seq == c->irs) {
		s->flags &= (uint8_t)~F_SYN;
		s->seq++;
		slen--;
	}

	/* First: is any of it inside the window? */
	bool ok, need_ack = false;
	uint32_t edge = c->rcv_nxt + wnd;
	if (slen == 0)
		ok = wnd == 0 ? s->seq == c->rcv_nxt
			      : seq_ge(s->seq, c->rcv_nxt) && seq_lt(s->seq, edge);
	else
		ok = wnd != 0 && ((seq_ge(s->seq, c->rcv_nxt) && seq_lt(s->seq, edge)) ||
				  (seq_ge(s->seq + slen - 1, c->rcv_nxt) &&
				   seq_lt(s->seq + slen - 1, edge)));
	if (!ok && wnd == 0 && s->seq == c->rcv_nxt) {
		/* A zero window still takes ACKs and RSTs, and a FIN right
		 * at RCV.NXT (it needs no room); data goes. */
		if (s->len)
			s->flags &= (uint8_t)~F_FIN;
		s->len = 0;
		s->flags &= (uint8_t)~F_SYN;
		ok = need_ack = true;
	}
	if (!ok) {
		tcp_stats.out_of_window++;
		if (!(s->flags & F_RST))
			send_ack(c, now);
		return;
	}
	/* Trim to the window: bytes already received, bytes past the edge. */
	if (seq_lt(s->seq, c->rcv_nxt)) {
		uint32_t d = c->rcv_nxt - s->seq;
		if (s->flags & F_SYN) {
			s->flags &= (uint8_t)~F_SYN;
			s->seq++;
			d--;
		}
		if (d >= s->len) {
			if (d > s->len)
				s->flags &= (uint8_t)~F_FIN;
			d = s->len;
		}
		s->data += d;
		s->len -= d;
		s->seq += d;
	}
	if (seq_gt(s->seq + s->len, edge)) {
		s->len = edge - s->seq;
		s->flags &= (uint8_t)~F_FIN;
	}

	/* Second: RST.  Only the exact next sequence resets; another in the
	 * window earns a challenge ACK (RFC 5961 3.2). */
	if (s->flags & F_RST) {
		if (s->seq != c->rcv_nxt) {
			send_ack(c, now);
			return;
		}
		tcp_stats.resets_rx++;
		int err = 0;
		if (c->state == TCP_SYN_RECEIVED)
			err = c->parent ? 0 : NET_ECONNREFUSED;
		else if (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
			 c->state == TCP_FIN_WAIT_2 || c->state == TCP_CLOSE_WAIT)
			err = NET_ECONNRESET;
		conn_done(c, err);
		return;
	}
	/* Fourth: a SYN in a synchronized state gets a challenge ACK
	 * (RFC 5961 4.2); a genuine peer that restarted answers with RST. */
	if (s->flags & F_SYN) {
		send_ack(c, now);
		return;
	}
	/* Fifth: ACK. */
	if (!(s->flags & F_ACK))
		return;
	if (c->state == TCP_SYN_RECEIVED) {
		if (seq_le(s->ack, c->snd_una) || seq_gt(s->ack, c->snd_max)) {
			send_reset(c->rip, c->lport, c->rport, s->ack, 0, F_RST, now);
			return;
		}
		if (!bufs_alloc(c)) {
			send_rst(c, now);
			conn_done(c, NET_ENOMEM);
			return;
		}
		enter_established(c);
		c->snd_wnd = s->wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		if (c->parent)
			wake(c);
	}
	if (seq_gt(s->ack, c->snd_max)) {
		send_ack(c, now);   /* acknowledges something not yet sent */
		return;
	}
	if (seq_lt(s->ack, c->snd_una - TCP_BUF - 1)) {
		send_ack(c, now);   /* far too old (RFC 5961 5.2) */
		return;
	}
	bool window_same = s->wnd == c->snd_wnd;
	if (seq_gt(s->ack, c->snd_una)) {
		if (seq_gt(s->ack, c->snd_data)) {
			uint32_t d = s->ack - c->snd_data;
			if (d > c->snd_len)
				d = c->snd_len;
			c->snd_head = (c->snd_head + d) % TCP_BUF;
			c->snd_len -= d;
			c->snd_data += d;
		}
		c->snd_una = s->ack;
		if (seq_lt(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		if (c->timing && seq_ge(s->ack, c->rtt_seq)) {
			rtt_sample(c, now - c->rtt_start);
			c->timing = false;
		}
		c->tries = 0;
		c->dupacks = 0;
		c->rexmt_at = NET_NEVER;
		wake_ev(c, TCP_EV_WRITABLE);
	} else if (c->snd_una == c->snd_max) {
		c->tries = 0;        /* an answer to a window probe: the peer lives */
	} else if (s->ack == c->snd_una && s->len == 0 && !(s->flags & F_FIN) && window_same &&
		   c->snd_max != c->snd_una) {
		tcp_stats.dup_acks++;
		if (++c->dupacks == TCP_DUPACK_THRESH) {
			tcp_stats.fast_retransmits++;
			send_from(c, c->snd_una, c->mss, now);
		}
	}
	/* The send window, from the newest segment only (SND.WL1/WL2). */
	if (seq_lt(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && seq_le(c->snd_wl2, s->ack))) {
		if (s->wnd != c->snd_wnd)
			wake_ev(c, TCP_EV_WRITABLE);
		c->snd_wnd = s->wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
	}
	switch (c->state) {
	case TCP_FIN_WAIT_1:
		if (fin_acked(c)) {
			c->state = TCP_FIN_WAIT_2;
			c->rexmt_at = NET_NEVER;
		}
		break;
	case TCP_CLOSING:
		if (fin_acked(c)) {
			enter_time_wait(c, now);
			return;
		}
		break;
	case TCP_LAST_ACK:
		if (fin_acked(c)) {
			conn_done(c, 0);
			return;
		}
		break;
	case TCP_TIME_WAIT:
		/* Nothing new can come (a retransmitted FIN lies below
		 * RCV.NXT and was acknowledged by the window check). */
		return;
	default:
		break;
	}

	/* Seventh: data. */
	bool delay = false;
	if (s->len) {
		if (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
		    c->state == TCP_FIN_WAIT_2) {
			if (c->orphan) {
				/* Nobody will read it (RFC 2525 2.17). */
				send_rst(c, now);
				conn_done(c, 0);
				return;
			}
			/* In order with no gap held: its ACK may wait. */
			delay = tcp_g.delack_ns && s->seq == c->rcv_nxt && !c->n_ooo;
			/* READABLE becomes true only when the first unread
			 * bytes arrive: more bytes behind them change no
			 * event, so they wake nobody. */
			bool was_empty = !c->rcv_len;
			take_data(c, s->seq, s->data, s->len, s->placed);
			if (was_empty && c->rcv_len)
				wake_ev(c, TCP_EV_READABLE);
		}
		need_ack = true;
	}
	/* Eighth: FIN, taken when everything before it is here; one after a
	 * gap is held until the gap fills. */
	if ((s->flags & F_FIN) && !c->fin_rcvd) {
		uint32_t at = s->seq + s->len;
		if (at != c->rcv_nxt && seq_gt(at, c->rcv_nxt) && !c->fin_held) {
			c->fin_held = true;
			c->fin_at = at;
		}
		if (at == c->rcv_nxt)
			take_fin(c, now);
	}
	if (c->fin_held && !c->fin_rcvd && c->rcv_nxt == c->fin_at)
		take_fin(c, now);
	if (s->flags & F_FIN) {
		need_ack = true;
		delay = false;
	}
	uint64_t sent = tcp_stats.segs_tx;
	output(c, now);
	if (need_ack && tcp_stats.segs_tx == sent) {
		if (delay && ++c->ack_segs < 2) {
			if (c->ack_at == NET_NEVER)
				arm(c, &c->ack_at, now + tcp_g.delack_ns);
		} else {
			send_ack(c, now);
		}
	}
	set_rexmt(c, now);
}

void tcp_input(uint32_t src, uint32_t dst, const uint8_t *p, size_t len, uint64_t now)
{
	tcp_stats.segs_rx++;
	if (len < TCP_HDR || dst != net.cfg.ip) {
		tcp_stats.bad_segs++;
		return;
	}
	size_t hlen = (size_t)(p[12] >> 4) * 4;
	if (hlen < TCP_HDR || hlen > len) {
		tcp_stats.bad_segs++;
		return;
	}
	uint16_t sport = get16(p), dport = get16(p + 2);
	uint32_t dlen = (uint32_t)(len - hlen);
	/* The checksum, before anything else believes the segment.  Data
	 * that would go right at RCV.NXT of a connection with no gap held
	 * is summed as it is copied there: that part of the ring is free
	 * (unread bytes end at RCV.NXT), so a segment that then fails the
	 * checksum, or is not taken after all, leaves nothing behind.  (The
	 * fields are read after the calls, so none has to live across them.) */
	struct tcp_conn *c = lookup(dport, src, sport);
	uint32_t sum = tcp_pseudo_sum(src, dst, len);
	bool placed = false;
	if (c && dlen && !(p[13] & (F_SYN | F_RST)) && get32(p + 4) == c->rcv_nxt && !c->n_ooo &&
	    (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
	     c->state == TCP_FIN_WAIT_2) && c->rx.chunk[0] && dlen <= TCP_BUF - c->rcv_len) {
		/* hlen is a multiple of 4: the data starts at an even offset. */
		sum = net_csum_add(sum, p, hlen) +
		      ring_put_sum(&c->rx, c->rcv_head + c->rcv_len, p + hlen, dlen);
		placed = true;
	} else {
		sum = net_csum_add(sum, p, len);
	}
	if (net_csum_fold(sum) != 0xffff) {
		tcp_stats.bad_checksum++;
		return;
	}
	struct seg s = {
		.seq = get32(p + 4),
		.ack = get32(p + 8),
		.flags = p[13] & 0x3f,
		.wnd = get16(p + 14),
		.placed = placed,
		.data = p + hlen,
		.len = dlen,
	};
	if (sport == 0 || dport == 0 ||
	    ((s.flags & F_SYN) && (s.flags & (F_FIN | F_RST)))) {
		tcp_stats.bad_segs++;
		return;
	}
	if (s.flags & F_SYN)
		s.mss = parse_mss(p + TCP_HDR, hlen - TCP_HDR);
	uint32_t iss_floor = 0;
	if (c && c->state == TCP_TIME_WAIT && (s.flags & (F_SYN | F_ACK)) == F_SYN &&
	    seq_gt(s.seq, c->rcv_nxt) && find_listener(dport)) {
		/* A new SYN for a 4-tuple in TIME_WAIT, past everything the old
		 * incarnation sent us, to a port that listens: the peer reuses
		 * its port, and the SYN opens a new connection at once (RFC
		 * 1122 4.2.2.13).  Our new ISN lies beyond the old
		 * incarnation's sequence space, so none of its segments can
		 * fall into the new one's window. */
		tcp_stats.time_wait_reopens++;
		iss_floor = c->snd_max + TCP_BUF + 1;
		conn_done(c, 0);
		c = NULL;
	}
	if (!c) {
		struct tcp_conn *l = find_listener(dport);
		if (l) {
			listen_input(l, src, sport, &s, iss_floor, now);
			return;
		}
		/* Nobody here (RFC 9293 3.10.7.1): reset, unless it is one. */
		if (s.flags & F_RST)
			return;
		uint32_t slen = s.len + ((s.flags & F_SYN) ? 1 : 0) + ((s.flags & F_FIN) ? 1 : 0);
		if (s.flags & F_ACK)
			send_reset(src, dport, sport, s.ack, 0, F_RST, now);
		else
			send_reset(src, dport, sport, 0, s.seq + slen, F_RST | F_ACK, now);
		return;
	}
	if (c->state == TCP_SYN_SENT)
		syn_sent_input(c, &s, now);
	else
		conn_input(c, &s, now);
}

void tcp_free_all(void)
{
	for (unsigned b = 0; b < TCP_HASH; b++)
		while (tcp_g.hash[b])
			conn_free(tcp_g.hash[b]);
	while (tcp_g.listeners) {
		struct tcp_conn *l = tcp_g.listeners;
		tcp_g.listeners = l->next;
		while (l->q_head)
			queue_del(l->q_head);
		conn_free(l);
	}
}

uint64_t tcp_debug_rto(const struct tcp_conn *c)
{
	return c->rto;
}

uint64_t tcp_debug_srtt(const struct tcp_conn *c)
{
	return c->srtt;
}

/* ---- timers ----------------------------------------------------------------*/

static void conn_timer(struct tcp_conn *c, uint64_t now)
{
	if (c->end_at <= now) {
		if (c->state == TCP_TIME_WAIT) {
			tcp_stats.time_wait_ends++;
		} else {
			/* An orphan that did not finish closing in time. */
			tcp_stats.idle_timeouts++;
			if (c->state != TCP_SYN_SENT)
				send_rst(c, now);
		}
		conn_done(c, 0);
		return;
	}
	if (c->ack_at <= now)
		send_ack(c, now);
	if (c->rexmt_at > now)
		return;
	unsigned max = c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED
			       ? TCP_SYN_RETRIES : TCP_RETRIES;
	if (++c->tries > max) {
		tcp_stats.rto_timeouts++;
		if (c->state != TCP_SYN_SENT)
			send_rst(c, now);
		conn_done(c, NET_ETIMEDOUT);
		return;
	}
	c->rto = c->rto * 2 > TCP_RTO_MAX_NS ? TCP_RTO_MAX_NS : c->rto * 2;
	c->timing = false;
	c->dupacks = 0;
	arm(c, &c->rexmt_at, now + c->rto);
	if (c->snd_una != c->snd_max) {
		/* Go back to the oldest unacknowledged byte. */
		c->snd_nxt = c->snd_una;
		send_from(c, c->snd_una, c->mss, now);
	} else {
		/* Window probe: an old sequence number, which any TCP
		 * answers with an ACK carrying its current window. */
		emit(c, F_ACK, c->snd_una - 1, 0, now);
	}
	arm(c, &c->rexmt_at, now + c->rto);
}

static uint64_t conn_deadline(const struct tcp_conn *c)
{
	uint64_t t = c->rexmt_at < c->end_at ? c->rexmt_at : c->end_at;
	return c->ack_at < t ? c->ack_at : t;
}

uint64_t tcp_timer(uint64_t now)
{
	if (now < tcp_g.next_timer)
		return tcp_g.next_timer;
	/* conn_timer may free c, and nothing else. */
	for (struct tcp_conn *c = tcp_g.conns, *next; c; c = next) {
		next = c->all_next;
		if (conn_deadline(c) <= now)
			conn_timer(c, now);
	}
	/* Exact again (conn_timer's arm calls only lowered it). */
	tcp_g.next_timer = tcp_next_deadline();
	return tcp_g.next_timer;
}

uint64_t tcp_deadline_bound(void)
{
	return tcp_g.next_timer;
}

uint64_t tcp_next_deadline(void)
{
	uint64_t next = NET_NEVER;
	for (const struct tcp_conn *c = tcp_g.conns; c; c = c->all_next)
		if (conn_deadline(c) < next)
			next = conn_deadline(c);
	return next;
}

/* ---- the interface -------------------------------------------------------*/

void tcp_init(const struct tcp_mem *mem)
{
	/* Everything is forgotten, not freed: the caller starts over. */
	memset(&tcp_g, 0, sizeof(tcp_g));
	memset(&tcp_stats, 0, sizeof(tcp_stats));
	tcp_g.mem = *mem;
	if (!tcp_g.mem.alloc_buf)
		tcp_g.mem.alloc_buf = tcp_g.mem.alloc;
	tcp_g.next_port = TCP_EPHEMERAL_LO;
	tcp_g.next_timer = NET_NEVER;
	uint64_t m = 0;
	for (unsigned i = 0; i < 6; i++)
		m = m << 8 | net.cfg.mac[i];
	tcp_g.secret = mix(m ^ 0x5443502049534e00ull);
}

void tcp_set_delayed_ack(uint64_t delay_ns)
{
	tcp_g.delack_ns = delay_ns > TCP_DELACK_MAX_NS ? TCP_DELACK_MAX_NS : delay_ns;
}

void tcp_set_notify(struct tcp_conn *c, tcp_notify_fn fn, void *arg)
{
	c->notify = fn;
	c->notify_arg = arg;
}

unsigned tcp_events(const struct tcp_conn *c)
{
	unsigned ev = 0;
	if (c->state == TCP_LISTEN) {
		for (const struct tcp_conn *k = c->q_head; k; k = k->q_next)
			if (k->state != TCP_SYN_RECEIVED)
				return TCP_EV_ACCEPTABLE;
		return 0;
	}
	if (c->err)
		return TCP_EV_READABLE | TCP_EV_WRITABLE | TCP_EV_ERROR;
	if (c->rcv_len || c->fin_rcvd)
		ev |= TCP_EV_READABLE;
	if (c->state >= TCP_ESTABLISHED || (c->state == TCP_CLOSED && c->rx.chunk[0]))
		ev |= TCP_EV_CONNECTED;
	if (c->shut || ((c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT) &&
			c->snd_len < TCP_BUF))
		ev |= TCP_EV_WRITABLE;
	return ev;
}

int tcp_error(const struct tcp_conn *c)
{
	return c->err;
}

int tcp_listen(uint16_t port, unsigned backlog, struct tcp_conn **out)
{
	if (port == 0 || backlog == 0)
		return NET_EINVAL;
	if (find_listener(port))
		return NET_EADDRINUSE;
	struct tcp_conn *l = conn_new();
	if (!l)
		return NET_ENOMEM;
	l->state = TCP_LISTEN;
	l->lport = port;
	l->backlog = backlog > TCP_BACKLOG_MAX ? TCP_BACKLOG_MAX : backlog;
	l->next = tcp_g.listeners;
	tcp_g.listeners = l;
	*out = l;
	return 0;
}

int tcp_accept(struct tcp_conn *l, struct tcp_conn **out)
{
	if (l->state != TCP_LISTEN)
		return NET_EINVAL;
	/* The queue is newest first: take the oldest established child. */
	struct tcp_conn *pick = NULL;
	for (struct tcp_conn *k = l->q_head; k; k = k->q_next)
		if (k->state != TCP_SYN_RECEIVED)
			pick = k;
	if (!pick)
		return NET_EAGAIN;
	queue_del(pick);
	tcp_stats.accepted++;
	*out = pick;
	return 0;
}

int tcp_connect(uint16_t local_port, uint32_t ip, uint16_t port, uint64_t now_ns,
		struct tcp_conn **out)
{
	if (port == 0 || ip == 0 || ip == net.cfg.ip || ip_is_broadcast(ip) || (ip >> 28) == 0xe)
		return NET_EINVAL;
	if (local_port && lookup(local_port, ip, port))
		return NET_EADDRINUSE;
	if (!local_port) {
		unsigned span = 65536 - TCP_EPHEMERAL_LO;
		for (unsigned i = 0; i < span && !local_port; i++) {
			uint16_t p = tcp_g.next_port;
			tcp_g.next_port = p == 65535 ? TCP_EPHEMERAL_LO : (uint16_t)(p + 1);
			if (!lookup(p, ip, port) && !find_listener(p))
				local_port = p;
		}
		if (!local_port)
			return NET_EADDRINUSE;
	}
	struct tcp_conn *c = conn_new();
	if (!c)
		return NET_ENOMEM;
	if (!bufs_alloc(c)) {
		conn_free(c);
		return NET_ENOMEM;
	}
	c->lport = local_port;
	c->rip = ip;
	c->rport = port;
	c->state = TCP_SYN_SENT;
	c->iss = make_isn(c, now_ns);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_data = c->iss + 1;
	hash_add(c);
	tcp_stats.active_opens++;
	send_from(c, c->iss, 0, now_ns);
	*out = c;
	return 0;
}

static int copy_to_buf(void *arg, size_t off, void *p, size_t len)
{
	memcpy((uint8_t *)arg + off, p, len);
	return 0;
}

static int copy_from_buf(void *arg, size_t off, void *p, size_t len)
{
	memcpy(p, (const uint8_t *)arg + off, len);
	return 0;
}

long tcp_recv(struct tcp_conn *c, void *buf, size_t n, uint64_t now_ns)
{
	return tcp_recv_copy(c, n, copy_to_buf, buf, now_ns);
}

long tcp_send(struct tcp_conn *c, const void *buf, size_t n, uint64_t now_ns)
{
	return tcp_send_copy(c, n, copy_from_buf, (void *)(uintptr_t)buf, now_ns);
}

long tcp_recv_copy(struct tcp_conn *c, size_t n, tcp_copy_fn copy, void *arg, uint64_t now_ns)
{
	if (c->state == TCP_LISTEN)
		return NET_ENOTCONN;
	if (c->rcv_len && n) {
		uint32_t k = n < c->rcv_len ? (uint32_t)n : c->rcv_len;
		if (ring_copy(&c->rx, c->rcv_head, k, copy, arg))
			return NET_EFAULT;
		c->rcv_head = (c->rcv_head + k) % TCP_BUF;
		c->rcv_len -= k;
		/* Tell the peer when the window opened by a useful amount
		 * (receiver-side silly window avoidance, RFC 9293 3.8.6.2.2). */
		uint32_t gain = c->rcv_nxt + rcv_window(c) - c->rcv_adv;
		uint32_t step = TCP_BUF / 2 < c->mss ? TCP_BUF / 2 : c->mss;
		if (c->hashed && !c->fin_rcvd && (int32_t)gain >= (int32_t)step &&
		    c->state >= TCP_ESTABLISHED)
			send_ack(c, now_ns);
		return (long)k;
	}
	if (c->err)
		return c->err;
	if (c->fin_rcvd)
		return 0;
	if (c->state == TCP_CLOSED)
		return NET_ENOTCONN;
	return NET_EAGAIN;
}

long tcp_send_copy(struct tcp_conn *c, size_t n, tcp_copy_fn copy, void *arg, uint64_t now_ns)
{
	if (c->err)
		return c->err;
	if (c->shut)
		return NET_EPIPE;
	if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)
		return c->state == TCP_CLOSED ? NET_EPIPE : NET_ENOTCONN;
	uint32_t room = TCP_BUF - c->snd_len;
	if (!room)
		return NET_EAGAIN;
	uint32_t k = n < room ? (uint32_t)n : room;
	if (!k)
		return 0;
	if (ring_copy(&c->tx, c->snd_head + c->snd_len, k, copy, arg))
		return NET_EFAULT;
	c->snd_len += k;
	output(c, now_ns);
	return (long)k;
}

int tcp_shutdown(struct tcp_conn *c, uint64_t now_ns)
{
	if (c->shut)
		return 0;
	if (c->state == TCP_ESTABLISHED)
		c->state = TCP_FIN_WAIT_1;
	else if (c->state == TCP_CLOSE_WAIT)
		c->state = TCP_LAST_ACK;
	else
		return NET_ENOTCONN;
	c->shut = true;
	output(c, now_ns);
	return 0;
}

void tcp_close(struct tcp_conn *c, uint64_t now_ns)
{
	c->notify = NULL;
	c->orphan = true;
	switch (c->state) {
	case TCP_LISTEN:
		while (c->q_head) {
			struct tcp_conn *k = c->q_head;
			send_rst(k, now_ns);
			conn_free(k);
		}
		unlink_from(&tcp_g.listeners, c);
		c->next = NULL;
		conn_free(c);
		return;
	case TCP_CLOSED:
	case TCP_SYN_SENT:
		conn_free(c);
		return;
	default:
		break;
	}
	if (c->rcv_len || c->n_ooo) {
		/* Data nobody will read: abort (RFC 9293 3.10.4). */
		send_rst(c, now_ns);
		conn_free(c);
		return;
	}
	if (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT ||
	    c->state == TCP_SYN_RECEIVED) {
		if (c->state == TCP_SYN_RECEIVED) {
			/* Closing before the handshake ended: abort. */
			send_rst(c, now_ns);
			conn_free(c);
			return;
		}
		tcp_shutdown(c, now_ns);
	}
	if (c->state != TCP_TIME_WAIT)
		arm(c, &c->end_at, now_ns + TCP_ORPHAN_NS);
}

void tcp_addrs(const struct tcp_conn *c, uint32_t *local_ip, uint16_t *local_port,
	       uint32_t *remote_ip, uint16_t *remote_port)
{
	*local_ip = c->lip;
	*local_port = c->lport;
	*remote_ip = c->rip;
	*remote_port = c->rport;
}

int tcp_state(const struct tcp_conn *c)
{
	return c->state;
}

const char *tcp_state_name(int state)
{
	static const char *const names[] = {
		"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
		"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
	};
	if (state < 0 || state > TCP_TIME_WAIT)
		return "?";
	return names[state];
}

bool tcp_link_blocked(void)
{
	return tcp_g.link_wait;
}

void tcp_link_room(uint64_t now)
{
	if (!tcp_g.link_wait)
		return;
	tcp_g.link_wait = false;
	for (struct tcp_conn *c = tcp_g.conns; c; c = c->all_next) {
		if (!c->link_wait)
			continue;
		c->link_wait = false;
		uint32_t before = c->snd_nxt;
		output(c, now);
		/* Nothing new went out: the refused segment may have been
		 * an ACK, which output does not send alone. */
		if (c->snd_nxt == before && !c->link_wait)
			send_ack(c, now);
	}
}
