/* The console: rx/tx rings between the UART interrupt and reader/writer futures. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/spin.h"
#include "kernel/console.h"
#include "kernel/irq.h"
#include "kernel/ktask.h"
#include "kernel/kshell.h"
#include "kernel/ktimer.h"
#include "kernel/machine.h"
#include "kernel/uaccess.h"
#include "lib/uapi/pollux.h"
#include "kernel/uart.h"

#define CTRL(c) ((c) & 0x1f)

struct console_stats console_stats;
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

/* The interrupt side, which the UART calls (struct uart_client). */
static bool console_rx_room(void);
static void console_rx(char c);
static bool console_rx_paused(void);
static void console_rx_flush(void);
static void console_tx_irq(void);

static const struct uart_client console_uart_client = {
	.rx_room = console_rx_room,
	.rx = console_rx,
	.rx_paused = console_rx_paused,
	.rx_flush = console_rx_flush,
	.tx_room = console_tx_irq,
};

void console_init(void)
{
	notify_init(&console_info);
	notify_init(&rx_ready);
	notify_init(&tx_room);
	uart_set_client(&console_uart_client);
}

void console_set_mode(enum console_mode m)
{
	atomic_store(&mode, (int)m);
}

/* ---- Ctrl-C and the foreground process group --------------------------------
 *
 * fg_pgid is the process group that Ctrl-C interrupts (0: none); the
 * shell sets it around each foreground job (SYS_setfg, PX_SPAWN_FG).
 * With a foreground group, Ctrl-C is an event, handled whole in the
 * receive interrupt (intr_rx): the byte is never stored, so it cannot
 * reach a later read (the shell's next prompt); "^C" is echoed, the input
 * typed before it is dropped, and intr_kill (registered by the kernel's
 * console tasks, kernel/kshell.c) kills the group -- all before any task
 * runs, so the shell, woken when its job has ended, finds the console as
 * the interrupt left it.  Without a foreground group, Ctrl-C is stored
 * like any byte and the line discipline handles it in order (cook): the
 * line is dropped and the read ends with an empty line.
 */
static _Atomic int fg_pgid;
static void (*intr_kill)(int pgid);

int console_foreground(void)
{
	return atomic_load(&fg_pgid);
}

