/* ns16550a UART (riscv64 QEMU virt): byte-wide registers, receive interrupts. */
#include "kernel/mmio.h"
#include "kernel/uart.h"

/* Register offsets (16550 data sheet), byte stride on QEMU virt. */
#define RBR 0 /* receive buffer (read) */
#define THR 0 /* transmit holding (write) */
#define IER 1 /* interrupt enable */
#define FCR 2 /* FIFO control (write) */
#define LCR 3 /* line control */
#define LSR 5 /* line status */

#define IER_RX 0x01
#define IER_TX 0x02 /* transmit holding register empty */
#define FCR_ENABLE 0x01
#define FCR_TRIGGER_14 0xc0 /* interrupt at 14 bytes, or on the character timeout */
#define LCR_8N1 0x03
#define LSR_DR 0x01   /* data ready */
#define LSR_THRE 0x20 /* transmit holding register empty */

static void ns16550_init(uintptr_t base, uint32_t clock_hz)
{
	(void)clock_hz; /* QEMU ignores the divisor; keep firmware's baud rate */
	mmio_write8(base + IER, 0);
	mmio_write8(base + LCR, LCR_8N1);
	/* Enable FIFOs without resetting them: bytes already received stay. */
	mmio_write8(base + FCR, FCR_ENABLE | FCR_TRIGGER_14);
	mmio_write8(base + IER, IER_RX);
}

static int ns16550_tx_ready(uintptr_t base)
{
	return mmio_read8(base + LSR) & LSR_THRE;
}

static void ns16550_tx(uintptr_t base, char c)
{
	mmio_write8(base + THR, (uint8_t)c);
}

static int ns16550_rx(uintptr_t base)
{
	if (!(mmio_read8(base + LSR) & LSR_DR))
		return -1;
	return mmio_read8(base + RBR);
}

/* Reading RBR until empty clears the receive interrupt by itself. */
static void ns16550_rx_ack(uintptr_t base)
{
	(void)base;
}

static void ier_set(uintptr_t base, uint8_t bit, int on)
{
	uint8_t ier = mmio_read8(base + IER);
	mmio_write8(base + IER, on ? ier | bit : ier & ~bit);
}

static void ns16550_rx_irq(uintptr_t base, int on)
{
	ier_set(base, IER_RX, on);
}

/* Enabling it with the THR empty raises the interrupt at once; it stays
 * raised until THR is written or it is disabled again. */
static void ns16550_tx_irq(uintptr_t base, int on)
{
	ier_set(base, IER_TX, on);
}

const struct uart_ops uart_ns16550_ops = {
	.name = "ns16550a",
	.init = ns16550_init,
	.tx_ready = ns16550_tx_ready,
	.tx = ns16550_tx,
	.rx = ns16550_rx,
	.rx_ack = ns16550_rx_ack,
	.rx_irq = ns16550_rx_irq,
	.tx_irq = ns16550_tx_irq,
};
