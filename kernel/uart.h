/* The console UART: one small ops table per device kind, chosen from the device tree. */
#ifndef KERNEL_UART_H
#define KERNEL_UART_H

#include <stdbool.h>
#include <stdint.h>

struct machine;

/*
 * One driver per UART kind (uart_ns16550.c, uart_pl011.c).  Each works on
 * the MMIO base the device tree gave; none keeps global state, so the
 * kernel picks one at boot by uart_kind.
 */
struct uart_ops {
	const char *name;
	/* 8N1, FIFOs on, receive interrupt enabled, transmit interrupt off. */
	void (*init)(uintptr_t base, uint32_t clock_hz);
	/* True when the transmitter can take one more byte. */
	int (*tx_ready)(uintptr_t base);
	void (*tx)(uintptr_t base, char c);
	/* Next received byte, or -1 if the receive FIFO is empty. */
	int (*rx)(uintptr_t base);
	/* Called after rx() drained the FIFO in the interrupt handler: clear any
	 * interrupt condition reading did not clear by itself. */
	void (*rx_ack)(uintptr_t base);
	/* Turn the receive interrupt on or off.  The console turns it off when
	 * its ring is full, leaving bytes in the FIFO (and QEMU's backend)
	 * until the reader catches up: back-pressure, not loss. */
	void (*rx_irq)(uintptr_t base, int on);
	/* Turn the "transmitter has room" interrupt on or off.  On only while
	 * the console's tx ring holds bytes for the UART. */
	void (*tx_irq)(uintptr_t base, int on);
};

extern const struct uart_ops uart_ns16550_ops;
extern const struct uart_ops uart_pl011_ops;

/* Pick the driver for mach->uart_kind and initialise it.  0 on success. */
int uart_init(const struct machine *mach);

/*
 * The UART's client takes what arrives and supplies what leaves; the
 * console registers itself (console_init), and uart.c knows nothing else
 * of it.  uart_irq calls these with interrupts masked, in this order:
 *   rx(c) for each received byte, while rx_room() says there is room;
 *   if rx_room() said no: rx_paused(), under the lock that guards the
 *     interrupt enables, and receive interrupts go off while it is true
 *     (uart_rx_resume turns them on again);
 *   rx_flush() once if any byte arrived;
 *   tx_room(): the transmitter may take more (uart_tx_ready, uart_tx).
 */
struct uart_client {
	bool (*rx_room)(void);
	void (*rx)(char c);
	bool (*rx_paused)(void);
	void (*rx_flush)(void);
	void (*tx_room)(void);
};
/* Register the client.  Before the UART interrupt is enabled. */
void uart_set_client(const struct uart_client *c);

/* Write one byte, waiting for transmitter room: the synchronous path
 * (console_write_sync, panic output).  Safe with interrupts masked. */
void uart_putc(char c);

/* Non-waiting transmit, for the console's tx ring drainer. */
bool uart_tx_ready(void);
void uart_tx(char c);
void uart_tx_irq(bool on);

/* Interrupt handler: drain the receive FIFO into the client, let the
 * client refill the transmit FIFO. */
void uart_irq(void);

/* Re-enable receive interrupts after the client made room. */
void uart_rx_resume(void);

#ifdef KTEST
/*
 * Test hook (kernel/ktest_drv.c).  QEMU's UARTs take every byte at once
 * and raise the transmit interrupt as soon as it is enabled, so a console
 * that never waits for the transmitter works just as well there.  The
 * model makes the UART behave like real hardware: uart_tx_ready() is
 * false once `depth` bytes were sent since the last tick, and the
 * transmit interrupt, if the console enabled it, arrives only at the next
 * uart_tx_model_tick() (the test calls it every millisecond: the time a
 * 16-byte FIFO takes at about 160 kbaud).  Every byte uart_tx() sends is
 * recorded in capture[0..cap).  The synchronous path (uart_putc) ignores
 * the model.  Start it with the tx ring empty; nothing may printf until
 * it is stopped.
 */
struct uart_tx_model {
	unsigned depth;          /* 0: off */
	_Atomic unsigned fill;   /* bytes "in the FIFO" since the last tick */
	_Atomic unsigned irqs;   /* UART interrupts taken while on */
	char *capture;
	unsigned cap, len;       /* len counts every byte, also past cap */
};
extern struct uart_tx_model uart_tx_model;
void uart_tx_model_start(char *capture, unsigned cap, unsigned depth);
void uart_tx_model_tick(void);
void uart_tx_model_stop(void);
#endif

#endif /* KERNEL_UART_H */
