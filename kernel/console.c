/* The console: rx/tx rings between the UART interrupt and reader/writer futures. */
#include <stdatomic.h>

#include "arch/arch.h"
#include "executor/spin.h"
#include "kernel/console.h"
#include "kernel/uart.h"

#define CTRL(c) ((c) & 0x1f)

struct console_stats console_stats;
struct notify console_intr;
struct notify console_info;

static _Atomic int mode = CONSOLE_COOKED;

/*
 * Receive ring: single producer (the UART interrupt handler), single
 * consumer (the reader).  head and tail run freely and wrap as unsigned;
 * head - tail is the fill level.  Each side publishes with a release store
 * of its own index and reads the other's with acquire.
 */
static char rx_buf[CONSOLE_RX_SIZE];
static _Atomic uint32_t rx_head;
static _Atomic uint32_t rx_tail;
static atomic_uint rx_paused; /* word-sized: rv64 has no byte AMOs */
static struct notify rx_ready; /* notify_one per batch; its permit covers races */

/* Transmit ring: many writers, one drainer; all under tx_lock. */
static char tx_buf[CONSOLE_TX_SIZE];
static uint32_t tx_head, tx_tail;
static struct spin tx_lock = SPIN_INIT;
static struct notify tx_room; /* notify_all whenever the drainer frees space */

enum { WAIT_NONE, WAIT_RX, WAIT_TX };

void console_init(void)
{
	notify_init(&console_intr);
	notify_init(&console_info);
	notify_init(&rx_ready);
	notify_init(&tx_room);
}

void console_set_mode(enum console_mode m)
{
	atomic_store(&mode, (int)m);
}

/* ---- Receive --------------------------------------------------------------*/

bool console_rx_room(void)
{
	uint32_t head = atomic_load_explicit(&rx_head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&rx_tail, memory_order_acquire);
	bool room = head - tail < CONSOLE_RX_SIZE;
	if (!room && !atomic_exchange(&rx_paused, 1u))
		console_stats.rx_stalls++;
	return room;
}

/* Interrupt context.  Precondition: console_rx_room() returned true since
 * the last store.  Ctrl-T and Ctrl-C in cooked mode are events: Ctrl-T is
 * not stored at all; Ctrl-C is also stored so the reader drops its line. */
void console_rx(char c)
{
	if (atomic_load_explicit(&mode, memory_order_relaxed) == CONSOLE_COOKED) {
		if (c == CTRL('T')) {
			console_stats.info++;
			notify_one(&console_info);
			return;
		}
		if (c == CTRL('C')) {
			console_stats.intr++;
			notify_all(&console_intr);
		}
	}
	uint32_t head = atomic_load_explicit(&rx_head, memory_order_relaxed);
	rx_buf[head % CONSOLE_RX_SIZE] = c;
	atomic_store_explicit(&rx_head, head + 1, memory_order_release);
	console_stats.rx_bytes++;
}

/* Interrupt context, once per batch of console_rx calls. */
void console_rx_flush(void)
{
	notify_one(&rx_ready);
}

int console_getc(void)
{
	uint32_t tail = atomic_load_explicit(&rx_tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&rx_head, memory_order_acquire);
	if (head == tail)
		return -1;
	unsigned char c = (unsigned char)rx_buf[tail % CONSOLE_RX_SIZE];
	atomic_store_explicit(&rx_tail, tail + 1, memory_order_release);
	/* Resume receiving only once half the ring is free: resuming at the
	 * first free slot would take one interrupt per byte while the sender
	 * keeps the ring full. */
	if (atomic_load(&rx_paused) && head - (tail + 1) <= CONSOLE_RX_SIZE / 2) {
		atomic_store(&rx_paused, 0u);
		uart_rx_resume();
	}
	return c;
}

int console_wait_getc(void)
{
	for (;;) {
		unsigned long f = arch_irq_save();
		int c = console_getc();
#ifndef IDLE_SPIN
		if (c < 0)
			arch_wait_for_interrupt();
#endif
		arch_irq_restore(f);
		if (c >= 0)
			return c;
	}
}

