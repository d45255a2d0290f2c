/* picolibc glue for user programs: stdin/stdout/stderr over fds 0/1/2, _exit. */
#include <stdio.h>
#include <unistd.h>

#include "px.h"

/*
 * stdout keeps a small buffer, written out at every '\n', when full, on
 * fflush(stdout), before stdin refills its buffer (so a prompt shows) and
 * at exit.  stderr is unbuffered.  stdin reads up to IN_BUF bytes per
 * read(): on the console that is at most one line (the kernel's cooked
 * mode ends a read at '\n', and a read too small for the line loses the
 * rest of it, so never read the console a byte at a time); on a pipe it
 * may be more than the program consumes, as with any buffered stdio.
 */
#define IN_BUF PX_ARG_MAX
#define OUT_BUF 256

static char out_buf[OUT_BUF];
static size_t out_len;

/* Write all of buf to fd; stops quietly at an error (nowhere to report it). */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		long r = px_write(fd, buf, n);

		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

static int out_flush(FILE *f)
{
	int r;

	(void)f;
	r = write_all(1, out_buf, out_len);
	out_len = 0;
	return r;
}

static int out_putc(char c, FILE *f)
{
	out_buf[out_len++] = c;
	if (c == '\n' || out_len == OUT_BUF) {
		if (out_flush(f) < 0)
			return _FDEV_ERR;
	}
	return (unsigned char)c;
}

static int err_putc(char c, FILE *f)
{
	(void)f;
	if (out_len > 0)
		out_flush(f); /* keep stdout and stderr in program order */
	return write_all(2, &c, 1) < 0 ? _FDEV_ERR : (unsigned char)c;
}

static char in_buf[IN_BUF];
static size_t in_pos, in_len;

static int in_getc(FILE *f)
{
	if (in_pos == in_len) {
		long r;

		if (out_len > 0)
			out_flush(f);
		r = px_read(0, in_buf, sizeof(in_buf));
		if (r <= 0)
			return r == 0 ? _FDEV_EOF : _FDEV_ERR;
		in_pos = 0;
		in_len = (size_t)r;
	}
	return (unsigned char)in_buf[in_pos++];
}

static FILE in_stream = FDEV_SETUP_STREAM(NULL, in_getc, NULL, _FDEV_SETUP_READ);
static FILE out_stream = FDEV_SETUP_STREAM(out_putc, NULL, out_flush, _FDEV_SETUP_WRITE);
static FILE err_stream = FDEV_SETUP_STREAM(err_putc, NULL, NULL, _FDEV_SETUP_WRITE);

FILE *const stdin = &in_stream;
FILE *const stdout = &out_stream;
FILE *const stderr = &err_stream;

/* picolibc's exit() runs atexit handlers and destructors, then this. */
_Noreturn void _exit(int status)
{
	out_flush(stdout);
	px_exit(status);
}
