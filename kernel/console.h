/* The console: a receive ring filled by the UART interrupt, read by the kernel. */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_RX_SIZE 1024 /* power of two */

/* Interrupt side (single producer): room for one more byte? / store it. */
bool console_rx_room(void);
void console_rx(char c);

/* Reader side (single consumer): next byte or -1 if the ring is empty.
 * Re-enables UART receive interrupts once there is room again. */
int console_getc(void);

/* Like console_getc, but sleeps in wait-for-interrupt until a byte
 * arrives (spins instead in an IDLE=spin build, for comparison). */
int console_wait_getc(void);

/* Write n bytes to the UART, turning '\n' into "\r\n". */
void console_write(const char *buf, size_t n);

/* Counters for tests and the boot report. */
struct console_stats {
	uint64_t rx_bytes;   /* bytes the interrupt handler stored */
	uint64_t rx_stalls;  /* times the ring filled and receive was paused */
};
extern struct console_stats console_stats;

#endif /* KERNEL_CONSOLE_H */
