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

/*
 * Wrapping the driver.  The interrupt-driven path (uart_tx_ready, uart_tx,
 * uart_tx_irq, uart_irq, uart_rx_resume) calls the device driver's ops
 * after uart_init; uart_set_ops installs a table whose functions wrap
 * them instead (the in-kernel tests model a slow transmitter this way:
 * kernel/ktest/drv.c), and uart_set_ops(NULL) puts the device's back.
 * uart_putc always calls the device's: panic output must get out.
 * uart_device returns the device's table and sets *base, for a wrapper
 * to call through.  uart.c calls ops->rx_irq and ops->tx_irq holding the
 * lock that keeps the device's interrupt enables whole (uart_irq_lock);
 * a wrapper that calls them at other times must hold it too.
 */
const struct uart_ops *uart_device(uintptr_t *base);
void uart_set_ops(const struct uart_ops *ops);
unsigned long uart_irq_lock(void);
void uart_irq_unlock(unsigned long flags);

#endif /* KERNEL_UART_H */
