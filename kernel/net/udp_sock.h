/* UDP and ping sockets: a kind of struct file over the stack's UDP and echo bindings. */
#ifndef KERNEL_NET_UDP_SOCK_H
#define KERNEL_NET_UDP_SOCK_H

#include <stdint.h>

#include "kernel/file.h"

struct vm_root;

/* A new unbound socket file for proto (PX_IPPROTO_UDP or
 * PX_IPPROTO_ICMP: a ping socket), or NULL with *err -PX_ENOMEM, or
 * -PX_ENODEV when there is no network. */
struct file *udp_sock_open(int proto, int *err);

/* True if f is a UDP socket (the syscalls below check before using it). */
bool udp_sock_is(const struct file *f);

/* Bind to local port (a ping socket: echo id; nonzero): 0,
 * -PX_EADDRINUSE, -PX_EINVAL (bound already), -PX_ENOMEM (no binding
 * free). */
int64_t udp_sock_bind(struct file *f, uint16_t port);

/* Start sending n bytes at va to ip:port (IO_STARTED with a future in
 * *slot, or the result); a ping socket ignores port and sends an echo
 * request (lib/uapi/pollux.h).  The future waits for transmit room if
 * the link has none. */
int64_t udp_sock_sendto(struct file *f, const struct vm_root *vm, uint64_t va, uint64_t n,
			uint32_t ip, uint16_t port, union io_slot *slot);

/* Start receiving the next datagram into va (n bytes) and, if from_va is
 * nonzero, its sender (struct px_sockaddr_in) into from_va. */
int64_t udp_sock_recvfrom(struct file *f, const struct vm_root *vm, uint64_t va, uint64_t n,
			  uint64_t from_va, union io_slot *slot);

/* Shut the socket's receive side: no datagram is queued after this, and
 * every receive, waiting now or started later, finishes with -PX_EPIPE
 * once the datagrams already queued are taken.  Any task context. */
void udp_sock_shutdown(struct file *f);

#endif /* KERNEL_NET_UDP_SOCK_H */
