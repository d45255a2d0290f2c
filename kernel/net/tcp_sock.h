/* TCP sockets: a kind of struct file over the stack's TCP connections (kernel/net/tcp.h). */
#ifndef KERNEL_NET_TCP_SOCK_H
#define KERNEL_NET_TCP_SOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/file.h"
#include "lib/uapi/pollux.h"

struct proc;
struct vm_root;

/*
 * A TCP socket starts unconnected; bind only records the local port.
 * listen makes it a listener (tcp_listen), connect an active open
 * (tcp_connect); accept hands out a new socket file per connection.
 * read/write on the fd are recv/send.  Every call into the stack is made
 * under netk_lock; the stack's notify callback wakes the futures waiting
 * on the socket (recv, send, accept, connect).  Errors are -PX_E* (the
 * list is in lib/uapi/pollux.h, "Network").
 */

/* A new unconnected socket file, or NULL with *err (-PX_ENOMEM, or
 * -PX_ENODEV without a network). */
struct file *tcp_sock_open(int *err);
bool tcp_sock_is(const struct file *f);

int64_t tcp_sock_bind(struct file *f, uint16_t port);
int64_t tcp_sock_listen(struct file *f, uint64_t backlog);

/* Start accepting: the future installs the new socket as p's lowest free
 * fd (its result) and, if addr_va is nonzero, writes the peer's address
 * there. */
int64_t tcp_sock_accept(struct file *f, struct proc *p, uint64_t addr_va, union io_slot *slot);
/* Start an active open to ip:port; the future is Ready with 0 once the
 * connection is established, or the error. */
int64_t tcp_sock_connect(struct file *f, uint32_t ip, uint16_t port, union io_slot *slot);
/* recv (some bytes, at least one; 0 at end of stream) and send (all n
 * bytes, or the count moved before an error), as read() and write() on
 * the fd.  recv's from_va, if nonzero, gets the peer's address. */
int64_t tcp_sock_recv(struct file *f, const struct vm_root *vm, uint64_t va, uint64_t n,
		      uint64_t from_va, union io_slot *slot);
int64_t tcp_sock_send(struct file *f, const struct vm_root *vm, uint64_t va, uint64_t n,
		      union io_slot *slot);
/* how: PX_SHUT_RD, PX_SHUT_WR, PX_SHUT_RDWR. */
int64_t tcp_sock_shutdown(struct file *f, uint64_t how);
/* The local (peer false) or remote address; -PX_ENOTCONN for a peer
 * that is not there. */
int64_t tcp_sock_name(struct file *f, bool peer, struct px_sockaddr_in *out);

/* TCP socket files open now (PX_KSTAT_SOCK_FILES). */
uint64_t tcp_sock_files(void);
/* The stack's connections allocated now (PX_KSTAT_TCP_CONNS). */
uint64_t tcp_sock_conns_alive(void);
/* tcp_stats.retransmits, or .fast_retransmits (the stack must be up). */
uint64_t tcp_sock_retransmits(bool fast);

#endif /* KERNEL_NET_TCP_SOCK_H */
