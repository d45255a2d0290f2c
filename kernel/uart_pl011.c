/* Arm PL011 UART driver (QEMU virt's console on aarch64), behind struct uart_ops. */
#include <stdint.h>

#include "kernel/mmio.h"
#include "kernel/uart.h"

/* Register offsets and bits from the PL011 Technical Reference Manual. */
#define UARTDR     0x00   /* data; reads carry error flags in [11:8] */
#define UARTRSR    0x04   /* receive status; a write clears the errors (ECR) */
#define UARTFR     0x18   /* flags */
#define UARTIBRD   0x24   /* integer baud divisor */
#define UARTFBRD   0x28   /* fractional baud divisor (64ths) */
#define UARTLCR_H  0x2c   /* line control */
#define UARTCR     0x30   /* control */
#define UARTIFLS   0x34   /* FIFO interrupt levels */
#define UARTIMSC   0x38   /* interrupt mask set/clear (1 = enabled) */
#define UARTICR    0x44   /* interrupt clear */

#define FR_BUSY    (1u << 3)
#define FR_RXFE    (1u << 4)
#define FR_TXFF    (1u << 5)

#define LCR_H_FEN  (1u << 4)
#define LCR_H_WLEN8 (3u << 5)

#define CR_UARTEN  (1u << 0)
#define CR_TXE     (1u << 8)
#define CR_RXE     (1u << 9)

#define INT_RX     (1u << 4)  /* receive FIFO reached its trigger level */
#define INT_TX     (1u << 5)  /* transmit FIFO at or below its trigger level */
#define INT_RT     (1u << 6)  /* receive timeout: bytes sit below the level */
#define INT_ALL    0x7ffu

#define PL011_BAUD 115200u

static inline uint32_t rd(uintptr_t base, unsigned reg)
{
	return mmio_read32(base + reg);
}

static inline void wr(uintptr_t base, unsigned reg, uint32_t v)
{
	mmio_write32(base + reg, v);
}

/*
 * The TRM's sequence: disable, let the transmitter drain, reprogram, then
 * enable.  The baud divisor is 16x oversampled with a 6-bit fraction,
 * (clock * 4 / baud) in 64ths; without a known clock it is left alone
 * (QEMU ignores it anyway).  LCR_H must be written after the divisors: that
 * write latches them.  Both RX and RT interrupts are enabled so that a
 * single typed byte, below the FIFO trigger level, still interrupts.
 */
static void pl011_init(uintptr_t base, uint32_t clock_hz)
{
	wr(base, UARTCR, 0);
	while (rd(base, UARTFR) & FR_BUSY)
		;
	wr(base, UARTLCR_H, 0);          /* FEN off flushes the FIFOs */
	wr(base, UARTRSR, 0);            /* clear framing/parity/overrun */
	wr(base, UARTIMSC, 0);
	wr(base, UARTICR, INT_ALL);

	if (clock_hz != 0) {
		uint32_t div64 = (uint32_t)(((uint64_t)clock_hz * 4 + PL011_BAUD / 2) / PL011_BAUD);
		wr(base, UARTIBRD, div64 >> 6);
		wr(base, UARTFBRD, div64 & 0x3f);
	}
	wr(base, UARTLCR_H, LCR_H_WLEN8 | LCR_H_FEN);   /* 8N1, FIFOs on */
	wr(base, UARTIFLS, 0);           /* RX and TX levels at 1/8 */
	wr(base, UARTIMSC, INT_RX | INT_RT);
	wr(base, UARTCR, CR_UARTEN | CR_TXE | CR_RXE);
}

static int pl011_tx_ready(uintptr_t base)
{
	return (rd(base, UARTFR) & FR_TXFF) == 0;
}

static void pl011_tx(uintptr_t base, char c)
{
	wr(base, UARTDR, (uint8_t)c);
}

static int pl011_rx(uintptr_t base)
{
	if (rd(base, UARTFR) & FR_RXFE)
		return -1;
	return (int)(rd(base, UARTDR) & 0xff);
}

/*
 * Nothing to clear: the PL011 drops RX (below the trigger level) and RT
 * (FIFO empty) by itself as the FIFO is read, and if the handler stopped
 * early because the console ring is full, the condition must stay set so
 * that it interrupts again when rx_irq(1) unmasks it.  Writing UARTICR here
 * would race with a byte arriving after the last read: its RX edge would be
 * cleared, and since RX is raised only when the FIFO level crosses the
 * trigger, a FIFO that then fills up would never interrupt again.  Only the
 * sticky receive error flags (overrun, framing) are reset.
 */
static void pl011_rx_ack(uintptr_t base)
{
	wr(base, UARTRSR, 0);
}

/* Masking RX and RT in IMSC silences the line; received bytes stay in the
 * FIFO, and a pending condition interrupts again once unmasked. */
static void pl011_rx_irq(uintptr_t base, int on)
{
	uint32_t imsc = rd(base, UARTIMSC);

	if (on)
		imsc |= INT_RX | INT_RT;
	else
		imsc &= ~(INT_RX | INT_RT);
	wr(base, UARTIMSC, imsc);
}

/* The transmit interrupt stays raised while the FIFO has room, so the
 * console unmasks it only while its ring holds bytes for the UART. */
static void pl011_tx_irq(uintptr_t base, int on)
{
	uint32_t imsc = rd(base, UARTIMSC);

	wr(base, UARTIMSC, on ? imsc | INT_TX : imsc & ~INT_TX);
}

const struct uart_ops uart_pl011_ops = {
	.name = "pl011",
	.init = pl011_init,
	.tx_ready = pl011_tx_ready,
	.tx = pl011_tx,
	.rx = pl011_rx,
	.rx_ack = pl011_rx_ack,
	.rx_irq = pl011_rx_irq,
	.tx_irq = pl011_tx_irq,
};
