/* TCP (RFC 9293's core): the interface compiled, the protocol not yet. */
#include "kernel/net/net_impl.h"
#include "kernel/net/tcp.h"

struct tcp_stats tcp_stats;

struct tcp_conn {
	int state;
};

static struct tcp_mem tcp_memory;

void tcp_init(const struct tcp_mem *mem)
{
	tcp_memory = *mem;
	memset(&tcp_stats, 0, sizeof(tcp_stats));
}

void tcp_input(uint32_t src, uint32_t dst, const uint8_t *p, size_t len, uint64_t now)
{
	(void)src, (void)dst, (void)p, (void)len, (void)now;
	tcp_stats.segs_rx++;
}

uint64_t tcp_timer(uint64_t now)
{
	(void)now;
	return NET_NEVER;
}

uint64_t tcp_next_deadline(void)
{
	return NET_NEVER;
}

void tcp_set_notify(struct tcp_conn *c, tcp_notify_fn fn, void *arg)
{
	(void)c, (void)fn, (void)arg;
}

unsigned tcp_events(const struct tcp_conn *c)
{
	(void)c;
	return 0;
}

int tcp_error(const struct tcp_conn *c)
{
	(void)c;
	return 0;
}

int tcp_listen(uint16_t port, unsigned backlog, struct tcp_conn **out)
{
	(void)port, (void)backlog, (void)out;
	return NET_ENOMEM;
}

int tcp_accept(struct tcp_conn *listener, struct tcp_conn **out)
{
	(void)listener, (void)out;
	return NET_EAGAIN;
}

int tcp_connect(uint16_t local_port, uint32_t ip, uint16_t port, uint64_t now_ns,
		struct tcp_conn **out)
{
	(void)local_port, (void)ip, (void)port, (void)now_ns, (void)out;
	return NET_ENOMEM;
}

long tcp_recv(struct tcp_conn *c, void *buf, size_t n, uint64_t now_ns)
{
	(void)c, (void)buf, (void)n, (void)now_ns;
	return NET_EAGAIN;
}

long tcp_send(struct tcp_conn *c, const void *buf, size_t n, uint64_t now_ns)
{
	(void)c, (void)buf, (void)n, (void)now_ns;
	return NET_EAGAIN;
}

int tcp_shutdown(struct tcp_conn *c, uint64_t now_ns)
{
	(void)c, (void)now_ns;
	return NET_ENOTCONN;
}

void tcp_close(struct tcp_conn *c, uint64_t now_ns)
{
	(void)c, (void)now_ns;
}

void tcp_addrs(const struct tcp_conn *c, uint32_t *local_ip, uint16_t *local_port,
	       uint32_t *remote_ip, uint16_t *remote_port)
{
	(void)c;
	*local_ip = net.cfg.ip;
	*local_port = 0;
	*remote_ip = 0;
	*remote_port = 0;
}

int tcp_state(const struct tcp_conn *c)
{
	return c ? c->state : TCP_CLOSED;
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
