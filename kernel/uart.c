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

/* Before uart_init there is nowhere to write: drop the byte. */
void uart_putc(char c)
{
	if (!uart)
		return;
	while (!uart->tx_ready(uart_base))
		;
	uart->tx(uart_base, c);
}

bool uart_tx_ready(void)
{
	return uart && uart->tx_ready(uart_base);
}

void uart_tx(char c)
{
	uart->tx(uart_base, c);
}

void uart_tx_irq(bool on)
{
	static bool tx_irq_on;
	if (uart && on != tx_irq_on) {
		uart->tx_irq(uart_base, on);
		tx_irq_on = on;
	}
}

void uart_irq(void)
{
	bool room, any = false;
	int c;
	while ((room = console_rx_room()) && (c = uart->rx(uart_base)) >= 0) {
		console_rx((char)c);
		any = true;
	}
	uart->rx_ack(uart_base);
	/* Ring full: stop listening until the reader drains it.  The bytes stay
	 * in the FIFO and, behind it, in QEMU's character backend. */
	if (!room)
		uart->rx_irq(uart_base, 0);
	if (any)
		console_rx_flush();
	console_tx_irq();
}

void uart_rx_resume(void)
{
	if (uart)
		uart->rx_irq(uart_base, 1);
}
