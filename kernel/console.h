/* The console: UART rings filled and drained by interrupts, read and written by futures. */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "executor/future.h"
#include "executor/notify.h"

struct vm_root;

#define CONSOLE_RX_SIZE 1024 /* power of two */
#define CONSOLE_TX_SIZE 1024 /* power of two */

/*
 * Data flow
 *
 *   UART rx IRQ ─► uart_irq() ─► console_rx() ─► rx ring ─► console_read
 *   console_write ─► tx ring ─► console_tx_kick() / tx IRQ ─► UART FIFO
 *
 * Receive: the interrupt handler moves bytes from the UART FIFO into the rx
 * ring and wakes the reader.  When the ring is full it turns the UART's
 * receive interrupt off; bytes wait in the FIFO and in QEMU until the reader
 * makes room (back-pressure: nothing is dropped).
 *
 * Transmit: console_write copies into the tx ring and starts the UART; the
 * transmit interrupt refills the FIFO.  A writer that finds the ring full
 * waits for the interrupt to make room: it never spins on the UART.
 *
 * printf (kernel diagnostics) is synchronous instead: it drains the tx ring
 * and writes straight to the UART, so a panic message always gets out and
 * output stays in order.
 */

/* ---- Modes and events ---------------------------------------------------*/

enum console_mode {
	CONSOLE_COOKED, /* line editing: echo, backspace, ^C, ^D; reads return lines */
	CONSOLE_RAW,    /* bytes as they come, no echo */
};
void console_set_mode(enum console_mode m);

/* Ctrl-T arrives as an event (in cooked mode), not as data: the interrupt
 * handler counts it and notifies console_info. */
extern struct notify console_info; /* Ctrl-T: notify_one */

/* Ctrl-C (cooked mode) with a foreground process group is an event too,
 * handled in the receive interrupt: "^C" is echoed, the input typed so far
 * dropped, and kill(pgid) called (interrupt context: it must only mark and
 * wake).  Without a foreground group (0), or before a handler is set,
 * Ctrl-C is input: it drops the line being edited and ends the read with
 * an empty line. */
int console_foreground(void);                 /* any context */
int console_set_foreground(int pgid);         /* any context; the old one */
void console_set_intr_handler(void (*kill)(int pgid));

/* Set up rings and notifies and register with the UART as its client
 * (struct uart_client: the interrupt side, console_rx and console_tx_irq
 * in console.c); call before enabling the UART interrupt. */
void console_init(void);

/* ---- Futures -------------------------------------------------------------*/

/* Read into buf[0..n).  Cooked: completes with the next piece of the
 * current line, once the line is finished (Enter or Ctrl-D); what does
 * not fit stays for the next read; 0 bytes means end of input (Ctrl-D on
 * an empty line).  Raw: completes with 1..n bytes as soon as any are
 * there.  result: bytes read, or -PX_EFAULT (user memory only: nothing
 * of the line is consumed then). */
struct console_read {
	struct future base;
	char *buf;              /* kernel destination, or NULL: user memory */
	const struct vm_root *vm;
	uint64_t va;            /* with vm: the user destination */
	size_t n;
	size_t got;
	long result;
	int waiting;            /* 0, or which notify `wait` is on */
	struct notified wait;
};
void console_read_init(struct console_read *r, char *buf, size_t n);
/* The same into a program's memory at va (through copyout, so a page
 * unmapped meanwhile gives -PX_EFAULT, never a write to a freed frame). */
void console_read_init_user(struct console_read *r, const struct vm_root *vm, uint64_t va,
			    size_t n);
enum poll console_read_poll(struct console_read *r, struct context *cx);
void console_read_drop(struct console_read *r);

/* Write buf[0..n), '\n' as "\r\n".  Completes when every byte is in the
 * tx ring (on its way out).  result: n. */
struct console_write {
	struct future base;
	const char *buf;
	size_t n;
	size_t done;
	long result;
	bool waiting;
	struct notified wait;
};
void console_write_init(struct console_write *w, const char *buf, size_t n);
enum poll console_write_poll(struct console_write *w, struct context *cx);
void console_write_drop(struct console_write *w);

/* ---- Synchronous paths ---------------------------------------------------*/

/* Next received byte or -1 (no waiting). */
int console_getc(void);
/* Like console_getc, but sleeps in wait-for-interrupt until a byte arrives
 * (spins instead in an IDLE=spin build, for comparison).  Boot tests only:
 * tasks use console_read. */
int console_wait_getc(void);
/* Diagnostics: drain the tx ring, then write n bytes straight to the UART. */
void console_write_sync(const char *buf, size_t n);

/* Counters for tests, benchmarks and Ctrl-T. */
struct console_stats {
	uint64_t rx_bytes;   /* bytes the interrupt handler stored */
	uint64_t rx_stalls;  /* times the ring filled and receive was paused */
	uint64_t tx_bytes;   /* bytes handed to the UART from the tx ring */
	uint64_t tx_waits;   /* times a writer waited for tx room */
	uint64_t intr;       /* Ctrl-C keys (cooked mode) */
	uint64_t info;       /* Ctrl-T events */
	uint64_t intr_ns;    /* time of the last Ctrl-C that found a foreground group */
	uint64_t intr_back_ns; /* the first console_set_foreground(0) after it, or 0 */
};
extern struct console_stats console_stats;

#endif /* KERNEL_CONSOLE_H */