int console_set_foreground(int pgid)
{
	int old = atomic_exchange(&fg_pgid, pgid);
	/* The first release after a Ctrl-C: how long the shell took to
	 * reap the job and take the console back (SYS_kstat). */
	if (pgid == 0 && __atomic_load_n(&console_stats.intr_ns, __ATOMIC_RELAXED) &&
	    !__atomic_load_n(&console_stats.intr_back_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&console_stats.intr_back_ns, ktimer_now_ns(), __ATOMIC_RELAXED);
	return old;
}

void console_set_intr_handler(void (*kill)(int pgid))
{
	intr_kill = kill;
}

static void flush_input(void);

/* Interrupt context: a Ctrl-C in cooked mode.  True if it was an event
 * (a foreground group exists) and must not be stored. */
static bool intr_rx(void)
{
	console_stats.intr++;
	int pgid = atomic_load(&fg_pgid);
	if (!pgid || !intr_kill)
		return false;
	__atomic_store_n(&console_stats.intr_ns, ktimer_now_ns(), __ATOMIC_RELAXED);
	__atomic_store_n(&console_stats.intr_back_ns, 0, __ATOMIC_RELAXED);
	console_write_sync("^C\n", 3);
	flush_input();
	intr_kill(pgid);
	return true;
}

/* ---- Receive --------------------------------------------------------------*/

/* Interrupt context: room for one more byte?  If not, receiving pauses. */
static bool console_rx_room(void)
{
	uint32_t head = atomic_load_explicit(&rx_head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&rx_tail, memory_order_acquire);
	bool room = head - tail < CONSOLE_RX_SIZE;
	if (!room && !atomic_exchange(&rx_paused, 1u))
		console_stats.rx_stalls++;
	return room;
}

/* Whether receiving is paused (the ring filled up and no reader has
 * drained it to half since).  Any context. */
static bool console_rx_paused(void)
{
	return atomic_load(&rx_paused) != 0;
}

/* Interrupt context.  Precondition: console_rx_room() returned true since
 * the last store.  Ctrl-T and Ctrl-C in cooked mode are events: Ctrl-T is
 * not stored at all; Ctrl-C see intr_rx. */
static void console_rx(char c)
{
	if (atomic_load_explicit(&mode, memory_order_relaxed) == CONSOLE_COOKED) {
		if (c == CTRL('T')) {
			console_stats.info++;
			notify_one(&console_info);
			return;
		}
		if (c == CTRL('C') && intr_rx())
			return;
	}
	uint32_t head = atomic_load_explicit(&rx_head, memory_order_relaxed);
	rx_buf[head % CONSOLE_RX_SIZE] = c;
	atomic_store_explicit(&rx_head, head + 1, memory_order_release);
	console_stats.rx_bytes++;
}

/* Interrupt context, once per batch of console_rx calls: wake the reader. */
static void console_rx_flush(void)
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
		irq_wait_begin(); /* the UART's interrupt may go to another hart */
		int c = console_getc();
#ifndef IDLE_SPIN
		if (c < 0)
			arch_wait_for_interrupt();
#endif
		irq_wait_end();
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

/* LAB 5 BEGIN */
/* Caller holds tx_lock.  Moves ring bytes into the UART while it takes
 * them, never waiting for it.  Returns true if it freed ring space. */
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

/* Interrupt context: move tx ring bytes into the UART while it has room;
 * wakes writers. */
static void console_tx_irq(void)
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
/* LAB 5 STUB
// LAB 5: the interrupt-driven transmit path (docs/labs/lab5.md).  Until
// then the console transmits synchronously: each byte waits for the UART
// with interrupts masked, the transmit interrupt stays off, and a writer
// never waits for room.
static bool tx_drain_locked(void)
{
	uint32_t before = tx_tail;
	while (tx_tail != tx_head) {
		uart_putc(tx_buf[tx_tail % CONSOLE_TX_SIZE]);
		tx_tail++;
	}
	console_stats.tx_bytes += tx_tail - before;
	return tx_tail != before;
}

static void console_tx_irq(void)
{
}

enum poll console_write_poll(struct console_write *w, struct context *cx)
{
	static bool told;
	(void)cx;
	if (!told) {
		told = true;
		printf("LAB 5: implement tx_drain_locked, console_tx_irq and "
		       "console_write_poll (kernel/console.c)\n");
	}
	console_write_sync(w->buf + w->done, w->n - w->done);
	w->done = w->n;
	w->result = (long)w->n;
	return POLL_READY;
}
   LAB 5 END */

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
	*r = (struct console_read){ .base = { &console_read_vtable }, .buf = buf, .n = n };
}

void console_read_init_user(struct console_read *r, const struct vm_root *vm, uint64_t va,
			    size_t n)
{
	*r = (struct console_read){ .base = { &console_read_vtable }, .vm = vm, .va = va, .n = n };
}

