/* ping: ICMP echo requests to an IPv4 address (default 10.0.2.2, QEMU's gateway) through a ping socket. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"
#include "px_ring.h"

/*
 * usage: ping [ADDRESS [COUNT]]   (default 10.0.2.2, 3)
 * Sends COUNT echo requests a second apart, each with 32 bytes of data,
 * and prints each reply with its round-trip time.  Each request waits up
 * to a second for its reply (a ring READ of the socket raced against a
 * ring TIMEOUT; the loser is cancelled); a request without one prints
 * "no reply" and the next goes out.  Replies to earlier requests that
 * come late are skipped.  Exit status 0 if every reply came back intact.
 */
#define REPLY_WAIT_NS 1000000000ull

static struct px_ring ring;

enum { U_READ = 1, U_TIMER, U_CANCEL };

/* A reply into buf (n bytes), or -PX_ETIME after ns, or -PX_Exxx.  Both
 * operations are reaped before it returns, so the ring is empty again. */
static long recv_within(int fd, void *buf, size_t n, uint64_t ns)
{
	px_sqe_prep(px_ring_get_sqe(&ring), PX_OP_READ, fd, PX_OFF_CUR, (uintptr_t)buf,
		    (uint32_t)n, U_READ);
	px_sqe_prep(px_ring_get_sqe(&ring), PX_OP_TIMEOUT, 0, ns, 0, 0, U_TIMER);
	long res = -PX_ETIME;
	bool read_done = false, timer_done = false, cancel_sent = false, cancel_done = false;
	while (!read_done || !timer_done || (cancel_sent && !cancel_done)) {
		long r = px_ring_submit(&ring, 1, PX_RING_FOREVER);
		if (r < 0)
			return r;
		struct px_cqe *c;
		while ((c = px_ring_peek_cqe(&ring)) != NULL) {
			if (c->user_data == U_READ) {
				read_done = true;
				if (c->res != -PX_ECANCELED)
					res = c->res;
			} else if (c->user_data == U_TIMER) {
				timer_done = true;
			} else {
				cancel_done = true;
			}
			px_ring_cq_advance(&ring, 1);
		}
		if (!cancel_sent && read_done != timer_done) {
			px_sqe_prep(px_ring_get_sqe(&ring), PX_OP_CANCEL, 0, 0,
				    read_done ? U_TIMER : U_READ, 0, U_CANCEL);
			cancel_sent = true;
		}
	}
	return res;
}
static int parse_ip(const char *s, uint32_t *ip)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char *end;
		unsigned long b = strtoul(s, &end, 10);
		if (end == s || b > 255 || (i < 3 ? *end != '.' : *end != '\0'))
			return -1;
		v = v << 8 | (uint32_t)b;
		s = end + 1;
	}
	*ip = v;
	return 0;
}

static uint64_t now_us(void)
{
	struct px_timespec ts;
	px_clock_gettime(CLOCK_MONOTONIC_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : "10.0.2.2";
	unsigned count = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 3;
	uint32_t ip;
	if (parse_ip(addr, &ip) != 0) {
		printf("ping: %s: not an IPv4 address\n", addr);
		return 2;
	}
	long fd = px_socket(PX_AF_INET, PX_SOCK_DGRAM, PX_IPPROTO_ICMP);
	if (fd < 0) {
		printf("ping: socket: error %ld\n", -fd);
		return 1;
	}
	struct px_sockaddr_in to = { PX_AF_INET, 0, ip };
	/* Without a ring (none left), a lost reply waits for ever. */
	bool timed = px_ring_init(&ring, 4) == 0;
	unsigned ok = 0;
	for (unsigned seq = 1; seq <= count; seq++) {
		unsigned char req[8 + 32], rep[8 + 64];
		memset(req, 0, 8);
		req[0] = 8; /* echo request; the kernel fills in id and checksum */
		req[6] = (unsigned char)(seq >> 8);
		req[7] = (unsigned char)seq;
		for (unsigned i = 0; i < 32; i++)
			req[8 + i] = (unsigned char)(seq * 31 + i);
		uint64_t t0 = now_us();
		long r = px_sendto((int)fd, req, sizeof(req), &to);
		if (r < 0) {
			printf("ping: sendto: error %ld\n", -r);
			return 1;
		}
		struct px_sockaddr_in from = { PX_AF_INET, 0, ip };
		long n;
		unsigned rseq;
		do {
			/* A ring READ has no sender: the socket takes echo replies
			 * for its own id only, which is what is checked. */
			n = timed ? recv_within((int)fd, rep, sizeof(rep), REPLY_WAIT_NS)
				  : px_recvfrom((int)fd, rep, sizeof(rep), &from);
			rseq = n >= 8 ? (unsigned)rep[6] << 8 | rep[7] : 0;
		} while (n >= 8 && rseq < seq);  /* a late reply to an earlier request */
		uint64_t t1 = now_us();
		if (n == -PX_ETIME) {
			printf("no reply from %s: icmp_seq=%u\n", addr, seq);
			if (seq < count)
				px_sleep(1000);
			continue;
		}
		if (n < 0) {
			printf("ping: recvfrom: error %ld\n", -n);
			return 1;
		}
		bool good = n == (long)sizeof(req) && rep[0] == 0 && rseq == seq &&
			    memcmp(rep + 8, req + 8, 32) == 0 && from.addr == ip;
		printf("%ld bytes from %s: icmp_seq=%u time=%llu.%03llu ms%s\n", n - 8, addr, rseq,
		       (unsigned long long)((t1 - t0) / 1000), (unsigned long long)((t1 - t0) % 1000),
		       good ? "" : " (wrong reply)");
		ok += good;
		if (seq < count)
			px_sleep(1000);
	}
	printf("ping: %u of %u replies\n", ok, count);
	return ok == count ? 0 : 1;
}
