/* The console: receive ring between the UART interrupt and its reader. */
#include <stdatomic.h>

#include "arch/arch.h"
#include "kernel/console.h"
#include "kernel/uart.h"

/*
 * Single-producer (the UART interrupt handler), single-consumer (whoever
 * reads the console) ring.  head and tail run freely and wrap as unsigned;
 * head - tail is the fill level.  The producer publishes a byte with a
 * release store of head; the consumer frees a slot with a release store
 * of tail, so each side sees the other's data before the index.
 */
static char rx_buf[CONSOLE_RX_SIZE];
static _Atomic uint32_t rx_head; /* written by the producer */
static _Atomic uint32_t rx_tail; /* written by the consumer */
static atomic_uint rx_paused; /* word-sized: rv64 has no byte AMOs */

struct console_stats console_stats;

bool console_rx_room(void)
{
	uint32_t head = atomic_load_explicit(&rx_head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&rx_tail, memory_order_acquire);
	bool room = head - tail < CONSOLE_RX_SIZE;
	if (!room && !atomic_exchange(&rx_paused, 1u))
		console_stats.rx_stalls++;
	return room;
}

/* Precondition: console_rx_room() returned true since the last store. */
void console_rx(char c)
{
	uint32_t head = atomic_load_explicit(&rx_head, memory_order_relaxed);
	rx_buf[head % CONSOLE_RX_SIZE] = c;
	atomic_store_explicit(&rx_head, head + 1, memory_order_release);
	console_stats.rx_bytes++;
}

int console_getc(void)
{
	uint32_t tail = atomic_load_explicit(&rx_tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&rx_head, memory_order_acquire);
	if (head == tail)
		return -1;
	unsigned char c = (unsigned char)rx_buf[tail % CONSOLE_RX_SIZE];
	atomic_store_explicit(&rx_tail, tail + 1, memory_order_release);
	if (atomic_load(&rx_paused)) {
		atomic_store(&rx_paused, 0u);
		uart_rx_resume();
	}
	return c;
}

void console_write(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n')
			uart_putc('\r');
		uart_putc(buf[i]);
	}
}

/* Wait for one console byte with the hart asleep between interrupts.
 * Interrupts are masked while we look at the ring and go to sleep, so a
 * byte arriving in between is not missed: WFI returns at once for it. */
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