/* ---- Transmit -------------------------------------------------------------*/

static uint32_t tx_free_locked(void)
{
	return CONSOLE_TX_SIZE - (tx_head - tx_tail);
}

/* Caller holds tx_lock.  Returns true if it freed ring space. */
static bool tx_drain_locked(void)
{
	uint32_t before = tx_tail;
	while (tx_tail != tx_head && uart_tx_ready()) {
		uart_tx(tx_buf[tx_tail % CONSOLE_TX_SIZE]);
		tx_tail++;
	}
	console_stats.tx_bytes += tx_tail - before;
	/* Ask for an interrupt only while bytes wait for the UART. */
	uart_tx_irq(tx_tail != tx_head);
	return tx_tail != before;
}

void console_tx_irq(void)
{
	unsigned long f = spin_lock(&tx_lock);
	bool freed = tx_drain_locked();
	spin_unlock(&tx_lock, f);
	if (freed)
		notify_all(&tx_room);
}

/* Copy as much of w as fits; "\r\n" for '\n' goes in whole or not at all. */
static void tx_fill(struct console_write *w)
{
	unsigned long f = spin_lock(&tx_lock);
	while (w->done < w->n) {
		char c = w->buf[w->done];
		uint32_t need = c == '\n' ? 2 : 1;
		if (tx_free_locked() < need)
			break;
		if (c == '\n')
			tx_buf[tx_head++ % CONSOLE_TX_SIZE] = '\r';
		tx_buf[tx_head++ % CONSOLE_TX_SIZE] = c;
		w->done++;
	}
	tx_drain_locked();
	spin_unlock(&tx_lock, f);
}

static const struct future_vtable console_write_vtable;

void console_write_init(struct console_write *w, const char *buf, size_t n)
{
	w->base.vtable = &console_write_vtable;
	w->buf = buf;
	w->n = n;
	w->done = 0;
	w->result = 0;
	w->waiting = false;
}

enum poll console_write_poll(struct console_write *w, struct context *cx)
{
	for (;;) {
		if (w->waiting) {
			if (notified_poll(&w->wait, cx) == POLL_PENDING)
				return POLL_PENDING;
			w->waiting = false;
		}
		tx_fill(w);
		if (w->done == w->n) {
			w->result = (long)w->n;
			return POLL_READY;
		}
		/* Register before looking again, so a drain in between is seen:
		 * notify_all wakes every notified() created before it. */
		notified_init(&w->wait, &tx_room);
		w->waiting = true;
		console_stats.tx_waits++;
		tx_fill(w);
		if (w->done == w->n) {
			notified_drop(&w->wait);
			w->waiting = false;
			w->result = (long)w->n;
			return POLL_READY;
		}
	}
}

void console_write_drop(struct console_write *w)
{
	if (w->waiting)
		notified_drop(&w->wait);
	w->waiting = false;
}

static enum poll console_write_fpoll(struct future *f, struct context *cx)
{
	return console_write_poll((struct console_write *)f, cx);
}

static void console_write_fdrop(struct future *f)
{
	console_write_drop((struct console_write *)f);
}

static const struct future_vtable console_write_vtable = {
	console_write_fpoll, console_write_fdrop,
};

void console_write_sync(const char *buf, size_t n)
{
	unsigned long f = spin_lock(&tx_lock);
	while (tx_tail != tx_head) {
		uart_putc(tx_buf[tx_tail % CONSOLE_TX_SIZE]);
		tx_tail++;
	}
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n')
			uart_putc('\r');
		uart_putc(buf[i]);
	}
	uart_tx_irq(false);
	spin_unlock(&tx_lock, f);
}

/* ---- Reading: raw, or cooked with a line discipline ------------------------*/

static const struct future_vtable console_read_vtable;

