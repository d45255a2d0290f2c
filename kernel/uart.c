/* Console UART: picks the driver named by the device tree and runs its interrupt. */
#include <stddef.h>

#include "kernel/console.h"
#include "kernel/platform.h"
#include "kernel/uart.h"

static const struct uart_ops *uart;
static uintptr_t uart_base;

int uart_init(const struct platform *plat)
{
	switch (plat->uart_kind) {
	case UART_NS16550A:
		uart = &uart_ns16550_ops;
		break;
	case UART_PL011:
		uart = &uart_pl011_ops;
		break;
	default:
		return -1;
	}
	uart_base = (uintptr_t)plat->uart.base;
	uart->init(uart_base, plat->uart_clock);
	return 0;
}

/* Transmit is still polled (the transmit-interrupt ring arrives with the
 * async kernel); QEMU's transmitter is ready at once, so this never waits
 * long.  Before uart_init there is nowhere to write: drop the byte. */
void uart_putc(char c)
{
	if (!uart)
		return;
	while (!uart->tx_ready(uart_base))
		;
	uart->tx(uart_base, c);
}

void uart_irq(void)
{
	int c;
	while (console_rx_room()) {
		if ((c = uart->rx(uart_base)) < 0)
			break;
		console_rx((char)c);
	}
	uart->rx_ack(uart_base);
	/* Ring full: stop listening until the reader drains it.  The bytes stay
	 * in the FIFO and, behind it, in QEMU's character backend. */
	if (!console_rx_room())
		uart->rx_irq(uart_base, 0);
}

void uart_rx_resume(void)
{
	if (uart)
		uart->rx_irq(uart_base, 1);
}
