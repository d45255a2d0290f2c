/* panic: print a message and power off with EXIT_PANIC. */
#include <stdarg.h>
#include <stdio.h>

#include "arch/arch.h"
#include "kernel/panic.h"

_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	arch_irq_off();
	printf("\npanic on hart %u: ", arch_hart_id());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	arch_power_off(EXIT_PANIC);
}