void console_read_init(struct console_read *r, char *buf, size_t n)
{
	r->base.vtable = &console_read_vtable;
	r->buf = buf;
	r->n = n;
	r->got = 0;
	r->result = 0;
	r->waiting = WAIT_NONE;
}

/* Echo s (at most 4 bytes) if the tx ring has room for all of it. */
static bool echo(const char *s, uint32_t len)
{
	unsigned long f = spin_lock(&tx_lock);
	bool ok = tx_free_locked() >= len + 1; /* + a possible '\r' */
	if (ok) {
		for (uint32_t i = 0; i < len; i++) {
			if (s[i] == '\n')
				tx_buf[tx_head++ % CONSOLE_TX_SIZE] = '\r';
			tx_buf[tx_head++ % CONSOLE_TX_SIZE] = s[i];
		}
		tx_drain_locked();
	}
	spin_unlock(&tx_lock, f);
	return ok;
}

static bool tx_has_room(uint32_t len)
{
	unsigned long f = spin_lock(&tx_lock);
	bool ok = tx_free_locked() >= len;
	spin_unlock(&tx_lock, f);
	return ok;
}

/* Apply one input byte in cooked mode.  Returns true when the read is
 * complete.  Caller made sure the tx ring has room for any echo (4). */
static bool cook(struct console_read *r, int c)
{
	switch (c) {
	case '\r':
	case '\n':
		echo("\n", 1);
		if (r->got < r->n)
			r->buf[r->got++] = '\n';
		return true;
	case 0x7f: /* DEL: what most terminals send for backspace */
	case '\b':
		if (r->got > 0) {
			r->got--;
			echo("\b \b", 3);
		}
		return false;
	case CTRL('D'):
		return true; /* the line so far; 0 bytes is end of input */
	case CTRL('C'):
		echo("^C\n", 3);
		r->got = 0;
		return false;
	default:
		if (c < ' ' || r->got + 1 >= r->n)
			return false; /* other controls, or the line is full */
		r->buf[r->got++] = (char)c;
		echo((char[]){ (char)c }, 1);
		return false;
	}
}

enum poll console_read_poll(struct console_read *r, struct context *cx)
{
	if (r->n == 0)
		return POLL_READY; /* result 0 */
	for (;;) {
		if (r->waiting != WAIT_NONE) {
			if (notified_poll(&r->wait, cx) == POLL_PENDING)
				return POLL_PENDING;
			r->waiting = WAIT_NONE;
		}
		bool cooked = atomic_load(&mode) == CONSOLE_COOKED;
		bool need_tx = false;
		while (r->got < r->n) {
			if (cooked && !tx_has_room(5)) {
				need_tx = true; /* no room to echo what we would read */
				break;
			}
			int c = console_getc();
			if (c < 0)
				break;
			if (!cooked) {
				r->buf[r->got++] = (char)c;
			} else if (cook(r, c)) {
				r->result = (long)r->got;
				return POLL_READY;
			}
		}
		if (!cooked && r->got > 0) {
			r->result = (long)r->got;
			return POLL_READY;
		}
		/* Register first, then look again, so an interrupt in between is
		 * not missed (rx_ready keeps a permit; tx_room wakes every
		 * notified() created before it fires). */
		notified_init(&r->wait, need_tx ? &tx_room : &rx_ready);
		r->waiting = need_tx ? WAIT_TX : WAIT_RX;
		if (need_tx ? tx_has_room(5) : rx_head != rx_tail) {
			notified_drop(&r->wait);
			r->waiting = WAIT_NONE;
		}
	}
}

void console_read_drop(struct console_read *r)
{
	if (r->waiting != WAIT_NONE)
		notified_drop(&r->wait);
	r->waiting = WAIT_NONE;
}

static enum poll console_read_fpoll(struct future *f, struct context *cx)
{
	return console_read_poll((struct console_read *)f, cx);
}

static void console_read_fdrop(struct future *f)
{
	console_read_drop((struct console_read *)f);
}

static const struct future_vtable console_read_vtable = {
	console_read_fpoll, console_read_fdrop,
};