/* Copy k bytes to the reader's destination at offset `at`: 0 or -PX_EFAULT. */
static int deliver(struct console_read *r, size_t at, const char *src, size_t k)
{
	if (r->buf) {
		memcpy(r->buf + at, src, k);
		return 0;
	}
	return copyout(r->vm, r->va + at, src, k);
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

/*
 * Cooked mode edits one line at a time in the console's own buffer, as a
 * terminal's canonical mode does.  A finished line stays there until reads
 * have taken all of it, so a read smaller than the line loses nothing.
 * Only readers touch it (task context), under line_lock.
 */
#define LINE_MAX 256

static struct {
	struct spin lock;
	char buf[LINE_MAX];
	size_t len;     /* bytes in buf */
	size_t pos;     /* next byte to hand out, once the line is done */
	bool done;      /* a complete line (or Ctrl-D) waits to be read */
} line = { .lock = SPIN_INIT };

/* Apply one input byte.  Caller holds line.lock, and made sure the tx
 * ring has room for any echo (at most 4 bytes). */
static void cook(int c)
{
	switch (c) {
	case '\r':
	case '\n':
		echo("\n", 1);
		if (line.len < LINE_MAX)
			line.buf[line.len++] = '\n';
		line.done = true;
		break;
	case 0x7f: /* DEL: what most terminals send for backspace */
	case '\b':
		if (line.len > 0) {
			line.len--;
			echo("\b \b", 3);
		}
		break;
	case CTRL('D'):
		line.done = true; /* the line so far; an empty one is end of input */
		break;
	case CTRL('C'):
		/* Stored only when no foreground group exists (intr_rx): drop
		 * the line and end the read with an empty one, so a shell at
		 * its prompt prints a fresh prompt. */
		echo("^C\n", 3);
		line.buf[0] = '\n';
		line.len = 1;
		line.done = true;
		break;
	default:
		/* Other controls are ignored.  A line that fills the buffer
		 * (LINE_MAX - 1 bytes: one stays free for a newline) is handed
		 * to readers as it is, without a newline, and typing goes on
		 * into the next piece: a long line arrives whole, in pieces, as
		 * from a pipe, and a reader that wants lines sees one longer
		 * than its buffer (fgets, sh's "line too long").  A piece
		 * handed over can no longer be edited. */
		if (c >= ' ') {
			line.buf[line.len++] = (char)c;
			echo((char[]){ (char)c }, 1);
			if (line.len + 1 == LINE_MAX)
				line.done = true;
		}
		break;
	}
}

/* A Ctrl-C event (intr_rx, interrupt context): drop every byte typed
 * before it (the line being edited, a finished line nobody has read,
 * bytes still in the ring), as a terminal flushes its input on an
 * interrupt.  line.lock masks interrupts wherever it is held, so taking
 * it here cannot deadlock with a reader on this hart. */
static void flush_input(void)
{
	unsigned long f = spin_lock(&line.lock);
	while (console_getc() >= 0)
		;
	line.len = line.pos = 0;
	line.done = false;
	spin_unlock(&line.lock, f);
}

/* Hand out what is left of a finished line: bytes handed out, or
 * -PX_EFAULT with the line left as it was.  Caller holds line.lock. */
static long take_line(struct console_read *r)
{
	size_t k = line.len - line.pos;
	if (k > r->n)
		k = r->n;
	if (deliver(r, 0, line.buf + line.pos, k) != 0)
		return -PX_EFAULT;
	line.pos += k;
	if (line.pos == line.len)
		line.len = line.pos = 0, line.done = false;
	return (long)k;
}

/* "bootstat" on the command line: the first console read (a shell has
 * printed its prompt and waits for a key) ends the boot measurement.
 * What the counter advanced while the kernel slept (riscv64 under
 * -icount: waiting for the disk, which follows host time) is taken off
 * both figures. */
static void bootstat_check(void)
{
	static atomic_uint seen;
	if (!strstr(machine.bootargs, "bootstat") || atomic_exchange(&seen, 1u))
		return;
	uint64_t slept = arch_wfi_instret();
	uint64_t now = arch_instret() - slept;
	printf("\nbootstat: %llu instructions from reset to prompt, %llu from kmain entry "
	       "(%llu slept taken off)\n", (unsigned long long)now,
	       (unsigned long long)(now - boot_instret_kmain), (unsigned long long)slept);
	arch_power_off(0);
}

enum poll console_read_poll(struct console_read *r, struct context *cx)
{
	bootstat_check();
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
		if (cooked) {
			unsigned long f = spin_lock(&line.lock);
			while (!line.done) {
				if (!tx_has_room(5)) {
					need_tx = true; /* no room to echo what we would read */
					break;
				}
				int c = console_getc();
				if (c < 0)
					break;
				cook(c);
			}
			if (line.done) {
				r->result = take_line(r);
				spin_unlock(&line.lock, f);
				return POLL_READY;
			}
			spin_unlock(&line.lock, f);
		} else {
			/* The rx ring has one consumer: readers on different
			 * harts take turns under line.lock, as in cooked mode. */
			char chunk[64];
			int c = 0, err = 0;
			unsigned long f = spin_lock(&line.lock);
			while (r->got < r->n && c >= 0 && !err) {
				size_t k = 0;
				while (k < sizeof(chunk) && r->got + k < r->n &&
				       (c = console_getc()) >= 0)
					chunk[k++] = (char)c;
				err = deliver(r, r->got, chunk, k);
				r->got += err ? 0 : k;
			}
			spin_unlock(&line.lock, f);
			if (r->got > 0 || err) {
				r->result = r->got > 0 ? (long)r->got : -PX_EFAULT;
				return POLL_READY;
			}
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
