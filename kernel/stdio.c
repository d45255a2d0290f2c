/* picolibc's stdin/stdout/stderr for the kernel, over the console. */
#include <stdio.h>

#include "arch/arch.h"
#include "kernel/console.h"

static int con_putc(char c, FILE *f)
{
	(void)f;
	console_write_sync(&c, 1);
	return (unsigned char)c;
}

/* stdin reads are not used by the kernel; report end of input. */
static int con_getc(FILE *f)
{
	(void)f;
	return EOF;
}

static FILE con_stream = FDEV_SETUP_STREAM(con_putc, con_getc, NULL, _FDEV_SETUP_RW);

FILE *const stdin = &con_stream;
FILE *const stdout = &con_stream;
FILE *const stderr = &con_stream;

/* picolibc calls _exit from exit() and abort(). */
_Noreturn void _exit(int status);
_Noreturn void _exit(int status)
{
	arch_power_off(status ? status : 1);
}
