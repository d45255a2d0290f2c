/* The stack in the kernel: virtio-net as its link, one task driving it, a lock around it. */
#ifndef KERNEL_NET_NET_KERNEL_H
#define KERNEL_NET_NET_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/net/net.h"

struct machine;

/*
 * netk_init probes for a virtio-net device; with one, it configures the
 * stack statically (10.0.2.15/24, gateway 10.0.2.2: QEMU's user-mode
 * network), starts the UDP echo service on port NETK_ECHO_PORT and the TCP
 * echo service on NETK_TCP_ECHO_PORT and spawns the stack's task, then
 * prints "net: up ...".  Call after ktask_init.
 *
 * The task sleeps until the driver's receive interrupt notifies
 * vnet_rx_ready or the stack's next deadline (ARP, TCP) comes (a sleep on
 * the executor's timer wheel); it then hands every waiting frame to
 * net_input and runs net_timer.  Nothing polls.  A call from outside the
 * task that sets an earlier deadline (tcp_connect, tcp_send, tcp_shutdown,
 * tcp_close arm retransmission timers) wakes it at netk_unlock, which
 * compares the stack's deadline bound with the one the task sleeps until.
 *
 * TCP's memory: connections from kmalloc, their buffers in 4 KiB pieces
 * from kpage_alloc (see tcp_alloc in net_kernel.c).
 *
 * Every call into the stack (net_*) from kernel code goes through
 * netk_lock/netk_unlock (interrupts masked on this hart, spin lock against
 * the others).  Lock order: netk before the driver's lock.
 */
#define NETK_ECHO_PORT 7
/* The kernel's TCP echo service (for tests: make nettest), on a port no
 * user program is expected to want; NETK_TCP_ECHO_CONNS at a time. */
#define NETK_TCP_ECHO_PORT 7007
#define NETK_TCP_ECHO_CONNS 4
/* TCP's delayed ACK in the kernel: 40 ms, the least Linux waits. */
#define NETK_TCP_DELACK_NS 40000000ull

int netk_init(const struct machine *mach);
bool netk_up(void);
unsigned long netk_lock(void);
void netk_unlock(unsigned long flags);
/* The kernel shell's `net`: the driver's and the stack's counters. */
void netk_print_stats(void);

/* Frames the stack wanted to send while every transmit buffer was in
 * flight (dropped, as IP may). */
extern uint64_t netk_tx_dropped;

#endif /* KERNEL_NET_NET_KERNEL_H */
